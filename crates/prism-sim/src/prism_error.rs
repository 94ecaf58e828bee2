//! Prism v3 error bodies. Every request-level failure leaves the simulator as one of these,
//! shaped like Prism Central's intent gateway answers:
//! `{"api_version":"3.1","code":N,"kind":"vm","message_list":[{"message":..,"reason":..,"details":..}],"state":"ERROR"}`.
//!
//! Bodies confirmed against real Prism output quoted in public material: the 401 body
//! (`AUTHENTICATION_REQUIRED`, details `Basic realm="Intent Gateway Login Required"`), the 400
//! `INVALID_UUID` body ("Invalid UUID passed. list"), and the 409 reason
//! `CONCURRENT_REQUESTS_NOT_ALLOWED` with message "Edit conflict: please retry change.".
//! The reasons for missing entities (`ENTITY_NOT_FOUND`) and schema errors (422 `INVALID_REQUEST`,
//! "Request could not be processed.") follow Prism's conventions; their exact message texts are
//! our own wording and name the entity at fault.
//!
//! Errors of v4 calls use the v4 envelope instead (`$objectType` of the operation's
//! ApiResponse, `data` an ErrorResponse with one AppMessage), see [`ApiError::v4`].

use serde_json::{json, Value};

/// The Prism API version every v3 response carries.
pub const API_VERSION: &str = "3.1";

/// One Prism error answer: HTTP status plus the `message_list` entry describing it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code (also the body's `code`).
    pub status: u16,
    /// Entity kind the request was about (`vm`, `image`, ...), when known.
    pub kind: Option<String>,
    /// Prism's machine-readable reason (`ENTITY_NOT_FOUND`, `INVALID_UUID`, ...).
    pub reason: String,
    /// Human-readable message naming the thing at fault.
    pub message: String,
    /// Optional `details` object (schema errors put a field→messages map here).
    pub details: Option<Box<Value>>,
    /// `Retry-After` seconds for 429/503 answers.
    pub retry_after: Option<u64>,
    /// Set for errors of v4 calls: the `$objectType` of the operation's ApiResponse
    /// (`vmm.v4.content.CreateTemplateApiResponse`...); the body is then a v4 error envelope.
    pub v4_response: Option<&'static str>,
}

