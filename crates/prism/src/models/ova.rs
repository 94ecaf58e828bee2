//! OVAs as the v3 API returns them (`/ovas/list`, `GET /ovas/{uuid}`): `{metadata, info}`.
//!
//! Only `metadata` and `info.{name, parent_vm_reference, checksum}` have been seen on a real
//! Prism Central; `info.disk_format` and `info.size_bytes` are guesses, so they are read
//! leniently (a size may come as a number or a numeric string, and a missing one is fine).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{Extra, Metadata, Reference};
use super::enums::ChecksumAlgorithm;

/// An OVA entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OvaEntity {
    /// Identity and creation time.
    #[serde(default)]
    pub metadata: Metadata,
    /// What the OVA holds.
    #[serde(default)]
    pub info: OvaInfo,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `info` of an OVA.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OvaInfo {
    /// OVA name (not unique).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The VM it was exported from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_vm_reference: Option<Reference>,
    /// Digest of the `.ova` file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<OvaChecksum>,
    /// `VMDK` or `QCOW2` (a guess: never seen on a real PC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_format: Option<String>,
    /// File size in bytes (a guess); kept raw because its type is not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<Value>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `info.checksum`; both parts optional so a partial one does not fail the whole entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OvaChecksum {
    /// `SHA_256` or `SHA_1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Hex digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_value: Option<String>,
}

impl OvaEntity {
    /// UUID; `None` when Prism answered without one (the caller says which entity lacked it).
    pub fn uuid(&self) -> Option<&str> {
        self.metadata.uuid.as_deref().filter(|u| !u.is_empty())
    }

    /// Name from `info`, else from `metadata`.
    pub fn name(&self) -> &str {
        self.info
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .or(self.metadata.name.as_deref())
            .unwrap_or_default()
    }

    /// UUID of the VM the OVA was exported from.
    pub fn parent_vm_uuid(&self) -> Option<&str> {
        self.info
            .parent_vm_reference
            .as_ref()
            .map(|r| r.uuid.as_str())
            .filter(|u| !u.is_empty())
    }

    /// The file's digest. Without an algorithm, a 64-digit hex value is taken as SHA-256 and
    /// a 40-digit one as SHA-1; anything else is not a usable checksum.
    pub fn checksum(&self) -> Option<(ChecksumAlgorithm, String)> {
        let checksum = self.info.checksum.as_ref()?;
        let value = checksum.checksum_value.as_deref()?.trim();
        if value.is_empty() {
            return None;
        }
        let algorithm = match &checksum.checksum_algorithm {
            Some(a) => a.clone(),
            None if value.len() == 64 => ChecksumAlgorithm::Sha256,
            None if value.len() == 40 => ChecksumAlgorithm::Sha1,
            None => return None,
        };
        Some((algorithm, value.to_string()))
    }

    /// File size: a JSON number or a numeric string; anything else is unknown.
    pub fn size_bytes(&self) -> Option<u64> {
        match self.info.size_bytes.as_ref()? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/design/prism-v3.md, 'The OVA entity', with every field.
    const ENTITY: &str = r#"{"metadata":{"kind":"ova","uuid":"ova-1",
        "creation_time":"2025-03-04T05:06:07Z","last_update_time":"2025-03-04T05:07:00Z",
        "spec_version":0,"categories":{}},"info":{"name":"golden",
        "parent_vm_reference":{"kind":"vm","uuid":"vm-1","name":"packer-vm"},
        "checksum":{"checksum_algorithm":"SHA_256",
        "checksum_value":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
        "disk_format":"QCOW2","size_bytes":10240}}"#;

    #[test]
    fn contract_entity_parses() {
        let ova: OvaEntity = serde_json::from_str(ENTITY).unwrap();
        assert_eq!(ova.uuid(), Some("ova-1"));
        assert_eq!(ova.name(), "golden");
        assert_eq!(ova.parent_vm_uuid(), Some("vm-1"));
        assert_eq!(
            ova.checksum(),
            Some((
                ChecksumAlgorithm::Sha256,
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()
            ))
        );
        assert_eq!(ova.size_bytes(), Some(10240));
        assert_eq!(ova.info.disk_format.as_deref(), Some("QCOW2"));
        assert_eq!(
            ova.metadata.creation_time.as_deref(),
            Some("2025-03-04T05:06:07Z")
        );
    }

    #[test]
    fn guessed_fields_are_optional_and_lenient() {
        let ova: OvaEntity = serde_json::from_str(
            r#"{"metadata":{"uuid":"o"},"info":{"name":"n","size_bytes":"123"}}"#,
        )
        .unwrap();
        assert_eq!(ova.size_bytes(), Some(123));
        assert_eq!(ova.checksum(), None);
        assert_eq!(ova.parent_vm_uuid(), None);
        let ova: OvaEntity = serde_json::from_str(
            r#"{"metadata":{"uuid":"o","name":"m"},"info":{"size_bytes":-1}}"#,
        )
        .unwrap();
        assert_eq!(ova.size_bytes(), None);
        assert_eq!(ova.name(), "m");
        let ova: OvaEntity = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(ova.uuid(), None);
    }

    #[test]
    fn checksum_without_algorithm_is_inferred_from_length() {
        let with = |checksum: &str| -> OvaEntity {
            serde_json::from_str(&format!(r#"{{"info":{{"checksum":{checksum}}}}}"#)).unwrap()
        };
        let sha1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";
        assert_eq!(
            with(&format!(r#"{{"checksum_value":"{sha1}"}}"#)).checksum(),
            Some((ChecksumAlgorithm::Sha1, sha1.into()))
        );
        assert_eq!(with(r#"{"checksum_value":"abc"}"#).checksum(), None);
        assert_eq!(
            with(r#"{"checksum_algorithm":"SHA_256","checksum_value":""}"#).checksum(),
            None
        );
        assert_eq!(with(r#"{"checksum_algorithm":"SHA_256"}"#).checksum(), None);
    }
}
