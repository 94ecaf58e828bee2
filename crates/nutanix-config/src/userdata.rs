//! `user_data` / `meta_data`: cloud-init or sysprep content handed to Prism, which wants it base64.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use packer_schema::CtyType;
use serde_json::Value;

use crate::decl::{AttrValue, Cx};

/// Guest customization content, held base64-encoded as Prism wants it.
///
/// The Go plugin required `user_data` to be base64 already and passed it through (#372). We accept
/// plain text too and decide with one rule: after removing ASCII white space (line wrapping), a value
/// that is non-empty, uses only the standard base64 alphabet with correct `=` padding, and decodes to
/// UTF-8 text or to gzip data (`1f 8b`) is base64 and is passed through unchanged; anything else is
/// plain text and is encoded here. Real plain-text content cannot be mistaken for base64: cloud-config
/// starts with `#`, scripts with `#!`, unattend XML with `<`, and none of these is in the alphabet.
///
/// Like every string option, the value is first rendered as a Packer `{{ }}` template (the Go plugin
/// does the same), so content that itself contains `{{` (Jinja cloud-init) must be given base64.
#[derive(Clone, PartialEq, Eq)]
pub struct UserData {
    base64: String,
    given_as_base64: bool,
}

impl UserData {
    /// Applies the rule above to a template value.
    pub fn from_template_value(s: &str) -> Self {
        let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if let Ok(bytes) = STANDARD.decode(compact.as_bytes()) {
            let gzip = bytes.starts_with(&[0x1f, 0x8b]);
            if !compact.is_empty() && (gzip || std::str::from_utf8(&bytes).is_ok()) {
                return UserData {
                    base64: compact,
                    given_as_base64: true,
                };
            }
        }
        UserData {
            base64: STANDARD.encode(s.as_bytes()),
            given_as_base64: false,
        }
    }

    /// The content, base64-encoded.
    pub fn as_base64(&self) -> &str {
        &self.base64
    }

    /// The content itself.
    pub fn decoded(&self) -> Vec<u8> {
        STANDARD.decode(self.base64.as_bytes()).unwrap_or_default()
    }

    /// Whether the template gave it already encoded.
    pub fn given_as_base64(&self) -> bool {
        self.given_as_base64
    }
}

impl std::fmt::Debug for UserData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Cloud-init often carries passwords; show only the size.
        write!(f, "UserData({} base64 chars)", self.base64.len())
    }
}

impl AttrValue for UserData {
    fn cty() -> CtyType {
        CtyType::String
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        let s = cx.text(v, at)?;
        if s.is_empty() {
            return None;
        }
        Some(UserData::from_template_value(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_table() {
        let cloud_config = "#cloud-config\nusers:\n  - name: centos\n";
        let encoded = STANDARD.encode(cloud_config);
        let wrapped = format!("{}\n{}", &encoded[..20], &encoded[20..]);
        let gzip_b64 = STANDARD.encode([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe]);
        let cases: &[(&str, &str, bool)] = &[
            (cloud_config, &encoded, false),
            (&encoded, &encoded, true),
            (&wrapped, &encoded, true),
            (&gzip_b64, &gzip_b64, true),
            // Valid alphabet but decodes to non-UTF-8 bytes: plain text.
            ("test", "dGVzdA==", false),
            (
                "<?xml version=\"1.0\"?><unattend/>",
                "PD94bWwgdmVyc2lvbj0iMS4wIj8+PHVuYXR0ZW5kLz4=",
                false,
            ),
            // Bad padding: plain text.
            ("abc", "YWJj", false),
        ];
        for (input, b64, given) in cases {
            let u = UserData::from_template_value(input);
            assert_eq!(u.as_base64(), *b64, "{input:?}");
            assert_eq!(u.given_as_base64(), *given, "{input:?}");
        }
        assert_eq!(
            UserData::from_template_value(cloud_config).decoded(),
            cloud_config.as_bytes()
        );
    }
}
