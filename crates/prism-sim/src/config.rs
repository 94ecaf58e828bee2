//! How a simulator is configured: the `simulator` subcommand's flags ([`SimArgs`]) and the
//! programmatic form tests use ([`SimConfig`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::SimError;
use crate::faults::Fault;
use crate::inventory::Inventory;

/// Password the simulator accepts when none is given (`--password`, `PRISM_SIM_PASSWORD`).
pub const DEFAULT_PASSWORD: &str = "secret";
/// User name the simulator accepts when none is given.
pub const DEFAULT_USERNAME: &str = "admin";

/// Flags of `packer-plugin-nutanix simulator`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Address to listen on (Prism Central's port is 9440).
    #[arg(long, default_value = "127.0.0.1:9440")]
    pub listen: SocketAddr,
    /// Serve HTTPS with a freshly generated self-signed CA (its PEM is printed to stderr).
    #[arg(long)]
    pub self_signed_tls: bool,
    /// Serve HTTPS with this PEM certificate chain (server certificate first); needs --tls-key.
    #[arg(long, requires = "tls_key", conflicts_with = "self_signed_tls")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// User name accepted for HTTP basic auth.
    #[arg(long, default_value = DEFAULT_USERNAME, env = "PRISM_SIM_USERNAME")]
    pub username: String,
    /// Password accepted for HTTP basic auth (default "secret").
    #[arg(long, default_value = DEFAULT_PASSWORD, env = "PRISM_SIM_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Also accept this key in the X-ntnx-api-key header (service-account auth).
    #[arg(long, env = "PRISM_SIM_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Inventory file: HCL when the name ends in .hcl, JSON otherwise (built-in one if absent).
    #[arg(long)]
    pub inventory: Option<PathBuf>,
    /// IP address powered-on VMs report on their first NIC (a VM with sysprep guest
    /// customization, i.e. Windows, reports a link-local 169.254.x.y address before it).
    #[arg(long, default_value = "127.0.0.1")]
    pub vm_ip: IpAddr,
    /// How long each Prism task takes, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub task_duration_ms: u64,
    /// Delay between power-on and the VM reporting its IP, in milliseconds (default: task duration).
    #[arg(long)]
    pub ip_delay_ms: Option<u64>,
    /// JSON file of faults to inject from the start (format: see `POST /_sim/faults`).
    #[arg(long)]
    pub faults: Option<PathBuf>,
    /// Keep uploaded image bytes in this directory (default: hash and discard them).
    #[arg(long)]
    pub upload_dir: Option<PathBuf>,
    /// Fail image deletions while a live VM uses the image (real AHV allows them).
    #[arg(long)]
    pub refuse_deleting_images_in_use: bool,
    /// Require VNC authentication with this password on every VM console (Prism's consoles
    /// have none; this exists to test clients).
    #[arg(long, env = "PRISM_SIM_CONSOLE_PASSWORD", hide_env_values = true)]
    pub console_password: Option<String>,
}

/// Everything a [`crate::Simulator`] needs to start.
#[derive(Clone)]
pub struct SimConfig {
    /// Listen address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// HTTPS with a generated self-signed CA when true (with `tls_identity` when that is set).
    pub tls: bool,
    /// The certificate and key to serve instead of generated ones (implies HTTPS): e.g. a
    /// self-signed CA:TRUE certificate, as many lab Prism Centrals serve.
    pub tls_identity: Option<TlsPem>,
    /// Basic-auth user name.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// Key accepted in `X-ntnx-api-key`, if any.
    pub api_key: Option<String>,
    /// Initial entities.
    pub inventory: Inventory,
    /// IP powered-on VMs report; None: they never get one.
    pub vm_ip: Option<IpAddr>,
    /// Nominal task duration.
    pub task_duration: Duration,
    /// Delay from power-on to the IP showing up.
    pub ip_delay: Duration,
    /// Faults active from the start (and restored by `/_sim/reset`).
    pub faults: Vec<Fault>,
    /// Where uploaded bytes are kept; None: discarded after hashing.
    pub upload_dir: Option<PathBuf>,
    /// Fail image deletions while a live VM has a disk cloned from the image (off: like AHV).
    pub refuse_deleting_images_in_use: bool,
    /// Largest accepted JSON body (uploads are not limited).
    pub max_body_bytes: usize,
    /// Most request records `/_sim/requests` keeps (oldest dropped first).
    pub max_logged_requests: usize,
    /// Source of simulated time.
    pub clock: Arc<dyn Clock>,
    /// VNC password of every VM console; None: security type None, as on Prism.
    pub console_password: Option<String>,
}

/// A PEM certificate chain (server certificate first) and its private key.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsPem {
    /// Certificates, PEM.
    pub cert_chain_pem: String,
    /// Private key (PKCS#8, PKCS#1 or SEC1), PEM.
    pub key_pem: String,
}

