//! One complete element as a small tree: name, attributes (entities
//! resolved), text, children. Parsed with quick-xml; only the predefined
//! entities and character references exist (no DTD), and the number of
//! attributes is limited.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use thiserror::Error;

/// Attributes per element accepted.
pub const MAX_ATTRIBUTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum XmlError {
    #[error("not UTF-8")]
    Utf8,
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("unknown entity &{0};")]
    Entity(String),
    #[error("more than {MAX_ATTRIBUTES} attributes on <{0}>")]
    TooManyAttributes(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, XmlError> {
        let text = std::str::from_utf8(bytes).map_err(|_| XmlError::Utf8)?;
        let mut reader = Reader::from_str(text);
        let mut stack: Vec<Element> = Vec::new();
        let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(e.to_string());
        loop {
            match reader.read_event().map_err(|e| malformed(&e))? {
                Event::Start(start) => stack.push(open(&start)?),
                Event::Empty(start) => {
                    let element = open(&start)?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => return Ok(element),
                    }
                }
                Event::End(_) => {
                    let element = stack
                        .pop()
                        .ok_or_else(|| XmlError::Malformed("stray end tag".into()))?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => return Ok(element),
                    }
                }
                Event::Text(t) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&t.xml10_content());
                    }
                }
                Event::CData(c) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&c.into_inner());
                    }
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => {
                            let name = r.xml10_content();
                            resolve_predefined_entity(&name)
                                .ok_or_else(|| XmlError::Entity(name.to_string()))?
                                .to_string()
                        }
                        Err(e) => return Err(malformed(&e)),
                    };
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&resolved);
                    }
                }
                Event::DocType(_) => return Err(XmlError::Malformed("DOCTYPE".into())),
                Event::Eof => return Err(XmlError::Malformed("incomplete element".into())),
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            }
        }
    }
}

fn open(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, XmlError> {
    let name = start.name().as_ref().to_string();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
        if attrs.len() == MAX_ATTRIBUTES {
            return Err(XmlError::TooManyAttributes(name));
        }
        let key = attr.key.as_ref().to_string();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError::Malformed(e.to_string()))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_with_entities_and_pretty_printing() {
        let e = Element::parse(
            b"<defTextVector device=\"A &amp; B\" name='N'>\n  <defText name=\"T\">\nx &lt; y &#65;\n  </defText>\n  <defText name=\"E\"/>\n</defTextVector>",
        )
        .unwrap();
        assert_eq!(e.name, "defTextVector");
        assert_eq!(e.attr("device"), Some("A & B"));
        assert_eq!(e.children.len(), 2);
        assert_eq!(e.children[0].text.trim(), "x < y A");
        assert_eq!(e.children[1].text, "");
    }

    #[test]
    fn refusals() {
        assert_eq!(
            Element::parse(b"<a>&custom;</a>"),
            Err(XmlError::Entity("custom".into()))
        );
        assert!(matches!(
            Element::parse(b"<a><b></a>"),
            Err(XmlError::Malformed(_))
        ));
        assert_eq!(
            Element::parse(&[b'<', b'a', 0xff, b'/', b'>']),
            Err(XmlError::Utf8)
        );
        let many = (0..40)
            .map(|i| format!(" a{i}='1'"))
            .collect::<Vec<_>>()
            .concat();
        assert!(matches!(
            Element::parse(format!("<x{many}/>").as_bytes()),
            Err(XmlError::TooManyAttributes(_))
        ));
    }
}
