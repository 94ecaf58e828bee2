//! The OVF 1.0 descriptor at the head of an exported OVA: which files the archive holds
//! (`References`), the virtual disks with their capacities (`DiskSection`), and the CPU, memory
//! and disk controllers of the VM (`VirtualSystem`). Small, but a well-formed DMTF DSP0243 1.0
//! envelope, so OVF readers that clients or users point at a simulated export can parse it.
//!
//! GUESS: what Prism Central writes into its own descriptors (system type, controller
//! subtypes, extra sections, a manifest) has not been seen; this one carries only what the
//! standard requires and what the VM defines.

use std::fmt::Write;

/// Disk file format of an export (`disk_file_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    /// VMware stream-optimised VMDK.
    Vmdk,
    /// QEMU copy-on-write v2.
    Qcow2,
}

impl DiskFormat {
    /// The API spelling (`VMDK`, `QCOW2`).
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Vmdk => "VMDK",
            DiskFormat::Qcow2 => "QCOW2",
        }
    }

    /// Parses the API spelling (upper case, as the Go plugin sends it).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "VMDK" => Some(DiskFormat::Vmdk),
            "QCOW2" => Some(DiskFormat::Qcow2),
            _ => None,
        }
    }

    /// File extension of the disk files.
    pub fn extension(self) -> &'static str {
        match self {
            DiskFormat::Vmdk => "vmdk",
            DiskFormat::Qcow2 => "qcow2",
        }
    }

    /// `ovf:format` URI. The VMDK one is VMware's published URI; GUESS for QCOW2 (the URI
    /// oVirt uses; OVF has no registered one).
    fn uri(self) -> &'static str {
        match self {
            DiskFormat::Vmdk => {
                "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
            }
            DiskFormat::Qcow2 => "http://www.gnome.org/~markmc/qcow-image-format.html",
        }
    }
}

/// One exported disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OvfDisk {
    /// Name of its file in the archive.
    pub file_name: String,
    /// Size of that file.
    pub file_size: u64,
    /// Capacity of the virtual disk in bytes.
    pub capacity: u64,
    /// `SCSI`, `IDE`, `SATA`, `PCI`, `SPAPR`.
    pub adapter: String,
    /// Device index on that adapter.
    pub index: i64,
}

/// The exported VM's hardware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OvfVm {
    /// VM name.
    pub name: String,
    /// Total vCPUs (sockets × vCPUs per socket).
    pub vcpus: i64,
    /// Memory in MiB.
    pub memory_mib: i64,
}

const NS_OVF: &str = "http://schemas.dmtf.org/ovf/envelope/1";
const NS_RASD: &str =
    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData";
const NS_VSSD: &str =
    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData";

/// CIM resource type and name of a disk controller, when the adapter has one.
fn controller(adapter: &str) -> Option<(u32, &'static str)> {
    match adapter {
        "SCSI" => Some((6, "SCSI Controller")),
        "IDE" => Some((5, "IDE Controller")),
        "SATA" => Some((20, "SATA Controller")),
        _ => None,
    }
}

