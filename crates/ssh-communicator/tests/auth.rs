//! Every authentication method and connection route, against real OpenSSH servers.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::run;
use ssh_communicator::testing::{self, SshAgent, Sshd, SshdOptions};
use ssh_communicator::{
    generate_temporary_key_pair, BastionConfig, CancellationToken, PrivateKeySource, ProxyConfig,
    SshCommunicator, SshConfig, SshError,
};

async fn connect(cfg: SshConfig) -> Result<SshCommunicator, SshError> {
    SshCommunicator::connect(cfg, CancellationToken::new()).await
}

async fn assert_runs_as(comm: &SshCommunicator, user: &str) {
    let out = run(comm, "id -un").await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(out.stdout.trim(), user);
}

async fn key_login(kind: &str) {
    common::init_logs();
    let sshd = Sshd::start().unwrap();
    let key = sshd.user_key(kind).unwrap();
    let cfg = SshConfig {
        private_keys: vec![PrivateKeySource::File(key)],
        handshake_attempts: 1,
        ..sshd.config().unwrap()
    };
    let comm = connect(cfg)
        .await
        .unwrap_or_else(|e| panic!("{kind}: {e}\n{}", sshd.log()));
    assert_runs_as(&comm, &testing::current_user()).await;
}

#[tokio::test]
async fn ed25519_key() {
    key_login("ed25519").await;
}

#[tokio::test]
async fn rsa_key_uses_rsa_sha2() {
    key_login("rsa").await;
}

#[tokio::test]
async fn ecdsa_key() {
    key_login("ecdsa").await;
}

#[tokio::test]
async fn temporary_key_pair_inline_pem() {
    for (kind, bits) in [("ed25519", 0), ("ecdsa", 256), ("rsa", 2048)] {
        let sshd = Sshd::start().unwrap();
        let pair = generate_temporary_key_pair(kind, bits).unwrap();
        sshd.authorize(&pair.public_key_line).unwrap();
        let cfg = SshConfig {
            private_keys: vec![PrivateKeySource::Pem(pair.private_key_pem.clone())],
            handshake_attempts: 1,
            ..sshd.config().unwrap()
        };
        let comm = connect(cfg).await.unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_runs_as(&comm, &testing::current_user()).await;
    }
}

#[tokio::test]
async fn unauthorized_key_fails_after_the_handshake_attempts() {
    let sshd = Sshd::start().unwrap();
    let pair = generate_temporary_key_pair("ed25519", 0).unwrap();
    let cfg = SshConfig {
        private_keys: vec![PrivateKeySource::Pem(pair.private_key_pem)],
        handshake_attempts: 2,
        timeout: Duration::from_secs(120),
        ..sshd.config().unwrap()
    };
    let err = connect(cfg).await.unwrap_err();
    assert!(err.is_auth_failure(), "{err}");
    let text = err.to_string();
    assert!(text.contains("publickey"), "{text}");
}

#[tokio::test]
async fn certificate() {
    common::init_logs();
    let sshd = Sshd::start().unwrap();
    let user = testing::current_user();
    let (key, cert) = sshd.certified_key(&user).unwrap();
    let base = sshd.config().unwrap();
    // Without the certificate the key is unknown to the server.
    let bare = SshConfig {
        private_keys: vec![PrivateKeySource::File(key.clone())],
        handshake_attempts: 1,
        ..base.clone()
    };
    assert!(connect(bare).await.unwrap_err().is_auth_failure());
    let cfg = SshConfig {
        private_keys: vec![PrivateKeySource::File(key)],
        certificate_file: Some(cert),
        handshake_attempts: 1,
        ..base
    };
    let comm = connect(cfg)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_runs_as(&comm, &user).await;
}

#[tokio::test]
async fn certificate_for_another_key_is_a_config_error() {
    let sshd = Sshd::start().unwrap();
    let (_, cert) = sshd.certified_key("someone").unwrap();
    let other = sshd.user_key("ed25519").unwrap();
    let cfg = SshConfig {
        private_keys: vec![PrivateKeySource::File(other)],
        certificate_file: Some(cert),
        ..sshd.config().unwrap()
    };
    assert!(matches!(connect(cfg).await, Err(SshError::Key { .. })));
}

#[tokio::test]
async fn agent_keys() {
    common::init_logs();
    let sshd = Sshd::start().unwrap();
    let agent = SshAgent::start().unwrap();
    agent.add(&sshd.user_key("rsa").unwrap()).unwrap();
    let cfg = SshConfig {
        private_keys: vec![],
        agent_auth: true,
        agent_socket: Some(agent.socket().to_path_buf()),
        handshake_attempts: 1,
        ..sshd.config().unwrap()
    };
    let comm = connect(cfg)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_runs_as(&comm, &testing::current_user()).await;
}

#[tokio::test]
async fn agent_forwarding_reaches_the_local_agent() {
    let sshd = Sshd::start().unwrap();
    let agent = SshAgent::start().unwrap();
    let key = sshd.user_key("ecdsa").unwrap();
    agent.add(&key).unwrap();
    let cfg = SshConfig {
        agent_socket: Some(agent.socket().to_path_buf()),
        disable_agent_forwarding: false,
        ..sshd.config().unwrap()
    };
    let comm = connect(cfg).await.unwrap();
    let out = run(&comm, "ssh-add -l").await;
    assert_eq!(out.code, 0, "stdout {} stderr {}", out.stdout, out.stderr);
    assert!(out.stdout.contains("ECDSA"), "{}", out.stdout);

    // And disabled forwarding leaves the remote side without an agent.
    let cfg = SshConfig {
        agent_socket: Some(agent.socket().to_path_buf()),
        disable_agent_forwarding: true,
        ..sshd.config().unwrap()
    };
    let comm = connect(cfg).await.unwrap();
    let out = run(&comm, "ssh-add -l").await;
    assert_ne!(out.code, 0);
}

