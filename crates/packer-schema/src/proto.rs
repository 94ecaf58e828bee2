//! Protobuf encoding of the spec (`Spec{object}` from the SDK's rpc/hcl_spec.proto), used when Packer
//! 1.12+ starts us with `--protobuf`.

use crate::ObjectSpec;

/// Encodes `spec` as the SDK's `Spec` message holding `object`. Not finished yet.
pub fn encode_object_spec(_spec: &ObjectSpec) -> Vec<u8> {
    Vec::new()
}
