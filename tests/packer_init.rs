//! `packer init` installs a release made by scripts/release-assets.sh, for templates pinned the
//! way the Go plugin's users pin it (`>= 1.1.9` in its own example, `~> 1.2`, `>= 0.8.1` in its
//! README), with real Packer 1.16 and 1.11 (and any Packer listed in PACKER_INIT_EXTRA, which
//! scripts/check-packer-1.7.sh uses for Packer 1.7).
//!
//! GitHub is played by tests/interop/cmd/ghstandin: an HTTPS proxy (HTTPS_PROXY) with its own CA
//! (SSL_CERT_FILE) that answers the tag list and the release downloads from a local directory.
//! The repository has the Go plugin's last tags (v1.2.1, v1.3.0, without assets here) and ours.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use common::*;

const SOURCE: &str = "github.com/nutanix-cloud-native/nutanix";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Go plugin's newest tags, listed by the stand-in GitHub without release assets, so that
/// Packer has older matching versions to consider.
const GO_TAGS: &[&str] = &["v1.2.1", "v1.3.0"];

/// Builds the stand-in once per test binary.
fn ghstandin() -> PathBuf {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.as_ref() {
        return p.clone();
    }
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ghstandin");
    let status = Command::new("go")
        .args(["build", "-buildvcs=false", "-o"])
        .arg(&out)
        .arg("./cmd/ghstandin")
        .current_dir(repo_root().join("tests/interop"))
        .status()
        .expect("run go build (Go is needed for this test)");
    assert!(
        status.success(),
        "building tests/interop/cmd/ghstandin failed"
    );
    *built = Some(out.clone());
    out
}

/// A running stand-in GitHub, stopped when dropped.
struct StandIn {
    child: Child,
    proxy: String,
    ca: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl StandIn {
    fn start(dist: &Path, tags: &[String]) -> StandIn {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let mut child = Command::new(ghstandin())
            .arg("-ca")
            .arg(&ca)
            .arg("-dist")
            .arg(dist)
            .arg("-tags")
            .arg(tags.join(","))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ghstandin");
        let stdout = child.stdout.take().unwrap();
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).unwrap();
        let Some(addr) = first.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            panic!("ghstandin did not start: {first:?}");
        };
        let proxy = format!("http://{addr}");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        StandIn {
            child,
            proxy,
            ca,
            log,
            _dir: dir,
        }
    }

    fn requests(&self) -> Vec<String> {
        // Give the log thread a moment to catch up with the last request.
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Packers under test: 1.16 and 1.11 from the peer cache, plus PACKER_INIT_EXTRA.
fn init_packers() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = packers()
        .into_iter()
        .filter(|p| p.env.is_empty())
        .map(|p| (p.label.replace(" protobuf", ""), p.binary))
        .collect();
    if let Ok(extra) = std::env::var("PACKER_INIT_EXTRA") {
        for path in extra.split(':').filter(|s| !s.is_empty()) {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "PACKER_INIT_EXTRA names {}, which does not exist",
                path.display()
            );
            out.push((format!("packer at {}", path.display()), path));
        }
    }
    out
}

/// A `packer` command that reaches "GitHub" only through the stand-in, with its own plugin
/// directory and home.
fn packer_cmd(packer: &Path, standin: &StandIn, plugins: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(packer);
    cmd.env("HTTPS_PROXY", &standin.proxy)
        .env("https_proxy", &standin.proxy)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("PACKER_GITHUB_API_TOKEN")
        .env("SSL_CERT_FILE", &standin.ca)
        .env("PACKER_PLUGIN_PATH", plugins)
        .env("PACKER_CONFIG_DIR", home)
        .env("HOME", home)
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("PACKER_LOG")
        .env_remove("PACKER_FORCE_GOB");
    cmd
}

/// A template that pins the plugin with `constraint` and has a source Packer must load the
/// plugin to validate.
fn pinned_template(dir: &Path, constraint: &str) {
    let body = format!(
        r#"packer {{
  required_plugins {{
    nutanix = {{
      version = "{constraint}"
      source  = "{SOURCE}"
    }}
  }}
}}

source "nutanix" "pinned" {{
  nutanix_endpoint = "prism.example.com"
  nutanix_username = "admin"
  nutanix_password = "secret"
  cluster_name     = "cluster"
  vm_disks {{
    image_type   = "DISK"
    disk_size_gb = 1
  }}
  vm_nics {{
    subnet_name = "subnet"
  }}
  image_name   = "pinned"
  communicator = "none"
}}

build {{
  sources = ["source.nutanix.pinned"]
}}
"#
    );
    std::fs::write(dir.join("build.pkr.hcl"), body).unwrap();
}

/// This machine in Go's GOOS/GOARCH words.
fn go_platform() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    (os, arch)
}

/// Release assets of the test's plugin binary, packed by the release script. The binary is
/// stripped first, as release builds are (`strip = true`): Packer then moves and unzips 29 MB
/// instead of 140 MB per install, which is most of this test's time.
fn release_dist() -> tempfile::TempDir {
    let dist = tempfile::tempdir().unwrap();
    let stage = tempfile::tempdir().unwrap();
    let binary = stage.path().join("packer-plugin-nutanix");
    std::fs::copy(plugin_binary(), &binary).unwrap();
    let strip = Command::new("strip").arg(&binary).output();
    assert!(
        strip.as_ref().is_ok_and(|o| o.status.success()),
        "strip (binutils, which Rust's linker needs too) failed: {strip:?}"
    );
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/release-assets.sh"))
        .arg(format!("v{VERSION}"))
        .arg(dist.path())
        .arg(&binary)
        .output()
        .unwrap();
    assert!(out.status.success(), "release-assets.sh:\n{}", text(&out));
    dist
}

