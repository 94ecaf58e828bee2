//! Our RFB client against a real RFB server: qemu's built-in VNC server (Debian's
//! qemu-system-x86, installed by the test when missing), a diskless VM under TCG, its VNC
//! password set over QMP.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use vnc_console::rfb::{keysym, RfbError, Version};
use vnc_console::{ClientConfig, Console, ConsoleError};

struct Qemu {
    _child: Child,
    _dir: tempfile::TempDir,
    qmp: BufReader<UnixStream>,
    addr: String,
}

impl Qemu {
    async fn start(password: Option<&str>) -> Qemu {
        init();
        let bin = ensure_apt("qemu-system-x86_64", "qemu-system-x86");
        let dir = tempfile::tempdir().unwrap();
        let qmp_path: PathBuf = dir.path().join("qmp.sock");
        let vnc = match password {
            Some(_) => "127.0.0.1:0,to=500,password=on",
            None => "127.0.0.1:0,to=500",
        };
        let child = Command::new(bin)
            .args(["-name", "console-test", "-machine", "accel=tcg", "-m", "64"])
            .args([
                "-nodefaults",
                "-vga",
                "std",
                "-display",
                "none",
                "-vnc",
                vnc,
            ])
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qmp_path.display()))
            .kill_on_drop(true)
            .spawn()
            .expect("qemu starts");
        let mut sock = None;
        for _ in 0..200 {
            if let Ok(s) = UnixStream::connect(&qmp_path).await {
                sock = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut qemu = Qemu {
            _child: child,
            _dir: dir,
            qmp: BufReader::new(sock.expect("qemu's QMP socket appears")),
            addr: String::new(),
        };
        qemu.read().await; // greeting
        qemu.cmd(json!({"execute": "qmp_capabilities"})).await;
        if let Some(p) = password {
            let r = qemu
                .cmd(json!({"execute": "set_password", "arguments": {"protocol": "vnc", "password": p}}))
                .await;
            assert!(r.get("return").is_some(), "set_password: {r}");
        }
        let vnc = qemu.cmd(json!({"execute": "query-vnc"})).await;
        let port = vnc["return"]["service"]
            .as_str()
            .expect("VNC port")
            .to_string();
        qemu.addr = format!("127.0.0.1:{port}");
        qemu
    }

    async fn read(&mut self) -> Value {
        loop {
            let mut line = String::new();
            let n = self.qmp.read_line(&mut line).await.unwrap();
            assert!(n > 0, "qemu closed QMP");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get("event").is_none() {
                return v;
            }
        }
    }

    async fn cmd(&mut self, c: Value) -> Value {
        let mut text = c.to_string();
        text.push('\n');
        self.qmp.get_mut().write_all(text.as_bytes()).await.unwrap();
        self.read().await
    }

    /// VNC clients qemu currently has.
    async fn clients(&mut self) -> usize {
        let v = self.cmd(json!({"execute": "query-vnc"})).await;
        v["return"]["clients"].as_array().map_or(0, Vec::len)
    }
}

fn with_password(p: Option<&str>, max: Version) -> ClientConfig {
    ClientConfig {
        password: p.map(|p| p.as_bytes().to_vec()),
        max_version: max,
        ..ClientConfig::default()
    }
}

#[tokio::test]
async fn qemu_without_password_every_version() {
    let mut qemu = Qemu::start(None).await;
    for version in [Version::V3_8, Version::V3_7, Version::V3_3] {
        let console = Console::connect_tcp(&qemu.addr, with_password(None, version), deadline(20))
            .await
            .unwrap();
        let info = console.info().clone();
        assert_eq!(info.version, version);
        assert_eq!(info.security, 1);
        assert_eq!(info.name, "QEMU (console-test)");
        assert!(info.width >= 640 && info.height >= 400, "{info:?}");
        for ch in "root\n".chars() {
            let k = if ch == '\n' {
                keysym::RETURN
            } else {
                ch as u32
            };
            console.key(k, true).await.unwrap();
            console.key(k, false).await.unwrap();
        }
        // qemu still has us after taking the keys (it drops clients that break the protocol).
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(qemu.clients().await, 1, "{version:?}");
        console.key(keysym::SHIFT_L, true).await.unwrap();
        console.key(keysym::SHIFT_L, false).await.unwrap();
        console.close().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(qemu.clients().await, 0, "{version:?}: closed");
    }
}

#[tokio::test]
async fn qemu_with_a_password() {
    let mut qemu = Qemu::start(Some("s3cret")).await;
    let console = Console::connect_tcp(
        &qemu.addr,
        with_password(Some("s3cret"), Version::V3_8),
        deadline(20),
    )
    .await
    .unwrap();
    assert_eq!(console.info().security, 2);
    console.key(0x61, true).await.unwrap();
    console.key(0x61, false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(qemu.clients().await, 1);
    console.close().await.unwrap();

    let e = Console::connect_tcp(
        &qemu.addr,
        with_password(Some("wrong"), Version::V3_8),
        deadline(20),
    )
    .await
    .unwrap_err();
    let ConsoleError::Rfb(RfbError::AuthFailed {
        security: 2,
        reason: Some(reason),
    }) = &e
    else {
        panic!("{e:?}")
    };
    assert!(
        reason.to_lowercase().contains("authentication failed"),
        "{reason}"
    );
    assert!(e.to_string().contains("is the VNC password right?"), "{e}");
    // RFB 3.3 has no reason string, and still fails cleanly.
    let e = Console::connect_tcp(
        &qemu.addr,
        with_password(Some("wrong"), Version::V3_3),
        deadline(20),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            ConsoleError::Rfb(RfbError::AuthFailed { reason: None, .. })
        ),
        "{e:?}"
    );
    let e = Console::connect_tcp(&qemu.addr, with_password(None, Version::V3_8), deadline(20))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ConsoleError::Rfb(RfbError::PasswordRequired)),
        "{e:?}"
    );
}