impl ApiError {
    /// A bare error with the given status, reason and message.
    pub fn new(status: u16, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind: None,
            reason: reason.to_string(),
            message: message.into(),
            details: None,
            retry_after: None,
            v4_response: None,
        }
    }

    /// A v4 error: `group` becomes the AppMessage `errorGroup`, `response` the envelope's
    /// `$objectType`.
    pub fn v4(
        status: u16,
        group: &str,
        message: impl Into<String>,
        response: &'static str,
    ) -> Self {
        Self::new(status, group, message).in_v4(response)
    }

    /// The same error answered in the v4 shape (for failures found before the v4 handler
    /// runs: authentication, malformed JSON, injected faults). An error already in v4 shape
    /// keeps its envelope type.
    pub fn in_v4(mut self, response: &'static str) -> Self {
        if self.v4_response.is_none() {
            self.v4_response = Some(response);
        }
        self
    }

    /// Sets the entity kind shown in the body.
    pub fn with_kind(mut self, kind: &str) -> Self {
        self.kind = Some(kind.to_string());
        self
    }

    /// Sets the `details` object.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// 401: no or wrong credentials (Prism's exact body).
    pub fn unauthorized() -> Self {
        Self::new(401, "AUTHENTICATION_REQUIRED", "Authentication required.").with_details(
            Value::String("Basic realm=\"Intent Gateway Login Required\"".to_string()),
        )
    }

    /// 409 for a change to an entity whose deletion is under way, as Prism refuses it;
    /// `label` is how the message names the kind ("VM", "image").
    pub fn being_deleted(kind: &str, label: &str, uuid: &str) -> Self {
        Self::new(
            409,
            "CONCURRENT_REQUESTS_NOT_ALLOWED",
            format!("{label} {uuid} is being deleted"),
        )
        .with_kind(kind)
    }

    /// 404 for an entity that does not exist.
    pub fn not_found(kind: &str, uuid: &str) -> Self {
        Self::new(
            404,
            "ENTITY_NOT_FOUND",
            format!("{} {} does not exist.", kind_title(kind), uuid),
        )
        .with_kind(kind)
    }

    /// 404 for a path the v3 API does not serve.
    pub fn no_such_path(method: &str, path: &str) -> Self {
        Self::new(
            404,
            "NOT_FOUND",
            format!("No API is served at {method} {path}"),
        )
    }

    /// 400 for a path segment that should be a UUID (Prism's exact wording).
    pub fn invalid_uuid(kind: &str, given: &str) -> Self {
        Self::new(400, "INVALID_UUID", format!("Invalid UUID passed. {given}")).with_kind(kind)
    }

    /// 400 for a body that is not JSON.
    pub fn malformed_json(kind: Option<&str>, err: &str) -> Self {
        let e = Self::new(
            400,
            "INVALID_REQUEST",
            format!("Request body is not valid JSON: {err}"),
        );
        match kind {
            Some(k) => e.with_kind(k),
            None => e,
        }
    }

    /// 422 for a body that is JSON but breaks the schema; `field` is a JSON path.
    pub fn schema(kind: &str, field: &str, problem: impl Into<String>) -> Self {
        let problem = problem.into();
        Self::new(422, "INVALID_REQUEST", "Request could not be processed.")
            .with_kind(kind)
            .with_details(json!({ field: [problem] }))
    }

    /// 422 for a reference to an entity that does not exist (or cannot be used there).
    pub fn bad_reference(kind: &str, field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(422, "ENTITY_NOT_FOUND", message.clone())
            .with_kind(kind)
            .with_details(json!({ field: [message] }))
    }

    /// 409 for a PUT whose `metadata.spec_version` is not the current one.
    pub fn spec_version_conflict(kind: &str, uuid: &str, given: Option<i64>, current: u64) -> Self {
        let given = given.map_or_else(|| "none".to_string(), |g| g.to_string());
        Self::new(
            409,
            "CONCURRENT_REQUESTS_NOT_ALLOWED",
            "Edit conflict: please retry change.",
        )
        .with_kind(kind)
        .with_details(json!({
            "entity": format!("{kind} {uuid}"),
            "spec_version": format!("given {given}, current {current}"),
        }))
    }

    /// 413 for a JSON body larger than the configured limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "REQUEST_TOO_LARGE",
            format!("Request body exceeds the {limit}-byte limit"),
        )
    }

    /// The JSON body Prism would send.
    pub fn body(&self) -> Value {
        if let Some(response) = self.v4_response {
            return self.v4_body(response);
        }
        let mut msg = serde_json::Map::new();
        msg.insert("message".into(), Value::String(self.message.clone()));
        msg.insert("reason".into(), Value::String(self.reason.clone()));
        if let Some(d) = &self.details {
            msg.insert("details".into(), (**d).clone());
        }
        let mut body = serde_json::Map::new();
        body.insert("api_version".into(), Value::String(API_VERSION.into()));
        body.insert("code".into(), Value::from(self.status));
        if let Some(k) = &self.kind {
            body.insert("kind".into(), Value::String(k.clone()));
        }
        body.insert(
            "message_list".into(),
            Value::Array(vec![Value::Object(msg)]),
        );
        body.insert("state".into(), Value::String("ERROR".into()));
        Value::Object(body)
    }
}

impl ApiError {
    /// The v4 error envelope: `data` is an ErrorResponse holding one AppMessage.
    /// GUESS: the code `VMM-30100` is used for every error, and `errorGroup` carries the v3-style
    /// reason (`INVALID_REQUEST`, `ENTITY_NOT_FOUND`...); real codes and groups vary per error.
    fn v4_body(&self, response: &str) -> Value {
        let mut message = self.message.clone();
        if let Some(d) = self.details.as_deref() {
            if let Some(map) = d.as_object() {
                for (field, problems) in map {
                    let text = match problems {
                        Value::Array(list) => list
                            .iter()
                            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join("; "),
                        other => other
                            .as_str()
                            .map_or_else(|| other.to_string(), str::to_string),
                    };
                    message.push_str(&format!(" {field}: {text}."));
                }
            } else if let Some(text) = d.as_str() {
                message.push_str(&format!(" {text}"));
            }
        }
        json!({
            "$objectType": response,
            "data": {
                "$objectType": "vmm.v4.error.ErrorResponse",
                "error": [{
                    "$objectType": "vmm.v4.error.AppMessage",
                    "code": V4_ERROR_CODE,
                    "message": message,
                    "severity": "ERROR",
                    "errorGroup": self.reason,
                }],
            },
            "metadata": {
                "$objectType": "common.v1.response.ApiResponseMetadata",
                "flags": [
                    {"name": "hasError", "value": true},
                    {"name": "isPaginated", "value": false},
                ],
            },
        })
    }
}

