//! Typed serde models of the v3 JSON the builder reads and writes, plus the few v4 shapes of
//! the VM template calls.
//!
//! Rules every model follows: unknown fields never fail a parse and are kept in an `extra` map
//! (so a GET → modify → PUT round trip preserves them); missing optional fields default;
//! enums are open (see [`open_enum`]).

mod open_enum;

pub mod category;
pub mod cluster;
pub mod common;
pub mod enums;
pub mod error_body;
pub mod host;
pub mod image;
pub mod ova;
pub mod project;
pub mod subnet;
pub mod task;
pub mod template;
pub mod v4;
pub mod vm;

pub use category::{CategoryKey, CategoryValue};
pub use cluster::{Cluster, ClusterConfigStatus, ClusterStatus, ClusterStatusResources};
pub use common::{
    DeleteResponse, DeleteStatus, ExecutionContext, Extra, ListMetadata, ListRequest, ListResponse,
    MessageResource, Metadata, Reference,
};
pub use enums::{
    AdapterType, BootDevice, BootType, ChecksumAlgorithm, DeviceType, GpuMode, GpuVendor,
    ImageType, MachineType, PowerMechanism, PowerState, SysprepInstallType, TaskStatus,
};
pub use error_body::{AppMessage, ErrorBody};
pub use host::{Host, HostGpu, HostResources, HostStatus};
pub use image::{
    Checksum, Image, ImageIntentInput, ImageResources, ImageSpec, ImageStatus, ImageStatusResources,
};
pub use ova::{OvaChecksum, OvaEntity, OvaInfo};
pub use project::{Project, ProjectBody};
pub use subnet::{Subnet, SubnetBody, SubnetResources};
pub use task::{Task, TaskProgress};
pub use template::TemplateEntity;
pub use v4::{task_uuid_of_ext_id, TaskReference, V4Flag, V4Metadata, V4Response};
pub use vm::{
    BootConfig, CloudInit, DeviceProperties, DiskAddress, GuestCustomization, IpEndpoint,
    PowerStateMechanism, SerialPort, StorageConfig, Sysprep, Vm, VmDisk, VmGpu, VmIntentInput,
    VmNic, VmResources, VmSpec, VmStatus, VtpmConfig,
};
