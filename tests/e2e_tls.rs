//! Real Packer 1.16 building against the simulator over HTTPS with a certificate the test
//! chose (issue 15): a self-signed server certificate with basicConstraints CA:TRUE — what
//! `openssl req -x509` makes by default, and what many lab Prism Centrals serve — pinned with
//! `nutanix_ca_cert` is trusted; pinning an unrelated CA fails at once, naming the certificate
//! problem.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use prism_sim::{SimConfig, SimHandle, Simulator, TlsPem};

/// A hang guard, not a performance claim.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// A self-signed CA:TRUE certificate named only by its common name (no subjectAltName), as
/// `openssl req -x509 -subj /CN=127.0.0.1` makes it.
fn self_signed_ca_true(common_name: &str) -> TlsPem {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    TlsPem {
        cert_chain_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

async fn sim_serving(identity: &TlsPem) -> SimHandle {
    let mut cfg = SimConfig::default_for_tests();
    cfg.tls_identity = Some(identity.clone());
    Simulator::start(cfg).await.expect("simulator")
}

async fn build(sim: &SimHandle, pinned_pem: &str, dir: &Path) -> std::process::Output {
    let packer = packer_116_protobuf();
    let installed = InstalledPlugin::install(&packer);
    let ca = dir.join("pinned.pem");
    std::fs::write(&ca, pinned_pem).unwrap();
    let mut cmd = installed.packer(&packer);
    cmd.current_dir(dir)
        .args(["build", "-color=false"])
        .arg("-var")
        .arg("endpoint=127.0.0.1")
        .arg("-var")
        .arg(format!("port={}", sim.addr().port()))
        .arg("-var")
        .arg(format!("ca_cert={}", ca.display()))
        .arg(repo_root().join("tests/e2e/tls.pkr.hcl"));
    run_packer(cmd, HANG_GUARD).await
}

fn image_names(sim: &SimHandle) -> Vec<String> {
    sim.state_json()["images"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_self_signed_ca_true_certificate_is_trusted_by_a_real_build() {
    let identity = self_signed_ca_true("127.0.0.1");
    let sim = sim_serving(&identity).await;
    let dir = tempfile::tempdir().unwrap();
    let out = build(&sim, &identity.cert_chain_pem, dir.path()).await;
    assert!(out.status.success(), "build failed:\n{}", text(&out));
    assert!(
        image_names(&sim).iter().any(|n| n == "e2e-tls-golden"),
        "no image made:\n{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrelated_ca_fails_the_build_naming_the_certificate_problem() {
    let unrelated = self_signed_ca_true("Some Other Lab CA");
    // The self-signed CA:TRUE certificate, and the simulator's own CA-issued one.
    let self_signed = sim_serving(&self_signed_ca_true("127.0.0.1")).await;
    let mut issued = SimConfig::default_for_tests();
    issued.tls = true;
    let issued = Simulator::start(issued).await.expect("simulator");
    for (sim, problem) in [
        (
            &self_signed,
            "CA certificate (CA:TRUE, e.g. self-signed) that nutanix_ca_cert does not pin",
        ),
        (&issued, "not issued by a trusted authority"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let out = build(sim, &unrelated.cert_chain_pem, dir.path()).await;
        let took = started.elapsed();
        let all = text(&out);
        assert!(!out.status.success(), "build passed:\n{all}");
        assert!(
            all.contains("certificate was refused") && all.contains(problem),
            "the certificate problem is not named ({problem}):\n{all}"
        );
        assert!(all.contains("after 1 attempt(s)"), "retried:\n{all}");
        // Reported, not asserted (no timed assertions): the whole `packer build`, plugin start
        // included, for the record of how quickly the refusal comes.
        println!("build refused in {took:?}: {problem}");
    }
}