/// The AppMessage `code` of every v4 error the simulator sends.
pub const V4_ERROR_CODE: &str = "VMM-30100";

/// "vm" → "VM", "image" → "Image": how Prism capitalises kinds in messages.
fn kind_title(kind: &str) -> String {
    match kind {
        "vm" => "VM".to_string(),
        other => {
            let mut c = other.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_body_is_prisms() {
        // The body real Prism Central sends without credentials, as quoted in Nutanix lab
        // material ("Intent Gateway Login Required").
        let expected: Value = serde_json::from_str(
            r#"{"state": "ERROR", "code": 401, "message_list": [{"reason": "AUTHENTICATION_REQUIRED",
               "message": "Authentication required.", "details": "Basic realm=\"Intent Gateway Login Required\""}],
               "api_version": "3.1"}"#,
        )
        .unwrap();
        assert_eq!(ApiError::unauthorized().body(), expected);
    }

    #[test]
    fn invalid_uuid_body_is_prisms() {
        // Real Prism's answer to GET /vms/list (quoted in Nutanix lab material).
        let expected: Value = serde_json::from_str(
            r#"{"api_version": "3.1", "code": 400, "kind": "vm",
               "message_list": [{"message": "Invalid UUID passed. list", "reason": "INVALID_UUID"}],
               "state": "ERROR"}"#,
        )
        .unwrap();
        assert_eq!(ApiError::invalid_uuid("vm", "list").body(), expected);
    }

    #[test]
    fn conflict_names_both_versions() {
        let b = ApiError::spec_version_conflict("vm", "u1", Some(1), 3).body();
        assert_eq!(b["code"], 409);
        assert_eq!(
            b["message_list"][0]["reason"],
            "CONCURRENT_REQUESTS_NOT_ALLOWED"
        );
        assert_eq!(
            b["message_list"][0]["details"]["spec_version"],
            "given 1, current 3"
        );
    }

    #[test]
    fn v4_errors_use_the_v4_envelope() {
        let b = ApiError::v4(
            404,
            "ENTITY_NOT_FOUND",
            "Template t does not exist.",
            "vmm.v4.content.GetTemplateApiResponse",
        )
        .body();
        assert_eq!(b["$objectType"], "vmm.v4.content.GetTemplateApiResponse");
        assert_eq!(b["data"]["$objectType"], "vmm.v4.error.ErrorResponse");
        let m = &b["data"]["error"][0];
        assert_eq!(m["$objectType"], "vmm.v4.error.AppMessage");
        assert_eq!(m["code"], "VMM-30100");
        assert_eq!(m["message"], "Template t does not exist.");
        assert_eq!(m["severity"], "ERROR");
        assert_eq!(m["errorGroup"], "ENTITY_NOT_FOUND");
        assert_eq!(
            b["metadata"]["flags"][0],
            json!({"name": "hasError", "value": true})
        );
        assert!(b.get("api_version").is_none());
        // A v3 error moved to v4 keeps its reason and folds its details into the message.
        let b = ApiError::schema("vm", "spec.name", "'name' is a required property")
            .in_v4("X")
            .body();
        assert_eq!(b["data"]["error"][0]["errorGroup"], "INVALID_REQUEST");
        let msg = b["data"]["error"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains("spec.name: 'name' is a required property"),
            "{msg}"
        );
        // The first envelope type wins.
        let e = ApiError::v4(400, "G", "m", "A").in_v4("B");
        assert_eq!(e.body()["$objectType"], "A");
    }

    #[test]
    fn kind_titles() {
        assert_eq!(kind_title("vm"), "VM");
        assert_eq!(kind_title("image"), "Image");
        assert_eq!(kind_title(""), "");
    }
}