fn all_tags() -> Vec<String> {
    let mut tags: Vec<String> = GO_TAGS.iter().map(|t| t.to_string()).collect();
    tags.push(format!("v{VERSION}"));
    tags
}

/// Runs `packer init` then `packer validate` in a fresh plugin directory.
struct InitRun {
    init: Output,
    validate: Option<Output>,
    installed: Vec<String>,
}

fn init_and_validate(packer: &Path, standin: &StandIn, constraint: &str) -> InitRun {
    let work = tempfile::tempdir().unwrap();
    let plugins = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    pinned_template(work.path(), constraint);
    let init = packer_cmd(packer, standin, plugins.path(), home.path())
        .current_dir(work.path())
        .args(["init", "."])
        .output()
        .unwrap();
    let installed = files_in(&plugins.path().join(SOURCE));
    let validate = init.status.success().then(|| {
        packer_cmd(packer, standin, plugins.path(), home.path())
            .current_dir(work.path())
            .args(["validate", "."])
            .output()
            .unwrap()
    });
    InitRun {
        init,
        validate,
        installed,
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn packer_init_installs_the_release_for_go_plugin_pins() {
    let dist = release_dist();
    let standin = StandIn::start(dist.path(), &all_tags());
    let (os, arch) = go_platform();
    let binary = format!("packer-plugin-nutanix_v{VERSION}_x5.0_{os}_{arch}");
    let zip = format!("{binary}.zip");
    let sums = format!("packer-plugin-nutanix_v{VERSION}_SHA256SUMS");

    for (label, packer) in init_packers() {
        for constraint in [">= 1.1.9", "~> 1.2", ">= 0.8.1"] {
            let run = init_and_validate(&packer, &standin, constraint);
            assert!(
                run.init.status.success(),
                "{label}: packer init with version = \"{constraint}\" failed:\n{}\nstand-in requests:\n{}",
                text(&run.init),
                standin.requests().join("\n")
            );
            assert_eq!(
                run.installed,
                vec![binary.clone(), format!("{binary}_SHA256SUM")],
                "{label} ({constraint}): what packer init installed"
            );
            let validate = run.validate.expect("validate ran");
            assert!(
                validate.status.success(),
                "{label} ({constraint}): packer validate after init:\n{}",
                text(&validate)
            );
        }
    }

    // Packer found the release through the tag list and downloaded exactly our assets.
    let requests = standin.requests();
    for want in [
        "api.github.com GET /repos/nutanix-cloud-native/packer-plugin-nutanix/git/matching-refs/tags 200".to_string(),
        format!("github.com GET /nutanix-cloud-native/packer-plugin-nutanix/releases/download/v{VERSION}/{sums} 200"),
        format!("github.com GET /nutanix-cloud-native/packer-plugin-nutanix/releases/download/v{VERSION}/{zip} 200"),
    ] {
        assert!(
            requests.contains(&want),
            "the stand-in never served {want:?}; it saw:\n{}",
            requests.join("\n")
        );
    }
}

#[test]
fn packer_init_refuses_what_the_release_does_not_satisfy() {
    let dist = release_dist();
    let standin = StandIn::start(dist.path(), &all_tags());
    for (label, packer) in init_packers() {
        // Only the Go plugin's v1.3.0 matches, and the stand-in has no assets for it.
        let run = init_and_validate(&packer, &standin, "~> 1.3.0");
        assert!(
            !run.init.status.success(),
            "{label}: packer init succeeded for ~> 1.3.0, which {VERSION} does not meet:\n{}",
            text(&run.init)
        );
        assert!(run.installed.is_empty(), "{label}: {:?}", run.installed);
    }
    // It considered our release and left it: its zip was never fetched.
    let requests = standin.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.contains(&format!("/download/v{VERSION}/"))),
        "our release was downloaded for ~> 1.3.0:\n{}",
        requests.join("\n")
    );
    assert!(
        requests
            .iter()
            .any(|r| r.contains("/download/v1.3.0/") && r.ends_with(" 404")),
        "Packer did not look for v1.3.0:\n{}",
        requests.join("\n")
    );
}

#[test]
fn packer_init_rejects_a_zip_that_does_not_match_its_checksum() {
    let dist = release_dist();
    let (os, arch) = go_platform();
    let zip = dist.path().join(format!(
        "packer-plugin-nutanix_v{VERSION}_x5.0_{os}_{arch}.zip"
    ));
    let mut bytes = std::fs::read(&zip).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&zip, bytes).unwrap();
    let standin = StandIn::start(dist.path(), &all_tags());
    for (label, packer) in init_packers() {
        let run = init_and_validate(&packer, &standin, ">= 1.1.9");
        assert!(
            !run.init.status.success(),
            "{label}: packer init installed a zip whose sha256 is not the one in SHA256SUMS:\n{}",
            text(&run.init)
        );
        assert!(
            !run.installed
                .iter()
                .any(|f| f.starts_with("packer-plugin-nutanix_")),
            "{label}: {:?}",
            run.installed
        );
    }
    // It failed after downloading the zip, i.e. on the checksum.
    let requests = standin.requests();
    let zip_name = zip.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        requests
            .iter()
            .any(|r| r.contains(&zip_name) && r.ends_with(" 200")),
        "the zip was never downloaded:\n{}",
        requests.join("\n")
    );
}
