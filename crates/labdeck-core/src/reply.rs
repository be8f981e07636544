//! The reply envelope every Hub command returns, also for unknown names.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub success: bool,
    pub msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Reply {
    pub fn ok(msg: impl Into<String>) -> Self {
        Self {
            success: true,
            msg: msg.into(),
            data: None,
        }
    }

    pub fn fail(msg: impl Into<String>) -> Self {
        Self {
            success: false,
            msg: msg.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: impl Serialize) -> Self {
        self.data = serde_json::to_value(data).ok();
        self
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = if self.success { "ok" } else { "error" };
        write!(f, "{word}: {}", self.msg)
    }
}
