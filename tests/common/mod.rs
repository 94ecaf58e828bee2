//! Shared helpers for tests that drive real Packer binaries against our plugin binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where scripts/build-peers.sh caches the Go test peers.
pub fn peer_cache() -> PathBuf {
    if let Ok(dir) = std::env::var("PEER_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/packer-plugin-nutanix/peers")
}

/// One real Packer release and how we run it.
#[derive(Debug, Clone)]
pub struct PackerUnderTest {
    /// A label for messages, e.g. `1.16 protobuf`.
    pub label: &'static str,
    pub binary: PathBuf,
    /// Extra environment, e.g. PACKER_FORCE_GOB=1.
    pub env: Vec<(&'static str, &'static str)>,
}

/// The three modes every Packer-facing test runs in: 1.16 with protobuf (its default), 1.16 forced to
/// gob, and 1.11 (gob only). A missing binary is a test failure, not a skip: `.ci/run` builds them.
pub fn packers() -> Vec<PackerUnderTest> {
    let new = std::env::var("PACKER_NEW").unwrap_or_else(|_| "1.16.0".into());
    let old = std::env::var("PACKER_OLD").unwrap_or_else(|_| "1.11.2".into());
    let new_bin = peer_cache().join(format!("packer-{new}"));
    let old_bin = peer_cache().join(format!("packer-{old}"));
    for bin in [&new_bin, &old_bin] {
        assert!(
            bin.exists(),
            "{} is missing: run scripts/build-peers.sh (CI does this in .ci/run)",
            bin.display()
        );
    }
    vec![
        PackerUnderTest {
            label: "packer 1.16 protobuf",
            binary: new_bin.clone(),
            env: vec![],
        },
        PackerUnderTest {
            label: "packer 1.16 gob",
            binary: new_bin,
            env: vec![("PACKER_FORCE_GOB", "1")],
        },
        PackerUnderTest {
            label: "packer 1.11 gob",
            binary: old_bin,
            env: vec![],
        },
    ]
}

/// Our plugin binary, as cargo built it for this test run.
pub fn plugin_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_packer-plugin-nutanix"))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A private Packer plugin directory with our binary installed the way users install it.
pub struct InstalledPlugin {
    pub plugin_dir: tempfile::TempDir,
    pub home: tempfile::TempDir,
}

impl InstalledPlugin {
    /// Installs our binary with `packer plugins install --path` (Packer >= 1.10).
    pub fn install(packer: &PackerUnderTest) -> InstalledPlugin {
        let plugin_dir = tempfile::tempdir().expect("tempdir");
        let home = tempfile::tempdir().expect("tempdir");
        let installed = InstalledPlugin { plugin_dir, home };
        let out = installed
            .packer(packer)
            .args(["plugins", "install", "--path"])
            .arg(plugin_binary())
            .arg("github.com/nutanix-cloud-native/nutanix")
            .output()
            .expect("run packer plugins install");
        assert!(
            out.status.success(),
            "{}: packer plugins install failed:\n{}",
            packer.label,
            text(&out)
        );
        installed
    }

    /// A `packer` command with this plugin directory and a clean, offline environment.
    pub fn packer(&self, packer: &PackerUnderTest) -> Command {
        let mut cmd = Command::new(&packer.binary);
        cmd.env("PACKER_PLUGIN_PATH", self.plugin_dir.path())
            .env("PACKER_CONFIG_DIR", self.home.path())
            .env("HOME", self.home.path())
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("PACKER_LOG")
            .env_remove("PACKER_FORCE_GOB");
        for (k, v) in &packer.env {
            cmd.env(k, v);
        }
        cmd
    }
}

/// stdout and stderr of a finished command, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The `# expect: ...` lines at the top of a broken template.
pub fn expectations(path: &Path) -> Vec<String> {
    let body = std::fs::read_to_string(path).unwrap_or_default();
    body.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("# expect:")
                .or_else(|| l.trim().strip_prefix("// expect:"))
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Files in a directory with one of the given extensions, sorted.
pub fn files_with_ext(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        exts.iter().any(|e| name.ends_with(e))
    });
    files.sort();
    files
}

/// Packer 1.16 in its default (protobuf) mode.
pub fn packer_116_protobuf() -> PackerUnderTest {
    packers()
        .into_iter()
        .next()
        .expect("packer 1.16 is the first mode")
}

/// Runs a prepared `packer` command to completion, failing the test if it outlives `hang_guard`
/// (a hang guard, not a performance claim). The command gets its own process group, as a
/// terminal gives it, and is killed if the test ends first.
pub async fn run_packer(cmd: Command, hang_guard: std::time::Duration) -> Output {
    let mut cmd = cmd;
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn packer");
    tokio::time::timeout(hang_guard, child.wait_with_output())
        .await
        .expect("packer hung")
        .expect("packer")
}
