//! The `sim` subcommands' arguments: one simulator alone, with the
//! settings a configuration's `[[simulator]]` would give it, or answering
//! from a recording (`--replay`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};

use super::OutputArgs;
use labdeck_core::config::{MAX_DURATION, MIN_DURATION};
use labdeck_core::link::Chunk;
use labdeck_core::sim::electrometer::{Brand, DialectSpec, ElectrometerSimSpec, LineBook};
use labdeck_core::sim::turbovac::{Profile, ReplayBook};
use labdeck_core::timeline::Timeline;

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Leybold TURBOVAC pump (USS telegrams) on a virtual serial port. Prints
    /// the path to open as the first line of stdout: the --link symlink
    /// when given, else the pty.
    Turbovac {
        /// Also maintain a symlink to the port at this path.
        #[arg(long, value_name = "PATH")]
        link: Option<PathBuf>,
        /// compat: byte-identical to turboctl's VirtualPump; realistic: the real pump's limits and timing.
        #[arg(long, default_value = "compat", value_parser = parse_profile)]
        profile: Profile,
        /// Realistic profile: delay replies by the 19200 baud wire time plus P180.
        #[arg(long)]
        wire_timing: bool,
        /// Realistic profile: let DETAINED and status bit 8 flicker like the real pump's.
        #[arg(long)]
        flicker: bool,
        /// Rotor acceleration in Hz/s.
        #[arg(long, value_name = "HZ_PER_S")]
        ramp_rate: Option<f64>,
        /// Answer from a recording (`--record`) instead of the model: each
        /// request gets the recorded reply to the same parameter access, in
        /// recorded order (README: Recording and replay).
        #[arg(long, value_name = "FILE")]
        replay: Option<PathBuf>,
        /// The link (or simulator) of the recording to answer from, when it
        /// has the traffic of several.
        #[arg(long, value_name = "NAME", requires = "replay")]
        replay_link: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Keithley 6517B electrometer on a one-client TCP server. Prints the
    /// address it listens on as the first line of stdout.
    Electrometer(ElectrometerArgs),
}

#[derive(Debug, Args)]
pub struct ElectrometerArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// TCP port; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// scpi: as the real instrument; lsst: byte-compatible with the LSST mock.
    #[arg(long, default_value = "scpi", value_parser = ["scpi", "lsst"])]
    dialect: String,
    /// lsst dialect: keithley (CR, disconnects on unknown commands) or keysight (CRLF, echo).
    #[arg(long, default_value = "keithley", value_parser = ["keithley", "keysight"])]
    brand: String,
    /// lsst dialect: also drop the client for the four control-software
    /// commands the LSST mock rejects, exactly as it does.
    #[arg(long)]
    strict: bool,
    /// Wait a random 0–2 s before each reply (the mock's `unstable`).
    #[arg(long)]
    unstable: bool,
    /// scpi dialect: reply terminator, escapes allowed (input accepts CR, LF or CRLF).
    #[arg(long, default_value = "\\n", value_name = "TEXT")]
    terminator: String,
    /// Drop a client whose line grows past this many bytes.
    #[arg(long, default_value_t = 65_536, value_name = "BYTES")]
    max_line: usize,
    /// Drop a client that has not read its replies for this long.
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = parse_seconds)]
    write_timeout: Duration,
    /// Simulated seconds per real second (buffer filling, drift).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Mains frequency in Hz (sets the length of one PLC).
    #[arg(long, default_value_t = 50.0, value_name = "HZ")]
    line_frequency: f64,
    /// Input current in amperes.
    #[arg(long, value_name = "AMPS")]
    current: Option<f64>,
    /// Answer from a recording (`--record`) instead of the model: each
    /// query line gets the reply recorded for the same query, in recorded
    /// order (README: Recording and replay).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// The link (or simulator) of the recording to answer from, when it
    /// has the traffic of several.
    #[arg(long, value_name = "NAME", requires = "replay")]
    pub replay_link: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Seconds on the command line, within the range a configuration allows.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    let (min, max) = (MIN_DURATION.as_secs_f64(), MAX_DURATION.as_secs_f64());
    if secs.is_finite() && (min..=max).contains(&secs) {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(format!("must be {min}..={max} seconds"))
    }
}

impl ElectrometerArgs {
    pub fn spec(&self) -> Result<ElectrometerSimSpec, String> {
        let dialect = match self.dialect.as_str() {
            "lsst" => DialectSpec::Lsst {
                brand: Brand::parse(&self.brand).unwrap_or_default(),
                strict: self.strict,
            },
            _ => DialectSpec::Scpi,
        };
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err("--speed must be more than zero".into());
        }
        if !(self.line_frequency.is_finite() && self.line_frequency > 0.0) {
            return Err("--line-frequency must be more than zero".into());
        }
        let terminator = unescape(&self.terminator)?;
        if terminator.is_empty() {
            return Err("--terminator must not be empty".into());
        }
        let mut spec = ElectrometerSimSpec {
            dialect,
            host: self.host.clone(),
            port: self.port,
            terminator,
            max_line: self.max_line,
            unstable: self.unstable,
            speed: self.speed,
            line_frequency: self.line_frequency,
            write_timeout: self.write_timeout,
            ..ElectrometerSimSpec::default()
        };
        if let Some(current) = self.current {
            spec.signal.current = current;
        }
        Ok(spec)
    }
}

/// `\r`, `\n`, `\t`, `\\` and `\xHH` in a command-line string.
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16)
                    .map_err(|_| format!("bad escape \\x{hex} in {text:?}"))?;
                out.push(byte);
            }
            other => {
                return Err(format!(
                    "bad escape \\{} in {text:?}",
                    other.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
    Ok(out)
}

fn parse_profile(text: &str) -> Result<Profile, String> {
    text.parse()
}

/// The recorded request/reply pairs of one link of a recording.
pub fn turbovac_replay(file: &Path, link: Option<&str>) -> Result<ReplayBook, String> {
    recorded(file, link, |chunks| {
        ReplayBook::from_chunks(chunks).map_err(|e| e.to_string())
    })
}

/// The recorded query/reply lines of one link of a recording.
pub fn electrometer_replay(file: &Path, link: Option<&str>) -> Result<LineBook, String> {
    recorded(file, link, |chunks| {
        LineBook::from_chunks(chunks).ok_or_else(|| "no query with a reply".to_string())
    })
}

/// What `pairs` makes of the traffic of one link of a recording.
fn recorded<B: ReplayLen>(
    file: &Path,
    link: Option<&str>,
    pairs: impl FnOnce(&[Chunk]) -> Result<B, String>,
) -> Result<B, String> {
    let timeline = Timeline::read(file).map_err(|e| e.to_string())?;
    let (name, chunks) = timeline.traffic(link).map_err(|e| e.to_string())?;
    let book =
        pairs(&chunks).map_err(|e| format!("recording {}, link {name}: {e}", file.display()))?;
    eprintln!(
        "replaying {} recorded replies of {name} from {}{}",
        book.pairs(),
        file.display(),
        if timeline.lagged > 0 {
            format!(" ({} events were missed while recording)", timeline.lagged)
        } else {
            String::new()
        }
    );
    Ok(book)
}

/// How many pairs a replay holds, for the start-up line.
trait ReplayLen {
    fn pairs(&self) -> usize;
}

impl ReplayLen for ReplayBook {
    fn pairs(&self) -> usize {
        self.len()
    }
}

impl ReplayLen for LineBook {
    fn pairs(&self) -> usize {
        self.len()
    }
}
