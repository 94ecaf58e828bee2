//! Decoding of the cty JSON (`{"value": ..., "type": ...}`) Packer sends as the HCL2 body in Prepare.

/// Why a cty JSON document could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum CtyJsonError {
    /// The bytes are not JSON, or not the `{"value","type"}` wrapper.
    #[error("invalid cty JSON: {0}")]
    Invalid(String),
}

/// Decodes Packer's dynamic-wrapped cty JSON into a plain JSON value (objects, lists, maps, strings,
/// numbers, bools, nulls for unset attributes). Not finished yet.
pub fn decode(_bytes: &[u8]) -> Result<serde_json::Value, CtyJsonError> {
    Err(CtyJsonError::Invalid("cty JSON decoding is not implemented yet".into()))
}
