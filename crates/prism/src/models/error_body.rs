//! Prism's error body, so failures can quote what Prism said instead of a bare status code.

use serde::{Deserialize, Serialize};

use super::common::{Extra, MessageResource};

/// `{"api_version","code","kind","message_list":[...],"state":"ERROR"}`, the v3 error shape.
/// Some endpoints nest the same fields under `status`; [`ErrorBody::parse`] handles both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// HTTP-like code Prism put in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Kind the request was about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `ERROR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The messages to show the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_list: Vec<MessageResource>,
    /// A bare `message` some gateways send instead of a message list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ErrorBody {
    /// Parses an error body; `None` if it is not JSON of either known shape.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let object = value.as_object()?;
        // The nested form: {"status": {"state": "ERROR", "message_list": [...]}, ...}
        if let Some(status) = object.get("status").filter(|s| s.is_object()) {
            if let Ok(mut nested) = serde_json::from_value::<ErrorBody>(status.clone()) {
                if !nested.message_list.is_empty() || nested.state.is_some() {
                    if nested.api_version.is_none() {
                        nested.api_version = object
                            .get("api_version")
                            .and_then(|v| v.as_str())
                            .map(str::to_string);
                    }
                    return Some(nested);
                }
            }
        }
        let body: ErrorBody = serde_json::from_value(value).ok()?;
        if body.message_list.is_empty() && body.state.is_none() && body.message.is_none() {
            return None;
        }
        Some(body)
    }

    /// The messages joined for an error line: `reason: message (details)`, `; `-separated.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .message_list
            .iter()
            .map(|m| {
                let mut s = String::new();
                if !m.reason.is_empty() {
                    s.push_str(&m.reason);
                    s.push_str(": ");
                }
                s.push_str(&m.message);
                if let Some(details) = m.details.as_ref().filter(|d| !is_empty_json(d)) {
                    s.push_str(" (");
                    s.push_str(&details.to_string());
                    s.push(')');
                }
                s
            })
            .collect();
        if parts.is_empty() {
            if let Some(m) = &self.message {
                parts.push(m.clone());
            }
        }
        parts.join("; ")
    }
}

fn is_empty_json(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Object(o) => o.is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::String(s) => s.is_empty(),
        _ => false,
    }
}