/// Escapes text and attribute values.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The descriptor text.
pub(crate) fn descriptor(vm: &OvfVm, disks: &[OvfDisk], format: DiskFormat) -> String {
    let mut x = String::new();
    let name = xml_escape(&vm.name);
    // Writing to a String cannot fail; the results are ignored.
    let _ = writeln!(x, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        x,
        r#"<Envelope xmlns="{NS_OVF}" xmlns:ovf="{NS_OVF}" xmlns:rasd="{NS_RASD}" xmlns:vssd="{NS_VSSD}">"#
    );
    let _ = writeln!(x, "  <References>");
    for (i, d) in disks.iter().enumerate() {
        let _ = writeln!(
            x,
            r#"    <File ovf:id="file{n}" ovf:href="{href}" ovf:size="{size}"/>"#,
            n = i + 1,
            href = xml_escape(&d.file_name),
            size = d.file_size
        );
    }
    let _ = writeln!(x, "  </References>");
    let _ = writeln!(x, "  <DiskSection>");
    let _ = writeln!(x, "    <Info>Virtual disks</Info>");
    for (i, d) in disks.iter().enumerate() {
        let _ = writeln!(
            x,
            r#"    <Disk ovf:diskId="disk{n}" ovf:fileRef="file{n}" ovf:capacity="{cap}" ovf:capacityAllocationUnits="byte" ovf:format="{fmt}"/>"#,
            n = i + 1,
            cap = d.capacity,
            fmt = format.uri()
        );
    }
    let _ = writeln!(x, "  </DiskSection>");
    let _ = writeln!(x, r#"  <VirtualSystem ovf:id="{name}">"#);
    let _ = writeln!(
        x,
        "    <Info>A virtual machine exported by Prism Central</Info>"
    );
    let _ = writeln!(x, "    <Name>{name}</Name>");
    let _ = writeln!(x, "    <VirtualHardwareSection>");
    let _ = writeln!(x, "      <Info>Virtual hardware requirements</Info>");
    let _ = writeln!(x, "      <System>");
    let _ = writeln!(
        x,
        "        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>"
    );
    let _ = writeln!(x, "        <vssd:InstanceID>0</vssd:InstanceID>");
    let _ = writeln!(
        x,
        "        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>"
    );
    let _ = writeln!(
        x,
        "        <vssd:VirtualSystemType>nutanix-ahv</vssd:VirtualSystemType>"
    );
    let _ = writeln!(x, "      </System>");
    let mut id = 0u32;
    let mut item = |x: &mut String, fields: &[(&str, String)]| {
        id += 1;
        let _ = writeln!(x, "      <Item>");
        for (k, v) in fields {
            if *k == "InstanceID" {
                let _ = writeln!(x, "        <rasd:InstanceID>{id}</rasd:InstanceID>");
            } else {
                let _ = writeln!(x, "        <rasd:{k}>{v}</rasd:{k}>");
            }
        }
        let _ = writeln!(x, "      </Item>");
        id
    };
    item(
        &mut x,
        &[
            ("AllocationUnits", "hertz * 10^6".into()),
            ("Description", "Number of virtual CPUs".into()),
            ("ElementName", format!("{} virtual CPU(s)", vm.vcpus)),
            ("InstanceID", String::new()),
            ("ResourceType", "3".into()),
            ("VirtualQuantity", vm.vcpus.to_string()),
        ],
    );
    item(
        &mut x,
        &[
            ("AllocationUnits", "byte * 2^20".into()),
            ("Description", "Memory size".into()),
            ("ElementName", format!("{} MB of memory", vm.memory_mib)),
            ("InstanceID", String::new()),
            ("ResourceType", "4".into()),
            ("VirtualQuantity", vm.memory_mib.to_string()),
        ],
    );
    // One controller per adapter type the disks use, in order of first use.
    let mut controllers: Vec<(&str, u32)> = Vec::new();
    for d in disks {
        if controllers.iter().any(|(a, _)| *a == d.adapter) {
            continue;
        }
        if let Some((rtype, label)) = controller(&d.adapter) {
            let n = item(
                &mut x,
                &[
                    ("Address", "0".into()),
                    ("Description", label.into()),
                    ("ElementName", format!("{} 0", label)),
                    ("InstanceID", String::new()),
                    ("ResourceType", rtype.to_string()),
                ],
            );
            controllers.push((d.adapter.as_str(), n));
        }
    }
    for (i, d) in disks.iter().enumerate() {
        let mut fields = vec![
            ("AddressOnParent", d.index.to_string()),
            ("ElementName", format!("Hard disk {}", i + 1)),
            ("HostResource", format!("ovf:/disk/disk{}", i + 1)),
            ("InstanceID", String::new()),
        ];
        if let Some((_, parent)) = controllers.iter().find(|(a, _)| *a == d.adapter) {
            fields.push(("Parent", parent.to_string()));
        }
        fields.push(("ResourceType", "17".into()));
        item(&mut x, &fields);
    }
    let _ = writeln!(x, "    </VirtualHardwareSection>");
    let _ = writeln!(x, "  </VirtualSystem>");
    let _ = writeln!(x, "</Envelope>");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(n: u32, adapter: &str) -> OvfDisk {
        OvfDisk {
            file_name: format!("a&b-disk{n}.vmdk"),
            file_size: 1000 + u64::from(n),
            capacity: (u64::from(n)) << 30,
            adapter: adapter.into(),
            index: i64::from(n),
        }
    }

    #[test]
    fn descriptor_is_well_formed_ovf_naming_every_disk() {
        let vm = OvfVm {
            name: "web <01> & \"db\"\u{1}".into(),
            vcpus: 4,
            memory_mib: 2048,
        };
        let disks = [disk(1, "SCSI"), disk(2, "SCSI"), disk(3, "PCI")];
        let text = descriptor(&vm, &disks, DiskFormat::Vmdk);
        let doc = roxmltree::Document::parse(&text).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "Envelope");
        assert_eq!(root.tag_name().namespace(), Some(NS_OVF));
        let files: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name((NS_OVF, "File")))
            .collect();
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].attribute((NS_OVF, "href")), Some("a&b-disk1.vmdk"));
        assert_eq!(files[2].attribute((NS_OVF, "size")), Some("1003"));
        let caps: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name((NS_OVF, "Disk")))
            .map(|n| n.attribute((NS_OVF, "capacity")).unwrap().to_string())
            .collect();
        assert_eq!(caps, ["1073741824", "2147483648", "3221225472"]);
        let quantity = |rtype: &str| {
            doc.descendants()
                .filter(|n| n.has_tag_name((NS_OVF, "Item")))
                .filter(|n| {
                    n.children().any(|c| {
                        c.has_tag_name((NS_RASD, "ResourceType")) && c.text() == Some(rtype)
                    })
                })
                .map(|n| {
                    n.children()
                        .find(|c| c.has_tag_name((NS_RASD, "VirtualQuantity")))
                        .and_then(|c| c.text())
                        .map(str::to_string)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(quantity("3"), vec![Some("4".to_string())]);
        assert_eq!(quantity("4"), vec![Some("2048".to_string())]);
        // Three disks, one SCSI controller (PCI disks have none).
        assert_eq!(quantity("17").len(), 3);
        assert_eq!(quantity("6").len(), 1);
        let name = doc
            .descendants()
            .find(|n| n.has_tag_name((NS_OVF, "Name")))
            .unwrap();
        assert_eq!(name.text(), Some("web <01> & \"db\"\u{FFFD}"));
        assert!(text.contains("#streamOptimized"));
        assert!(descriptor(&vm, &disks, DiskFormat::Qcow2).contains("qcow"));
    }

    #[test]
    fn a_vm_without_disks_still_has_a_valid_descriptor() {
        let vm = OvfVm {
            name: "x".into(),
            vcpus: 1,
            memory_mib: 1,
        };
        let text = descriptor(&vm, &[], DiskFormat::Qcow2);
        assert!(roxmltree::Document::parse(&text).is_ok());
    }

    #[test]
    fn formats() {
        assert_eq!(DiskFormat::parse("VMDK"), Some(DiskFormat::Vmdk));
        assert_eq!(DiskFormat::parse("QCOW2"), Some(DiskFormat::Qcow2));
        assert_eq!(DiskFormat::parse("vmdk"), None);
        assert_eq!(DiskFormat::Qcow2.extension(), "qcow2");
        assert_eq!(DiskFormat::Vmdk.as_str(), "VMDK");
    }
}
