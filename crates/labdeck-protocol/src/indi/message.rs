//! INDI 1.7 messages, typed, and their XML. Values are kept as the
//! trimmed strings the peer sent (numbers may be sexagesimal); the writer
//! escapes everything and writes compactly.

use std::fmt::Write as _;

use thiserror::Error;

use super::element::Element;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorKind {
    Text,
    Number,
    Switch,
    Light,
    Blob,
}

impl VectorKind {
    pub fn word(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Number => "Number",
            Self::Switch => "Switch",
            Self::Light => "Light",
            Self::Blob => "BLOB",
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "Text" => Self::Text,
            "Number" => Self::Number,
            "Switch" => Self::Switch,
            "Light" => Self::Light,
            "BLOB" => Self::Blob,
            _ => return None,
        })
    }
}

macro_rules! word_enum {
    ($name:ident { $($variant:ident = $word:literal),* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),* }

        impl $name {
            pub fn word(self) -> &'static str {
                match self { $(Self::$variant => $word),* }
            }

            pub fn parse(word: &str) -> Option<Self> {
                match word.trim() { $($word => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

word_enum!(IndiState { Idle = "Idle", Ok = "Ok", Busy = "Busy", Alert = "Alert" });
word_enum!(Perm { Ro = "ro", Wo = "wo", Rw = "rw" });
word_enum!(Rule { OneOfMany = "OneOfMany", AtMostOne = "AtMostOne", AnyOfMany = "AnyOfMany" });
word_enum!(BlobMode { Never = "Never", Also = "Also", Only = "Only" });

/// What a vector element carries besides its members.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VectorHead {
    pub device: String,
    pub name: String,
    pub label: Option<String>,
    pub group: Option<String>,
    pub state: Option<IndiState>,
    pub perm: Option<Perm>,
    pub rule: Option<Rule>,
    pub timeout: Option<String>,
    pub timestamp: Option<String>,
    pub message: Option<String>,
}

/// One member (`defNumber`, `oneSwitch`, `oneBLOB` …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Member {
    pub name: String,
    pub label: Option<String>,
    /// Trimmed text: the number, `On`/`Off`, a light state, base64.
    pub value: String,
    /// `defNumber` only.
    pub format: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub step: Option<String>,
    /// `oneBLOB` only: uncompressed size and file suffix.
    pub size: Option<u64>,
    pub blob_format: Option<String>,
}

impl Member {
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vector {
    pub kind: VectorKind,
    pub head: VectorHead,
    pub members: Vec<Member>,
}

/// Which of the three vector elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Def,
    Set,
    New,
}

impl Op {
    fn word(self) -> &'static str {
        match self {
            Self::Def => "def",
            Self::Set => "set",
            Self::New => "new",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    GetProperties {
        version: Option<String>,
        device: Option<String>,
        name: Option<String>,
    },
    EnableBlob {
        device: String,
        name: Option<String>,
        mode: BlobMode,
    },
    Vector(Op, Vector),
    Message {
        device: Option<String>,
        timestamp: Option<String>,
        message: Option<String>,
    },
    DelProperty {
        device: String,
        name: Option<String>,
        timestamp: Option<String>,
        message: Option<String>,
    },
    PingRequest {
        uid: String,
    },
    PingReply {
        uid: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    #[error("unknown element <{0}>")]
    Unknown(String),
    #[error("<{element}> needs the attribute {attr}")]
    Missing { element: String, attr: &'static str },
    #[error("<{element}>: {what}")]
    Invalid { element: String, what: String },
}

fn required(e: &Element, attr: &'static str) -> Result<String, MessageError> {
    e.attr(attr)
        .map(str::to_string)
        .ok_or_else(|| MessageError::Missing {
            element: e.name.clone(),
            attr,
        })
}

fn optional(e: &Element, attr: &str) -> Option<String> {
    e.attr(attr).map(str::to_string)
}

fn invalid(e: &Element, what: impl Into<String>) -> MessageError {
    MessageError::Invalid {
        element: e.name.clone(),
        what: what.into(),
    }
}

impl Message {
    pub fn from_element(e: &Element) -> Result<Self, MessageError> {
        match e.name.as_str() {
            "getProperties" => Ok(Self::GetProperties {
                version: optional(e, "version"),
                device: optional(e, "device"),
                name: optional(e, "name"),
            }),
            "enableBLOB" => Ok(Self::EnableBlob {
                device: required(e, "device")?,
                name: optional(e, "name"),
                mode: BlobMode::parse(&e.text).ok_or_else(|| {
                    invalid(e, format!("{:?} is not Never, Also or Only", e.text.trim()))
                })?,
            }),
            "message" => Ok(Self::Message {
                device: optional(e, "device"),
                timestamp: optional(e, "timestamp"),
                message: optional(e, "message"),
            }),
            "delProperty" => Ok(Self::DelProperty {
                device: required(e, "device")?,
                name: optional(e, "name"),
                timestamp: optional(e, "timestamp"),
                message: optional(e, "message"),
            }),
            "pingRequest" => Ok(Self::PingRequest {
                uid: optional(e, "uid").unwrap_or_default(),
            }),
            "pingReply" => Ok(Self::PingReply {
                uid: optional(e, "uid").unwrap_or_default(),
            }),
            name => {
                let (op, rest) = if let Some(rest) = name.strip_prefix("def") {
                    (Op::Def, rest)
                } else if let Some(rest) = name.strip_prefix("set") {
                    (Op::Set, rest)
                } else if let Some(rest) = name.strip_prefix("new") {
                    (Op::New, rest)
                } else {
                    return Err(MessageError::Unknown(name.into()));
                };
                let kind = rest
                    .strip_suffix("Vector")
                    .and_then(VectorKind::from_word)
                    .ok_or_else(|| MessageError::Unknown(name.into()))?;
                Ok(Self::Vector(op, vector(e, op, kind)?))
            }
        }
    }

    /// The device a message is about, if any.
    pub fn device(&self) -> Option<&str> {
        match self {
            Self::GetProperties { device, .. } | Self::Message { device, .. } => device.as_deref(),
            Self::EnableBlob { device, .. } | Self::DelProperty { device, .. } => Some(device),
            Self::Vector(_, v) => Some(&v.head.device),
            Self::PingRequest { .. } | Self::PingReply { .. } => None,
        }
    }
}

fn vector(e: &Element, op: Op, kind: VectorKind) -> Result<Vector, MessageError> {
    let head = VectorHead {
        device: required(e, "device")?,
        name: required(e, "name")?,
        label: optional(e, "label"),
        group: optional(e, "group"),
        state: match e.attr("state") {
            Some(s) => Some(IndiState::parse(s).ok_or_else(|| invalid(e, format!("state {s:?}")))?),
            None if op == Op::Def => {
                return Err(MessageError::Missing {
                    element: e.name.clone(),
                    attr: "state",
                });
            }
            None => None,
        },
        perm: match e.attr("perm") {
            Some(p) => Some(Perm::parse(p).ok_or_else(|| invalid(e, format!("perm {p:?}")))?),
            None => None,
        },
        rule: match e.attr("rule") {
            Some(r) => Some(Rule::parse(r).ok_or_else(|| invalid(e, format!("rule {r:?}")))?),
            None if op == Op::Def && kind == VectorKind::Switch => {
                return Err(MessageError::Missing {
                    element: e.name.clone(),
                    attr: "rule",
                });
            }
            None => None,
        },
        timeout: optional(e, "timeout"),
        timestamp: optional(e, "timestamp"),
        message: optional(e, "message"),
    };
    let mut members = Vec::new();
    for child in &e.children {
        let value = child.text.trim().to_string();
        match kind {
            VectorKind::Switch if !value.is_empty() && value != "On" && value != "Off" => {
                return Err(invalid(
                    child,
                    format!("switch value {value:?} is not On or Off"),
                ));
            }
            VectorKind::Number if op != Op::Def && value.is_empty() => {
                return Err(invalid(child, "empty number"));
            }
            _ => {}
        }
        members.push(Member {
            name: required(child, "name")?,
            label: optional(child, "label"),
            value,
            format: optional(child, "format"),
            min: optional(child, "min"),
            max: optional(child, "max"),
            step: optional(child, "step"),
            size: child.attr("size").and_then(|s| s.trim().parse().ok()),
            blob_format: optional(child, "format").filter(|_| kind == VectorKind::Blob),
        });
    }
    Ok(Vector {
        kind,
        head,
        members,
    })
}

/// Text for an attribute value or element content.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['<', '>', '&', '"', '\'']) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out.into()
}

fn attr(out: &mut String, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        let _ = write!(out, " {key}=\"{}\"", escape(value));
    }
}

impl Message {
    /// The element as compact XML.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        match self {
            Self::GetProperties {
                version,
                device,
                name,
            } => {
                out.push_str("<getProperties");
                attr(&mut out, "version", version.as_deref());
                attr(&mut out, "device", device.as_deref());
                attr(&mut out, "name", name.as_deref());
                out.push_str("/>");
            }
            Self::EnableBlob { device, name, mode } => {
                out.push_str("<enableBLOB");
                attr(&mut out, "device", Some(device));
                attr(&mut out, "name", name.as_deref());
                let _ = write!(out, ">{}</enableBLOB>", mode.word());
            }
            Self::Message {
                device,
                timestamp,
                message,
            } => {
                out.push_str("<message");
                attr(&mut out, "device", device.as_deref());
                attr(&mut out, "timestamp", timestamp.as_deref());
                attr(&mut out, "message", message.as_deref());
                out.push_str("/>");
            }
            Self::DelProperty {
                device,
                name,
                timestamp,
                message,
            } => {
                out.push_str("<delProperty");
                attr(&mut out, "device", Some(device));
                attr(&mut out, "name", name.as_deref());
                attr(&mut out, "timestamp", timestamp.as_deref());
                attr(&mut out, "message", message.as_deref());
                out.push_str("/>");
            }
            Self::PingRequest { uid } => {
                out.push_str("<pingRequest");
                attr(&mut out, "uid", Some(uid));
                out.push_str("/>");
            }
            Self::PingReply { uid } => {
                out.push_str("<pingReply");
                attr(&mut out, "uid", Some(uid));
                out.push_str("/>");
            }
            Self::Vector(op, v) => write_vector(&mut out, *op, v),
        }
        out
    }
}

fn write_vector(out: &mut String, op: Op, v: &Vector) {
    let element = format!("{}{}Vector", op.word(), v.kind.word());
    let h = &v.head;
    let _ = write!(out, "<{element}");
    attr(out, "device", Some(&h.device));
    attr(out, "name", Some(&h.name));
    if op == Op::Def {
        attr(out, "label", h.label.as_deref());
        attr(out, "group", h.group.as_deref());
    }
    if op != Op::New {
        attr(out, "state", h.state.map(IndiState::word));
    }
    // Lights have no perm in the DTD; one given is written anyway (tools
    // such as indi_getprop print it).
    if op == Op::Def {
        attr(out, "perm", h.perm.map(Perm::word));
    }
    if op == Op::Def && v.kind == VectorKind::Switch {
        attr(out, "rule", h.rule.map(Rule::word));
    }
    if v.kind != VectorKind::Light {
        attr(out, "timeout", h.timeout.as_deref());
    }
    attr(out, "timestamp", h.timestamp.as_deref());
    attr(out, "message", h.message.as_deref());
    out.push('>');
    let member = match (op, v.kind) {
        (Op::Def, kind) => format!(
            "def{}",
            if kind == VectorKind::Blob {
                "BLOB"
            } else {
                kind.word()
            }
        ),
        (_, kind) => format!(
            "one{}",
            if kind == VectorKind::Blob {
                "BLOB"
            } else {
                kind.word()
            }
        ),
    };
    for m in &v.members {
        let _ = write!(out, "<{member}");
        attr(out, "name", Some(&m.name));
        if op == Op::Def {
            attr(out, "label", m.label.as_deref());
        }
        if v.kind == VectorKind::Number && op == Op::Def {
            attr(out, "format", Some(m.format.as_deref().unwrap_or("%g")));
            attr(out, "min", Some(m.min.as_deref().unwrap_or("0")));
            attr(out, "max", Some(m.max.as_deref().unwrap_or("0")));
            attr(out, "step", Some(m.step.as_deref().unwrap_or("0")));
        }
        if v.kind == VectorKind::Blob && op != Op::Def {
            let size = m.size.map(|s| s.to_string());
            attr(out, "size", Some(size.as_deref().unwrap_or("0")));
            attr(out, "format", Some(m.blob_format.as_deref().unwrap_or("")));
        }
        let _ = write!(out, ">{}</{member}>", escape(&m.value));
    }
    let _ = write!(out, "</{element}>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Message {
        Message::from_element(&Element::parse(xml.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn the_recorded_samples_parse() {
        let def = parse(
            "<defSwitchVector device=\"Telescope Simulator\" name=\"CONNECTION\" label=\"Connection\" group=\"Main Control\" state=\"Idle\" perm=\"rw\" rule=\"OneOfMany\" timeout=\"60\" timestamp=\"2026-11-21T04:35:42\">\n    <defSwitch name=\"CONNECT\" label=\"Connect\">\nOff\n    </defSwitch>\n    <defSwitch name=\"DISCONNECT\" label=\"Disconnect\">\nOn\n    </defSwitch>\n</defSwitchVector>",
        );
        let Message::Vector(Op::Def, v) = def else {
            panic!("a def");
        };
        assert_eq!(v.kind, VectorKind::Switch);
        assert_eq!(v.head.rule, Some(Rule::OneOfMany));
        assert_eq!(v.members[1].value, "On");
        let blob = parse(
            "<setBLOBVector device=\"CCD Simulator\" name=\"CCD1\" state=\"Ok\"><oneBLOB name=\"CCD1\" size=\"11520\" format=\".fits\" len=\"11520\">\nU0lN\n</oneBLOB></setBLOBVector>",
        );
        let Message::Vector(Op::Set, v) = blob else {
            panic!("a set");
        };
        assert_eq!(
            (v.members[0].size, v.members[0].blob_format.as_deref()),
            (Some(11520), Some(".fits"))
        );
        assert_eq!(v.members[0].value, "U0lN");
        assert_eq!(
            parse("<pingRequest uid='abc123'/>"),
            Message::PingRequest {
                uid: "abc123".into()
            }
        );
        assert_eq!(
            parse("<enableBLOB device='CCD Simulator'>Also</enableBLOB>"),
            Message::EnableBlob {
                device: "CCD Simulator".into(),
                name: None,
                mode: BlobMode::Also
            }
        );
    }

    #[test]
    fn what_is_wrong_is_said() {
        let err = |xml: &str| {
            Message::from_element(&Element::parse(xml.as_bytes()).unwrap())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(
                "<newSwitchVector device='d' name='n'><oneSwitch name='a'>Maybe</oneSwitch></newSwitchVector>"
            ),
            "<oneSwitch>: switch value \"Maybe\" is not On or Off"
        );
        assert_eq!(
            err("<newNumberVector name='n'/>"),
            "<newNumberVector> needs the attribute device"
        );
        assert_eq!(
            err("<defTextVector device='d' name='n'/>"),
            "<defTextVector> needs the attribute state"
        );
        assert_eq!(err("<frobnicate/>"), "unknown element <frobnicate>");
        assert_eq!(
            err(
                "<newNumberVector device='d' name='n'><oneNumber name='x'> </oneNumber></newNumberVector>"
            ),
            "<oneNumber>: empty number"
        );
    }

    #[test]
    fn written_xml_reads_back() {
        let v = Vector {
            kind: VectorKind::Number,
            head: VectorHead {
                device: "pump1".into(),
                name: "SETPOINT".into(),
                label: Some("Setpoint <P24> & co".into()),
                group: Some("Rotor".into()),
                state: Some(IndiState::Ok),
                perm: Some(Perm::Rw),
                timeout: Some("5".into()),
                timestamp: Some("2026-11-21T04:35:42".into()),
                ..VectorHead::default()
            },
            members: vec![Member {
                name: "SETPOINT".into(),
                value: "800".into(),
                format: Some("%.0f".into()),
                min: Some("750".into()),
                max: Some("1200".into()),
                step: Some("1".into()),
                ..Member::default()
            }],
        };
        let message = Message::Vector(Op::Def, v);
        let xml = message.to_xml();
        assert!(
            xml.contains("label=\"Setpoint &lt;P24&gt; &amp; co\""),
            "{xml}"
        );
        assert_eq!(parse(&xml), message);
        for m in [
            Message::GetProperties {
                version: Some("1.7".into()),
                device: Some("d".into()),
                name: None,
            },
            Message::DelProperty {
                device: "d".into(),
                name: Some("n".into()),
                timestamp: None,
                message: Some("gone".into()),
            },
            Message::PingReply { uid: "x".into() },
        ] {
            assert_eq!(parse(&m.to_xml()), m);
        }
    }
}
