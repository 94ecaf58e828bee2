//! Typed serde models of the v3 JSON the builder reads and writes.
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
pub mod project;
pub mod subnet;
pub mod task;
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
pub use error_body::ErrorBody;
pub use host::{Host, HostGpu, HostResources, HostStatus};
pub use image::{
    Checksum, Image, ImageIntentInput, ImageResources, ImageSpec, ImageStatus, ImageStatusResources,
};
pub use project::{Project, ProjectBody};
pub use subnet::{Subnet, SubnetBody, SubnetResources};
pub use task::{Task, TaskProgress};
pub use vm::{
    BootConfig, CloudInit, DeviceProperties, DiskAddress, GuestCustomization, IpEndpoint,
    PowerStateMechanism, SerialPort, StorageConfig, Sysprep, Vm, VmDisk, VmGpu, VmIntentInput,
    VmNic, VmResources, VmSpec, VmStatus, VtpmConfig,
};