impl fmt::Debug for TlsPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsPem")
            .field(
                "cert_chain_pem",
                &format!("{} bytes", self.cert_chain_pem.len()),
            )
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("tls", &self.tls)
            .field("tls_identity", &self.tls_identity)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("vm_ip", &self.vm_ip)
            .field("task_duration", &self.task_duration)
            .field("ip_delay", &self.ip_delay)
            .field("faults", &self.faults.len())
            .field("upload_dir", &self.upload_dir)
            .field("clock", &self.clock)
            .field(
                "console_password",
                &self.console_password.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl SimConfig {
    /// Loopback on a free port, plain HTTP, `admin`/`secret`, default inventory, VMs reporting
    /// 127.0.0.1, 50 ms tasks and IP delay, real clock.
    pub fn default_for_tests() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: false,
            tls_identity: None,
            username: DEFAULT_USERNAME.to_string(),
            password: DEFAULT_PASSWORD.to_string(),
            api_key: None,
            inventory: Inventory::default_inventory(),
            vm_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            task_duration: Duration::from_millis(50),
            ip_delay: Duration::from_millis(50),
            faults: Vec::new(),
            upload_dir: None,
            refuse_deleting_images_in_use: false,
            max_body_bytes: 4 << 20,
            max_logged_requests: 100_000,
            clock: SystemClock::shared(),
            console_password: None,
        }
    }

    /// Builds a config from command-line flags, reading the inventory and fault files.
    pub fn from_args(args: &SimArgs) -> Result<Self, SimError> {
        let read = |what: &'static str, path: &PathBuf| {
            std::fs::read_to_string(path).map_err(|source| SimError::ReadFile {
                what,
                path: path.clone(),
                source,
            })
        };
        let inventory = match &args.inventory {
            Some(p) => Inventory::from_file_text(p, &read("inventory", p)?)?,
            None => Inventory::default_inventory(),
        };
        let faults = match &args.faults {
            Some(p) => Fault::parse_list(&read("faults", p)?)?,
            None => Vec::new(),
        };
        let tls_identity = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsPem {
                cert_chain_pem: read("TLS certificate", cert)?,
                key_pem: read("TLS key", key)?,
            }),
            _ => None,
        };
        let task_duration = Duration::from_millis(args.task_duration_ms);
        Ok(Self {
            listen: args.listen,
            tls: args.self_signed_tls || tls_identity.is_some(),
            tls_identity,
            username: args.username.clone(),
            password: args.password.clone(),
            api_key: args.api_key.clone(),
            inventory,
            vm_ip: Some(args.vm_ip),
            task_duration,
            ip_delay: args
                .ip_delay_ms
                .map_or(task_duration, Duration::from_millis),
            faults,
            upload_dir: args.upload_dir.clone(),
            refuse_deleting_images_in_use: args.refuse_deleting_images_in_use,
            max_body_bytes: 4 << 20,
            max_logged_requests: 100_000,
            clock: SystemClock::shared(),
            console_password: args.console_password.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn flag_defaults() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        let cfg = SimConfig::from_args(&cli.sim).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:9440".parse().unwrap());
        assert!(!cfg.tls);
        assert_eq!(cfg.username, "admin");
        assert_eq!(cfg.vm_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(cfg.task_duration, Duration::from_millis(300));
        assert_eq!(cfg.ip_delay, Duration::from_millis(300));
        assert_eq!(cfg.inventory, Inventory::default_inventory());
    }

    #[test]
    fn tls_cert_and_key_flags_serve_the_given_identity() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, "CERT PEM").unwrap();
        std::fs::write(&key, "KEY PEM").unwrap();
        let cli = Cli::try_parse_from([
            "x",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .unwrap();
        let cfg = SimConfig::from_args(&cli.sim).unwrap();
        assert!(cfg.tls);
        let id = cfg.tls_identity.as_ref().unwrap();
        assert_eq!(
            (id.cert_chain_pem.as_str(), id.key_pem.as_str()),
            ("CERT PEM", "KEY PEM")
        );
        assert!(!format!("{cfg:?}").contains("KEY PEM"));
        // One without the other, or with --self-signed-tls, is refused.
        assert!(Cli::try_parse_from(["x", "--tls-cert", "c.pem"]).is_err());
        assert!(Cli::try_parse_from(["x", "--tls-key", "k.pem"]).is_err());
        assert!(Cli::try_parse_from([
            "x",
            "--self-signed-tls",
            "--tls-cert",
            "c",
            "--tls-key",
            "k"
        ])
        .is_err());
    }

    #[test]
    fn flags_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("inv.hcl");
        std::fs::write(&inv, "cluster {\n name = \"c\"\n}\n").unwrap();
        let faults = dir.path().join("f.json");
        std::fs::write(&faults, r#"[{"action":{"type":"drop"}}]"#).unwrap();
        let cli = Cli::try_parse_from([
            "x",
            "--listen",
            "127.0.0.1:0",
            "--self-signed-tls",
            "--password",
            "pw",
            "--inventory",
            inv.to_str().unwrap(),
            "--faults",
            faults.to_str().unwrap(),
            "--task-duration-ms",
            "10",
            "--ip-delay-ms",
            "20",
            "--vm-ip",
            "10.1.2.3",
        ])
        .unwrap();
        let cfg = SimConfig::from_args(&cli.sim).unwrap();
        assert!(cfg.tls);
        assert_eq!(cfg.password, "pw");
        assert_eq!(cfg.inventory.clusters.len(), 1);
        assert_eq!(cfg.faults.len(), 1);
        assert_eq!(cfg.ip_delay, Duration::from_millis(20));
        assert_eq!(cfg.vm_ip, Some("10.1.2.3".parse().unwrap()));
        // the password never shows in Debug output
        assert!(!format!("{cfg:?}").contains("pw\""));
        let missing = Cli::try_parse_from(["x", "--inventory", "/nonexistent/inv.json"]).unwrap();
        let err = SimConfig::from_args(&missing.sim).unwrap_err().to_string();
        assert!(
            err.contains("inventory") && err.contains("/nonexistent/inv.json"),
            "{err}"
        );
    }
}
