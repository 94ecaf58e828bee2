//! The string enums of the v3 API that the builder reads or writes.

use super::open_enum::open_enum;

open_enum! {
    /// What an image holds: a bootable disk or an ISO for a CD-ROM.
    pub enum ImageType {
        /// A disk image (qcow2, raw, vmdk...).
        DiskImage = "DISK_IMAGE",
        /// An ISO 9660 image.
        IsoImage = "ISO_IMAGE",
    }
}

open_enum! {
    /// Checksum algorithms Prism verifies image sources with.
    pub enum ChecksumAlgorithm {
        /// SHA-1.
        Sha1 = "SHA_1",
        /// SHA-256.
        Sha256 = "SHA_256",
    }
}

open_enum! {
    /// Desired or current VM power state.
    pub enum PowerState {
        /// Running.
        On = "ON",
        /// Stopped.
        Off = "OFF",
    }
}

open_enum! {
    /// How Prism moves a VM to OFF: ACPI asks the guest, HARD pulls the plug.
    pub enum PowerMechanism {
        /// ACPI power button: the guest shuts down cleanly if it listens.
        Acpi = "ACPI",
        /// Immediate power off.
        Hard = "HARD",
        /// Shutdown through Nutanix Guest Tools.
        Guest = "GUEST",
    }
}

open_enum! {
    /// Firmware the VM boots with.
    pub enum BootType {
        /// BIOS.
        Legacy = "LEGACY",
        /// UEFI.
        Uefi = "UEFI",
        /// UEFI with Secure Boot (needs machine type Q35).
        SecureBoot = "SECURE_BOOT",
    }
}

open_enum! {
    /// Device classes in a boot order.
    pub enum BootDevice {
        /// CD-ROM.
        Cdrom = "CDROM",
        /// Disk.
        Disk = "DISK",
        /// PXE.
        Network = "NETWORK",
    }
}

open_enum! {
    /// Whether a VM disk is a disk or a CD-ROM drive.
    pub enum DeviceType {
        /// A disk.
        Disk = "DISK",
        /// A CD-ROM drive.
        Cdrom = "CDROM",
    }
}

open_enum! {
    /// Disk bus.
    pub enum AdapterType {
        /// SCSI.
        Scsi = "SCSI",
        /// IDE.
        Ide = "IDE",
        /// PCI.
        Pci = "PCI",
        /// SATA.
        Sata = "SATA",
        /// SPAPR (POWER).
        Spapr = "SPAPR",
    }
}

open_enum! {
    /// Emulated chipset.
    pub enum MachineType {
        /// i440fx.
        Pc = "PC",
        /// Q35, required by Secure Boot.
        Q35 = "Q35",
        /// POWER.
        Pseries = "PSERIES",
    }
}

open_enum! {
    /// How a GPU is attached.
    pub enum GpuMode {
        /// Whole GPU, graphics.
        PassthroughGraphics = "PASSTHROUGH_GRAPHICS",
        /// Whole GPU, compute.
        PassthroughCompute = "PASSTHROUGH_COMPUTE",
        /// vGPU profile.
        Virtual = "VIRTUAL",
    }
}

open_enum! {
    /// GPU vendor.
    pub enum GpuVendor {
        /// NVIDIA.
        Nvidia = "NVIDIA",
        /// Intel.
        Intel = "INTEL",
        /// AMD.
        Amd = "AMD",
    }
}

open_enum! {
    /// Sysprep mode: a fresh install from ISO or a prepared image.
    pub enum SysprepInstallType {
        /// The unattend file drives a fresh install.
        Fresh = "FRESH",
        /// The image was sysprepped; the unattend file finishes it.
        Prepared = "PREPARED",
    }
}

open_enum! {
    /// State of a v3 task. QUEUED and RUNNING are the only non-terminal states this
    /// client accepts; anything else it does not know ends the wait with an error.
    pub enum TaskStatus {
        /// Waiting to run.
        Queued = "QUEUED",
        /// Running.
        Running = "RUNNING",
        /// Paused by Prism (the v3 API document lists it); it resumes, so it is waited for.
        Suspended = "SUSPENDED",
        /// Done.
        Succeeded = "SUCCEEDED",
        /// Failed; see `error_detail`.
        Failed = "FAILED",
        /// Aborted.
        Aborted = "ABORTED",
        /// Cancelled.
        Cancelled = "CANCELLED",
        /// Prism does not know the task.
        InvalidUuid = "INVALID_UUID",
    }
}

impl TaskStatus {
    /// True while the task may still change state.
    pub fn is_in_progress(&self) -> bool {
        matches!(self, Self::Queued | Self::Running | Self::Suspended)
    }
}
