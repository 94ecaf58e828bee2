//! Prism's error body, so failures can quote what Prism said instead of a bare status code.
//!
//! Two families share one type: v3 (`message_list`) and v4 (`data.error[]` of `AppMessage`,
//! used by the VM template calls). [`ErrorBody::parse`] recognises both.

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
    /// The v4 `data.error[]` messages, filled by [`ErrorBody::parse`] (the raw v4 body stays
    /// in `extra`, so this is not serialised a second time).
    #[serde(skip)]
    pub app_messages: Vec<AppMessage>,
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
        // The v4 form: {"data": {"error": [AppMessage...]}, "metadata": {...}}.
        if let Some(app_messages) = object
            .get("data")
            .and_then(|d| d.get("error"))
            .and_then(v4_messages)
        {
            return Some(ErrorBody {
                app_messages,
                extra: object.clone(),
                ..ErrorBody::default()
            });
        }
        let body: ErrorBody = serde_json::from_value(value).ok()?;
        if body.message_list.is_empty() && body.state.is_none() && body.message.is_none() {
            return None;
        }
        Some(body)
    }

    /// The messages joined for an error line: `reason: message (details)` for v3,
    /// `code: message` for v4, `; `-separated.
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
        parts.extend(self.app_messages.iter().map(AppMessage::summary));
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

/// One v4 error message (`vmm.v4.error.AppMessage`): the code support asks for, and the text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppMessage {
    /// Machine-readable code (`VMM-30100`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// `ERROR`, `WARNING`, `INFO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// The error group Prism classifies the message in.
    #[serde(
        default,
        rename = "errorGroup",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_group: Option<String>,
    /// Fields not modelled here (`$objectType`, `locale`, `argumentsMap`...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl AppMessage {
    /// `code: message`, or the message alone when there is no code.
    pub fn summary(&self) -> String {
        match self.code.as_deref().filter(|c| !c.is_empty()) {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// The messages of a v4 `data.error`: a list of AppMessage, or (request validation failures)
/// one `SchemaValidationError` object with `message` and `validationErrorMessages[]`.
/// `None` when the value is neither, so a non-error `data` is not mistaken for one.
fn v4_messages(error: &serde_json::Value) -> Option<Vec<AppMessage>> {
    match error {
        serde_json::Value::Array(items) => {
            let messages: Vec<AppMessage> = items
                .iter()
                .filter_map(|item| serde_json::from_value::<AppMessage>(item.clone()).ok())
                .filter(|m| !m.message.is_empty() || m.code.is_some())
                .collect();
            (!messages.is_empty()).then_some(messages)
        }
        serde_json::Value::Object(object) => {
            let text = |v: &serde_json::Value, key: &str| {
                v.get(key)
                    .and_then(serde_json::Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            let mut messages = Vec::new();
            if let Some(message) = text(error, "message") {
                messages.push(AppMessage {
                    code: text(error, "statusCode")
                        .or_else(|| object.get("statusCode").map(|c| c.to_string())),
                    message,
                    ..AppMessage::default()
                });
            }
            let details = object
                .get("validationErrorMessages")
                .and_then(serde_json::Value::as_array);
            for detail in details.into_iter().flatten() {
                if let Some(message) = text(detail, "message") {
                    let message = match text(detail, "attributePath") {
                        Some(path) => format!("{path}: {message}"),
                        None => message,
                    };
                    messages.push(AppMessage {
                        code: text(detail, "classification"),
                        message,
                        ..AppMessage::default()
                    });
                }
            }
            (!messages.is_empty()).then_some(messages)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/design/prism-v3.md, 'v4 errors': the v4 error body of a failed template create.
    const V4_ERROR: &[u8] = br#"{"$objectType":"vmm.v4.content.CreateTemplateApiResponse",
        "data":{"$objectType":"vmm.v4.error.ErrorResponse","error":[{"$objectType":
        "vmm.v4.error.AppMessage","code":"VMM-30100","message":"VM ext id 123 not found",
        "severity":"ERROR","errorGroup":"VM_NOT_FOUND"}]},
        "metadata":{"flags":[{"name":"hasError","value":true}]}}"#;

    #[test]
    fn v4_app_messages_are_quoted_with_their_code() {
        let body = ErrorBody::parse(V4_ERROR).unwrap();
        assert_eq!(body.app_messages.len(), 1);
        let m = &body.app_messages[0];
        assert_eq!(m.code.as_deref(), Some("VMM-30100"));
        assert_eq!(m.severity.as_deref(), Some("ERROR"));
        assert_eq!(m.error_group.as_deref(), Some("VM_NOT_FOUND"));
        assert_eq!(body.summary(), "VMM-30100: VM ext id 123 not found");
        assert!(body.extra.contains_key("data"), "raw v4 body is kept");
    }

    #[test]
    fn several_v4_messages_are_all_quoted() {
        let body = ErrorBody::parse(
            br#"{"data":{"error":[{"code":"A-1","message":"first"},{"message":"second"}]}}"#,
        )
        .unwrap();
        assert_eq!(body.summary(), "A-1: first; second");
    }

    #[test]
    fn v4_schema_validation_error_is_read() {
        let body = ErrorBody::parse(
            br#"{"data":{"$objectType":"vmm.v4.error.ErrorResponse","error":{
            "$objectType":"vmm.v4.error.SchemaValidationError","statusCode":400,
            "error":"Bad Request","message":"Request validation failed",
            "validationErrorMessages":[{"classification":"INVALID_INPUT",
            "message":"must not be null","attributePath":"templateName"}]}}}"#,
        )
        .unwrap();
        let text = body.summary();
        assert!(text.contains("400: Request validation failed"), "{text}");
        assert!(
            text.contains("INVALID_INPUT: templateName: must not be null"),
            "{text}"
        );
    }

    #[test]
    fn v4_success_envelopes_are_not_errors() {
        assert!(ErrorBody::parse(
            br#"{"data":{"$objectType":"prism.v4.config.TaskReference","extId":"a:b"}}"#
        )
        .is_none());
        assert!(ErrorBody::parse(br#"{"data":{"error":[]}}"#).is_none());
        assert!(ErrorBody::parse(br#"{"data":{"error":"oops-not-a-list"}}"#).is_none());
    }

    #[test]
    fn v3_bodies_still_parse_as_before() {
        let body = ErrorBody::parse(
            br#"{"api_version":"3.1","code":404,"kind":"ova","state":"ERROR",
            "message_list":[{"message":"OVA x not found","reason":"ENTITY_NOT_FOUND"}]}"#,
        )
        .unwrap();
        assert!(body.app_messages.is_empty());
        assert_eq!(body.summary(), "ENTITY_NOT_FOUND: OVA x not found");
    }
}