#[tokio::test]
async fn password() {
    // Needs root (to create the user); a test that cannot run fails rather than passing unrun.
    let (user, password) = testing::password_user()
        .unwrap_or_else(|reason| panic!("password tests need a user with a password: {reason}"));
    let sshd = Sshd::start().unwrap();
    let cfg = SshConfig {
        username: user.clone(),
        password: Some(password),
        private_keys: vec![],
        handshake_attempts: 1,
        ..sshd.config().unwrap()
    };
    let comm = connect(cfg)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_runs_as(&comm, &user).await;
}

#[tokio::test]
async fn wrong_password_is_an_auth_failure() {
    // Needs root (to create the user); a test that cannot run fails rather than passing unrun.
    let (user, _) = testing::password_user()
        .unwrap_or_else(|reason| panic!("password tests need a user with a password: {reason}"));
    let sshd = Sshd::start().unwrap();
    let cfg = SshConfig {
        username: user,
        password: Some("definitely-wrong".into()),
        private_keys: vec![],
        handshake_attempts: 1,
        ..sshd.config().unwrap()
    };
    let err = connect(cfg).await.unwrap_err();
    assert!(err.is_auth_failure(), "{err}");
    assert!(err.to_string().contains("password"), "{err}");
}

#[tokio::test]
async fn keyboard_interactive_answers_with_the_password() {
    // Needs root (to create the user); a test that cannot run fails rather than passing unrun.
    let (user, password) = testing::password_user()
        .unwrap_or_else(|reason| panic!("password tests need a user with a password: {reason}"));
    // Only keyboard-interactive (through PAM) is enabled: "password" is refused by the server.
    let sshd = Sshd::start_with(SshdOptions {
        use_pam: true,
        password_authentication: false,
        kbd_interactive_authentication: true,
        ..Default::default()
    })
    .unwrap();
    let cfg = SshConfig {
        username: user.clone(),
        password: Some(password),
        private_keys: vec![],
        handshake_attempts: 1,
        ..sshd.config().unwrap()
    };
    let comm = connect(cfg)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_runs_as(&comm, &user).await;
    assert!(
        sshd.log().contains("keyboard-interactive"),
        "{}",
        sshd.log()
    );
}

#[tokio::test]
async fn bastion_hop() {
    common::init_logs();
    let target = Sshd::start().unwrap();
    let bastion = Sshd::start().unwrap();
    let bastion_key = bastion.user_key("ed25519").unwrap();
    let cfg = SshConfig {
        bastion: Some(BastionConfig {
            host: "127.0.0.1".into(),
            port: bastion.port(),
            username: testing::current_user(),
            private_key_file: Some(bastion_key.clone()),
            ..Default::default()
        }),
        handshake_attempts: 1,
        ..target.config().unwrap()
    };
    let comm = connect(cfg)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", bastion.log()));
    assert_runs_as(&comm, &testing::current_user()).await;
    assert!(
        bastion.log().contains("Accepted publickey"),
        "{}",
        bastion.log()
    );

    // A bastion that forbids forwarding cannot reach the target: proves the route.
    let closed = Sshd::start_with(SshdOptions {
        extra: vec!["DisableForwarding yes".into()],
        ..Default::default()
    })
    .unwrap();
    let cfg = SshConfig {
        bastion: Some(BastionConfig {
            host: "127.0.0.1".into(),
            port: closed.port(),
            username: testing::current_user(),
            private_key_file: Some(closed.user_key("ed25519").unwrap()),
            ..Default::default()
        }),
        timeout: Duration::from_secs(2),
        ..target.config().unwrap()
    };
    let err = connect(cfg).await.unwrap_err();
    assert!(matches!(err, SshError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("bastion"), "{err}");
}

#[tokio::test]
async fn socks5_proxy_via_openssh_dynamic_forwarding() {
    common::init_logs();
    let target = Sshd::start().unwrap();
    let relay = Sshd::start().unwrap();
    let key = relay.user_key("ed25519").unwrap();
    let socks_port = testing::free_port().unwrap();
    // `ssh -D` is a real SOCKS5 server (no authentication).
    let mut client = std::process::Command::new("ssh")
        .args([
            "-N",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "ExitOnForwardFailure=yes",
            "-i",
        ])
        .arg(&key)
        .args(["-p", &relay.port().to_string(), "-D"])
        .arg(format!("127.0.0.1:{socks_port}"))
        .arg(format!("{}@127.0.0.1", testing::current_user()))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let cfg = SshConfig {
        proxy: Some(ProxyConfig {
            host: "127.0.0.1".into(),
            port: socks_port,
            ..Default::default()
        }),
        timeout: Duration::from_secs(30),
        ..target.config().unwrap()
    };
    // The proxy may need a moment to listen: connect() retries refused connections.
    let result = connect(cfg).await;
    if let Ok(comm) = &result {
        assert_runs_as(comm, &testing::current_user()).await;
    }
    let _ = client.kill();
    let _ = client.wait();
    result.unwrap();
    assert!(
        relay.log().contains("Accepted publickey"),
        "{}",
        relay.log()
    );
}
