//! Our communicator against our WinRM test server (crates/winrm-sim): commands, exit codes,
//! streaming, transfers, restarts and every kind of bad input, over Basic/HTTP, NTLM/HTTP and
//! Basic/HTTPS. The server itself is proved against Packer's own Go client in tests/winrm_packer.rs
//! of the plugin.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWrite;
use winrm_communicator::{
    powershell, CancellationToken, FileInfo, RemoteCommand, WinRmCommunicator, WinRmConfig,
    WinRmError, CMD_DISCONNECT,
};
use winrm_sim::{Fault, FaultKind, SimConfig, SimHandle};

const USER: &str = "Administrator";
const PASSWORD: &str = "Sim-Pass-1!";

#[derive(Clone, Copy, Debug)]
enum Mode {
    BasicHttp,
    NtlmHttp,
    BasicHttps,
}

async fn sim() -> SimHandle {
    winrm_sim::start(SimConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        tls_listen: Some("127.0.0.1:0".parse().unwrap()),
        username: USER.into(),
        password: PASSWORD.into(),
        restart_downtime: Duration::from_millis(1500),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn config(sim: &SimHandle, mode: Mode) -> WinRmConfig {
    let https = matches!(mode, Mode::BasicHttps);
    let addr = if https { sim.https_addr } else { sim.http_addr }.unwrap();
    WinRmConfig {
        host: addr.ip().to_string(),
        port: addr.port(),
        username: USER.into(),
        password: PASSWORD.into(),
        use_ssl: https,
        insecure: https,
        use_ntlm: matches!(mode, Mode::NtlmHttp),
        no_proxy: true,
        timeout: Duration::from_secs(20),
        retry_interval: Duration::from_millis(200),
        ..WinRmConfig::default()
    }
}

/// A writer collecting into a shared buffer.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl AsyncWrite for Buf {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(data);
        std::task::Poll::Ready(Ok(data.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

async fn start(comm: &WinRmCommunicator, line: &str) -> (i64, String, String) {
    let (out, err) = (Buf::default(), Buf::default());
    let rx = comm
        .start(RemoteCommand {
            command: line.into(),
            stdin: None,
            stdout: Some(Box::new(out.clone())),
            stderr: Some(Box::new(err.clone())),
        })
        .await
        .unwrap();
    let code = tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .unwrap()
        .unwrap();
    (code, out.text(), err.text())
}

fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in &mut v {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
    v
}

async fn everything(mode: Mode) {
    let sim = sim().await;
    let comm = WinRmCommunicator::connect(config(&sim, mode), CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{mode:?}: {e}"));

    // cmd and PowerShell, exit codes, stderr.
    let (code, out, _) = start(&comm, "echo hello").await;
    assert_eq!((code, out.as_str()), (0, "hello\r\n"), "{mode:?}");
    assert_eq!(start(&comm, "cmd /c exit 17").await.0, 17);
    let (code, out, err) = start(
        &comm,
        &powershell::encoded_command("Write-Output \"from ps\"; Write-Error 'oops'; exit 3"),
    )
    .await;
    assert_eq!(code, 3);
    assert_eq!(out, "from ps\r\n");
    assert!(err.contains("oops"), "{err}");

    // A 3 MiB upload arrives whole; it comes back the same way.
    let payload = random(3 * 1024 * 1024 + 17);
    let n = comm
        .upload(
            "C:/Windows/Temp/payload.bin",
            Box::new(std::io::Cursor::new(payload.clone())),
            None,
        )
        .await
        .unwrap();
    assert_eq!(n, payload.len() as u64);
    let stored = sim.file("C:\\Windows\\Temp\\payload.bin").unwrap();
    assert_eq!(
        Sha256::digest(&stored),
        Sha256::digest(&payload),
        "{mode:?}"
    );
    let back = Buf::default();
    let m = comm
        .download("C:\\Windows\\Temp\\payload.bin", Box::new(back.clone()))
        .await
        .unwrap();
    assert_eq!(m, payload.len() as u64);
    assert_eq!(
        Sha256::digest(&*back.0.lock().unwrap()),
        Sha256::digest(&payload)
    );

    // A destination ending in a backslash takes the source's name; an empty file is a file.
    let info = FileInfo {
        name: "empty.txt".into(),
        size: 0,
    };
    comm.upload(
        "C:\\data\\",
        Box::new(std::io::Cursor::new(Vec::new())),
        Some(&info),
    )
    .await
    .unwrap();
    assert_eq!(sim.file("C:\\data\\empty.txt").unwrap(), Vec::<u8>::new());
    let err = comm
        .upload(
            "C:\\data\\",
            Box::new(std::io::Cursor::new(Vec::new())),
            None,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("basename"), "{err}");

    // Directories: with and without a trailing slash, like Packer.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tree/sub")).unwrap();
    std::fs::write(dir.path().join("tree/a.txt"), b"A").unwrap();
    std::fs::write(dir.path().join("tree/sub/b.txt"), b"BB").unwrap();
    let src = dir.path().join("tree");
    comm.upload_dir("C:\\dst", src.to_str().unwrap(), &[])
        .await
        .unwrap();
    assert_eq!(sim.file("C:\\dst\\tree\\sub\\b.txt").unwrap(), b"BB");
    comm.upload_dir("C:\\flat", &format!("{}/", src.display()), &[])
        .await
        .unwrap();
    assert_eq!(sim.file("C:\\flat\\a.txt").unwrap(), b"A");

    // An uploaded script runs with its exit code (the powershell provisioner's shape).
    comm.upload(
        "c:/Windows/Temp/script-1.ps1",
        Box::new(std::io::Cursor::new(
            b"Write-Output \"env=$env:FOO\"\nexit 17\n".to_vec(),
        )),
        None,
    )
    .await
    .unwrap();
    let (code, out, _) = start(
        &comm,
        "powershell -executionpolicy bypass \"& { $env:FOO=\"bar\"; &'c:/Windows/Temp/script-1.ps1'; exit $LastExitCode }\"",
    )
    .await;
    assert_eq!((code, out.as_str()), (17, "env=bar\r\n"));

    // Many at once, each in its own shell.
    let mut all = Vec::new();
    for i in 0..6 {
        let comm = &comm;
        all.push(async move { start(comm, &format!("echo n{i} && exit /b {i}")).await });
    }
    for (i, (code, out, _)) in futures_join(all).await.into_iter().enumerate() {
        assert_eq!((code, out), (i as i64, format!("n{i}\r\n")));
    }

    // Every shell was deleted and every command terminated.
    assert_eq!(sim.open_shells(), 0, "{mode:?}: shells left open");
    let state = sim.state_json();
    let counters = &state["counters"];
    assert_eq!(counters["Create"], counters["Delete"], "{counters}");
    assert_eq!(counters["Command"], counters["Signal"], "{counters}");
}

async fn futures_join<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let handles: Vec<_> = fs.into_iter().map(Box::pin).collect();
    // Drive them concurrently.
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for r in results {
        out.push(r.unwrap());
    }
    out
}

#[tokio::test]
async fn basic_over_http() {
    everything(Mode::BasicHttp).await;
}

#[tokio::test]
async fn ntlm_over_http() {
    everything(Mode::NtlmHttp).await;
}

#[tokio::test]
async fn basic_over_https() {
    everything(Mode::BasicHttps).await;
}

#[tokio::test]
async fn https_without_insecure_refuses_the_unknown_ca() {
    let sim = sim().await;
    let mut cfg = config(&sim, Mode::BasicHttps);
    cfg.insecure = false;
    let comm = WinRmCommunicator::new(cfg).unwrap();
    let err = comm.run("echo x").await.unwrap_err();
    assert!(matches!(err, WinRmError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test]
async fn a_command_outliving_the_receive_timeout_still_finishes() {
    let sim = sim().await;
    let mut cfg = config(&sim, Mode::BasicHttp);
    cfg.operation_timeout = Duration::from_secs(1);
    let comm = WinRmCommunicator::new(cfg).unwrap();
    let (code, out, _) = start(
        &comm,
        &powershell::encoded_command(
            "Write-Output before; Start-Sleep -Seconds 3; Write-Output after; exit 5",
        ),
    )
    .await;
    assert_eq!(code, 5);
    assert_eq!(out, "before\r\nafter\r\n");
    assert!(
        sim.state_json()["counters"]["receive_timeouts"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn wrong_password_is_a_clear_401_for_both_schemes() {
    let sim = sim().await;
    for mode in [Mode::BasicHttp, Mode::NtlmHttp] {
        let mut cfg = config(&sim, mode);
        cfg.password = "wrong".into();
        let comm = WinRmCommunicator::new(cfg.clone()).unwrap();
        let err = comm.run("echo x").await.unwrap_err();
        assert!(
            matches!(err, WinRmError::Unauthorized { .. }),
            "{mode:?}: {err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("401") && text.contains("Administrator"),
            "{text}"
        );
        assert!(!text.contains("wrong"), "the password leaked: {text}");
        // connect retries until winrm_timeout, then names the last error.
        cfg.timeout = Duration::from_secs(1);
        let err = WinRmCommunicator::connect(cfg, CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(err, WinRmError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("401"), "{err}");
    }
}

#[tokio::test]
async fn garbage_ntlm_challenge_is_an_error() {
    let sim = sim().await;
    sim.inject(Fault {
        on: None,
        command_contains: None,
        times: 1,
        kind: FaultKind::GarbageNtlmChallenge,
    });
    let comm = WinRmCommunicator::new(config(&sim, Mode::NtlmHttp)).unwrap();
    let err = comm.run("echo x").await.unwrap_err();
    assert!(matches!(err, WinRmError::Ntlm { .. }), "{err}");
    assert!(err.to_string().contains("CHALLENGE"), "{err}");
    // The next handshake is fine.
    assert_eq!(comm.run("echo x").await.unwrap().0, 0);
}

#[tokio::test]
async fn a_server_dropping_mid_command_reports_a_disconnect() {
    let sim = sim().await;
    let comm = WinRmCommunicator::new(config(&sim, Mode::BasicHttp)).unwrap();
    sim.inject(Fault {
        on: Some("Receive".into()),
        command_contains: Some("long-one".into()),
        times: 5,
        kind: FaultKind::DropConnection,
    });
    let (code, _, _) = start(&comm, "echo long-one").await;
    assert_eq!(code, CMD_DISCONNECT);
    let err = comm.run("echo long-one").await.unwrap_err();
    assert!(
        matches!(
            err,
            WinRmError::Http {
                operation: "Receive",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_soap_fault_is_an_error_with_its_text() {
    let sim = sim().await;
    let comm = WinRmCommunicator::new(config(&sim, Mode::BasicHttp)).unwrap();
    sim.inject(Fault {
        on: Some("Command".into()),
        command_contains: None,
        times: 1,
        kind: FaultKind::SoapFault {
            code: 2_150_858_770,
            message: "The client cannot connect (simulated).".into(),
        },
    });
    let err = comm.run("echo x").await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            WinRmError::Reply {
                operation: "Command",
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("simulated") && text.contains("2150858770"),
        "{text}"
    );
    // The failed command's shell was deleted anyway.
    assert_eq!(sim.open_shells(), 0);
}

#[tokio::test]
async fn a_10_mib_reply_is_refused() {
    let sim = sim().await;
    let comm = WinRmCommunicator::new(config(&sim, Mode::BasicHttp)).unwrap();
    sim.inject(Fault {
        on: Some("Create".into()),
        command_contains: None,
        times: 1,
        kind: FaultKind::HugeReply { bytes: 10 << 20 },
    });
    let err = comm.run("echo x").await.unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[tokio::test]
async fn restart_drops_the_machine_and_commands_work_after() {
    let sim = sim().await;
    let comm = WinRmCommunicator::new(config(&sim, Mode::BasicHttp)).unwrap();
    assert_eq!(
        start(&comm, "shutdown /r /f /t 0 /c \"packer restart\"")
            .await
            .0,
        0
    );
    // Packer's probe while the restart is pending: "shutdown in progress".
    assert_eq!(
        start(&comm, "shutdown /r /f /t 60 /c \"packer restart test\"")
            .await
            .0,
        1115
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        comm.run("echo down?").await.is_err(),
        "the machine should be down"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok((0, out, _)) = comm
            .run(&powershell::encoded_command(
                "echo (\"{0} restarted.\" -f [System.Net.Dns]::GetHostName())",
            ))
            .await
        {
            assert_eq!(String::from_utf8_lossy(&out), "WIN-SIM restarted.\r\n");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the machine never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sim.state_json()["restarts"], 1);
}

#[tokio::test]
async fn connect_waits_for_the_machine_and_honours_cancel() {
    // Nothing listens on this port yet: connect keeps trying until the server appears.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let cfg = WinRmConfig {
        host: "127.0.0.1".into(),
        port: addr.port(),
        username: USER.into(),
        password: PASSWORD.into(),
        no_proxy: true,
        timeout: Duration::from_secs(20),
        retry_interval: Duration::from_millis(200),
        ..WinRmConfig::default()
    };
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        c2.cancel();
    });
    let err = WinRmCommunicator::connect(cfg.clone(), cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, WinRmError::Cancelled), "{err}");
    let connecting = tokio::spawn(WinRmCommunicator::connect(cfg, CancellationToken::new()));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let _sim = winrm_sim::start(SimConfig {
        listen: Some(addr),
        username: USER.into(),
        password: PASSWORD.into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let comm = connecting.await.unwrap().unwrap();
    assert_eq!(comm.run("echo up").await.unwrap().0, 0);
}
