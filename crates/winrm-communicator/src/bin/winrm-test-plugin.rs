//! `winrm-test-plugin`: a test-only Packer plugin whose one builder connects our
//! [`WinRmCommunicator`] to `winrm_host` and hands it to Packer's provisioners — so real Packer
//! runs its `powershell`, `windows-shell`, `file` and `windows-restart` provisioners through our
//! communicator before the nutanix builder wires it. Used by tests/packer_provisioners.rs and
//! scripts/bench-winrm-upload.sh; built only with the `test-plugin` feature, never shipped.
//!
//! ```text
//! packer plugins install --path winrm-test-plugin github.com/test/winrmtest
//! source "winrmtest" "x" { winrm_host = "127.0.0.1" ... }
//! ```

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use packer_rpc::{Artifact, Builder, HookData, PrepareOutcome, RunContext, SpecEncoding};
use packer_schema::{CtyType, ObjectSpec, PrepareInput};
use rmpv::Value;
use serde_json::Value as Json;
use winrm_communicator::{WinRmCommunicator, WinRmConfig};

#[derive(Default)]
struct WinRmTestBuilder {
    cfg: Mutex<Option<WinRmConfig>>,
}

fn merged(configs: &[Json]) -> serde_json::Map<String, Json> {
    let mut m = serde_json::Map::new();
    for c in configs {
        if let Json::Object(o) = c {
            for (k, v) in o {
                if !v.is_null() {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
    }
    m
}

fn parse(configs: &[Json]) -> Result<WinRmConfig, String> {
    let m = merged(configs);
    let s = |k: &str| {
        m.get(k)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let b = |k: &str| m.get(k).and_then(Json::as_bool).unwrap_or(false);
    let timeout = match m.get("winrm_timeout").and_then(Json::as_str) {
        Some(t) => humantime_secs(t).ok_or_else(|| format!("winrm_timeout: cannot parse {t:?}"))?,
        None => Duration::from_secs(30 * 60),
    };
    let cfg = WinRmConfig {
        host: s("winrm_host"),
        port: m
            .get("winrm_port")
            .and_then(Json::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0),
        username: s("winrm_username"),
        password: s("winrm_password"),
        use_ssl: b("winrm_use_ssl"),
        insecure: b("winrm_insecure"),
        use_ntlm: b("winrm_use_ntlm"),
        no_proxy: b("winrm_no_proxy"),
        timeout,
        retry_interval: Duration::from_millis(500),
        ..WinRmConfig::default()
    };
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// `90s`, `2m`, `1h` (enough for a test plugin).
fn humantime_secs(t: &str) -> Option<Duration> {
    let t = t.trim();
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = n.parse().ok()?;
    Some(Duration::from_secs(match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return None,
    }))
}

#[async_trait::async_trait]
impl Builder for WinRmTestBuilder {
    fn config_spec(&self) -> ObjectSpec {
        ObjectSpec::new()
            .attr("winrm_host", CtyType::String)
            .attr("winrm_port", CtyType::Number)
            .attr("winrm_username", CtyType::String)
            .attr("winrm_password", CtyType::String)
            .attr("winrm_use_ssl", CtyType::Bool)
            .attr("winrm_insecure", CtyType::Bool)
            .attr("winrm_use_ntlm", CtyType::Bool)
            .attr("winrm_no_proxy", CtyType::Bool)
            .attr("winrm_timeout", CtyType::String)
    }

    async fn prepare(&self, input: PrepareInput) -> PrepareOutcome {
        let (cfg, error) = match parse(&input.configs) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        *self.cfg.lock().unwrap_or_else(|p| p.into_inner()) = cfg;
        PrepareOutcome {
            generated_vars: Vec::new(),
            warnings: Vec::new(),
            error,
        }
    }

    async fn run(&self, ctx: RunContext) -> Result<Option<Arc<dyn Artifact>>, String> {
        let cfg = self
            .cfg
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or("not prepared")?;
        ctx.ui.say("Waiting for WinRM to become available...").await;
        let comm = WinRmCommunicator::connect(cfg.clone(), ctx.cancel.clone())
            .await
            .map_err(|e| e.to_string())?;
        ctx.ui.say("Connected to WinRM!").await;
        let s = |v: &str| Value::from(v);
        let mut data = HookData::new();
        data.insert("Host".into(), s(&cfg.host));
        data.insert("Port".into(), Value::from(cfg.effective_port()));
        data.insert("User".into(), s(&cfg.username));
        data.insert("Password".into(), s(&cfg.password));
        data.insert("WinRMPassword".into(), s(&cfg.password));
        data.insert("ConnType".into(), s("winrm"));
        data.insert("ID".into(), s("winrm-test"));
        data.insert(
            "PackerRunUUID".into(),
            s("00000000-0000-0000-0000-000000000000"),
        );
        data.insert("PackerHTTPAddr".into(), s(""));
        ctx.hook
            .run("packer_provision", data, Arc::new(comm))
            .await
            .map_err(|e| e.to_string())?;
        Ok(None)
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WINRM_TEST_PLUGIN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let protobuf = args.iter().any(|a| a == "--protobuf");
    args.retain(|a| a != "--protobuf");
    match args.first().map(String::as_str) {
        Some("describe") => {
            let line = r#"{"version":"0.0.1","sdk_version":"0.6.10","api_version":"x5.0","builders":["-packer-default-plugin-name-"],"post_processors":[],"provisioners":[],"datasources":[],"protocol_version":"v2"}"#;
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Some("start") if args.get(1).map(String::as_str) == Some("builder") => {
            if !packer_mux::handshake::cookie_present() {
                eprintln!("{}", packer_mux::handshake::MANUAL_START_MESSAGE);
                return ExitCode::FAILURE;
            }
            let encoding = if protobuf {
                SpecEncoding::Protobuf
            } else {
                SpecEncoding::Gob
            };
            let Ok(runtime) = tokio::runtime::Runtime::new() else {
                return ExitCode::FAILURE;
            };
            let builder = Arc::new(WinRmTestBuilder::default());
            match runtime.block_on(packer_rpc::serve_builder(builder, encoding)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("winrm-test-plugin: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: winrm-test-plugin describe | start builder [--protobuf] -packer-default-plugin-name-");
            ExitCode::FAILURE
        }
    }
}
