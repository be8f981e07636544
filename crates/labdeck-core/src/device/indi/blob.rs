//! Received BLOBs: base64 decoded, `.z` inflated, saved to a folder as
//! `Device.VECTOR.MEMBER-YYYYmmdd-HHMMSS-mmm.suffix`. Heavy work, run off
//! the runtime's threads.

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use thiserror::Error;

use super::tree::safe;

#[derive(Debug, Error)]
pub enum BlobError {
    #[error("BLOB {what}: not base64: {source}")]
    Base64 {
        what: String,
        source: base64::DecodeError,
    },
    #[error("BLOB {what}: format says zlib (.z) but inflating failed: {source}")]
    Inflate {
        what: String,
        source: std::io::Error,
    },
    #[error("BLOB {what}: cannot write {path}: {source}")]
    Write {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One received BLOB member.
#[derive(Debug, Clone)]
pub struct Blob {
    pub device: String,
    pub vector: String,
    pub member: String,
    /// Base64, perhaps with line breaks.
    pub data: String,
    /// The suffix as sent (`.fits`, `.txt.z`).
    pub format: String,
    /// The uncompressed size the sender announced.
    pub size: Option<u64>,
}

/// What was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub path: PathBuf,
    pub bytes: usize,
    /// The suffix after inflating (`.txt` for `.txt.z`).
    pub format: String,
    /// The announced size, when it differs from what was decoded.
    pub size_mismatch: Option<u64>,
}

impl Blob {
    fn what(&self) -> String {
        format!("{}.{}.{}", self.device, self.vector, self.member)
    }

    /// The file's bytes and suffix.
    pub fn decode(&self) -> Result<(Vec<u8>, String), BlobError> {
        let compact: Vec<u8> = self
            .data
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map_err(|source| BlobError::Base64 {
                what: self.what(),
                source,
            })?;
        match self.format.strip_suffix(".z") {
            Some(inner) => {
                let mut out = Vec::with_capacity(self.size.unwrap_or(0).min(1 << 26) as usize);
                flate2::read::ZlibDecoder::new(raw.as_slice())
                    .read_to_end(&mut out)
                    .map_err(|source| BlobError::Inflate {
                        what: self.what(),
                        source,
                    })?;
                Ok((out, inner.to_string()))
            }
            None => Ok((raw, self.format.clone())),
        }
    }

    /// Decode and write into `dir` (created when missing).
    pub fn save(&self, dir: &Path) -> Result<Saved, BlobError> {
        let (bytes, format) = self.decode()?;
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S-%3f");
        let name = format!(
            "{}.{}.{}-{stamp}{}",
            file_safe(&safe(&self.device)),
            file_safe(&self.vector),
            file_safe(&self.member),
            file_safe(&format)
        );
        let path = dir.join(name);
        let write = |path: &Path| {
            std::fs::create_dir_all(dir)?;
            std::fs::write(path, &bytes)
        };
        write(&path).map_err(|source| BlobError::Write {
            what: self.what(),
            path: path.clone(),
            source,
        })?;
        Ok(Saved {
            size_mismatch: self.size.filter(|&s| s != bytes.len() as u64),
            bytes: bytes.len(),
            format,
            path,
        })
    }
}

/// Names from the wire never leave the folder.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '/' | '\\' | '\0' => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn blob(data: String, format: &str, size: u64) -> Blob {
        Blob {
            device: "CCD Simulator".into(),
            vector: "CCD1".into(),
            member: "CCD1".into(),
            data,
            format: format.into(),
            size: Some(size),
        }
    }

    #[test]
    fn plain_and_zlib_blobs_are_saved() {
        let dir = tempfile::tempdir().unwrap();
        let text = "SIMPLE  =                    T".repeat(14);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&text);
        // Line breaks in the base64 are allowed.
        let wrapped = format!("\n{}\n{}\n", &encoded[..40], &encoded[40..]);
        let saved = blob(wrapped, ".fits", text.len() as u64)
            .save(dir.path())
            .unwrap();
        assert_eq!(std::fs::read(&saved.path).unwrap(), text.as_bytes());
        assert_eq!(
            (saved.format.as_str(), saved.size_mismatch),
            (".fits", None)
        );
        let name = saved
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(
            name.starts_with("CCD_Simulator.CCD1.CCD1-")
                && std::path::Path::new(&name)
                    .extension()
                    .is_some_and(|ext| ext.eq_ignore_ascii_case("fits"))
        );

        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(text.as_bytes()).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap());
        let saved = blob(encoded, ".txt.z", 420).save(dir.path()).unwrap();
        assert_eq!(std::fs::read(&saved.path).unwrap(), text.as_bytes());
        assert_eq!(saved.format, ".txt");
        assert_eq!(saved.size_mismatch, None);
    }

    #[test]
    fn bad_data_says_what() {
        let err = blob("@@@".into(), ".fits", 3).decode().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("BLOB CCD Simulator.CCD1.CCD1: not base64")
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode("not zlib");
        let err = blob(encoded, ".bin.z", 8).decode().unwrap_err();
        assert!(err.to_string().contains("inflating failed"));
        let tiny = base64::engine::general_purpose::STANDARD.encode("abc");
        let dir = tempfile::tempdir().unwrap();
        let saved = blob(tiny, "../../x", 5).save(dir.path()).unwrap();
        assert_eq!(saved.size_mismatch, Some(5));
        assert!(saved.path.starts_with(dir.path()));
    }
}
