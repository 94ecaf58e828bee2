//! Remote commands and connection life cycle against a real OpenSSH server.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{run, run_with_stdin, Pattern, Shared};
use ssh_communicator::testing::{self, Sshd};
use ssh_communicator::{
    CancellationToken, RemoteCommand, SshCommunicator, SshConfig, SshError, CMD_DISCONNECT,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn connect(cfg: SshConfig) -> SshCommunicator {
    SshCommunicator::connect(cfg, CancellationToken::new())
        .await
        .unwrap()
}

#[tokio::test]
async fn exit_codes_and_output_streams() {
    common::init_logs();
    let sshd = Sshd::start().unwrap();
    let comm = connect(sshd.config().unwrap()).await;
    for code in [0, 1, 255] {
        let out = run(
            &comm,
            &format!("echo out-{code}; echo err-{code} >&2; exit {code}"),
        )
        .await;
        assert_eq!(out.code, code);
        assert_eq!(out.stdout, format!("out-{code}\n"));
        assert_eq!(out.stderr, format!("err-{code}\n"));
    }
}

#[tokio::test]
async fn killed_by_a_signal_reports_128_plus_signal() {
    let sshd = Sshd::start().unwrap();
    let comm = connect(sshd.config().unwrap()).await;
    assert_eq!(run(&comm, "kill -TERM $$").await.code, 128 + 15);
    assert_eq!(run(&comm, "kill -KILL $$").await.code, 128 + 9);
}

#[tokio::test]
async fn stdin_is_piped_and_closed() {
    let sshd = Sshd::start().unwrap();
    let comm = connect(sshd.config().unwrap()).await;
    let len = 3 * 1024 * 1024 + 17;
    let out = run_with_stdin(&comm, "sha256sum", Some(Box::new(Pattern::new(7, len)))).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.split_whitespace().next(),
        Some(Pattern::sha256(7, len).as_str())
    );
    // No stdin: the command sees EOF at once instead of waiting forever.
    let out = run(&comm, "cat; echo done").await;
    assert_eq!(out.stdout, "done\n");
}

#[tokio::test]
async fn stdin_streams_interactively() {
    let sshd = Sshd::start().unwrap();
    let comm = connect(sshd.config().unwrap()).await;
    let (mut ours, theirs) = tokio::io::duplex(1024);
    let (stdout_r, stdout_w) = tokio::io::duplex(1024);
    let rx = comm
        .start(RemoteCommand {
            command: "while read line; do echo \"got $line\"; done".into(),
            stdin: Some(Box::new(theirs)),
            stdout: Some(Box::new(stdout_w)),
            stderr: None,
        })
        .await
        .unwrap();
    let mut reader = tokio::io::BufReader::new(stdout_r);
    ours.write_all(b"one\n").await.unwrap();
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut reader, &mut line)
        .await
        .unwrap();
    assert_eq!(line, "got one\n");
    ours.write_all(b"two\n").await.unwrap();
    drop(ours);
    let mut rest = String::new();
    reader.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "got two\n");
    assert_eq!(rx.await.unwrap(), 0);
}

#[tokio::test]
async fn pty_when_asked() {
    let sshd = Sshd::start().unwrap();
    let with = connect(SshConfig {
        pty: true,
        ..sshd.config().unwrap()
    })
    .await;
    let out = run(&with, "tty; echo to-stderr >&2").await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("/dev/pts/"), "{:?}", out.stdout);
    // A pty merges stderr into stdout.
    assert!(out.stdout.contains("to-stderr"), "{:?}", out.stdout);
    let without = connect(sshd.config().unwrap()).await;
    let out = run(&without, "tty").await;
    assert_ne!(out.code, 0);
    assert!(out.stdout.contains("not a tty"), "{:?}", out.stdout);
}

#[tokio::test]
async fn commands_run_concurrently_on_one_connection() {
    let sshd = Sshd::start().unwrap();
    let comm = connect(sshd.config().unwrap()).await;
    let (a, b, c) = tokio::join!(
        run(&comm, "sleep 0.3; echo a"),
        run(&comm, "sleep 0.2; echo b"),
        run(&comm, "echo c; exit 3")
    );
    assert_eq!(
        (a.stdout.as_str(), b.stdout.as_str(), c.stdout.as_str()),
        ("a\n", "b\n", "c\n")
    );
    assert_eq!(c.code, 3);
}

#[tokio::test]
async fn sshd_killed_mid_command_reports_disconnect() {
    common::init_logs();
    let mut sshd = Sshd::start().unwrap();
    let comm = connect(sshd.config().unwrap()).await;
    let out = Shared::default();
    let rx = comm
        .start(RemoteCommand {
            command: "echo started; sleep 60".into(),
            stdin: None,
            stdout: Some(out.writer()),
            stderr: None,
        })
        .await
        .unwrap();
    // Wait until the command really runs, then kill the server and its session processes.
    for _ in 0..500 {
        if out.text().contains("started") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(out.text().contains("started"));
    sshd.kill();
    let code = tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .expect("the exit status must arrive, not hang")
        .unwrap();
    assert_eq!(code, CMD_DISCONNECT);
}

/// A TCP relay that can freeze: it stops moving bytes without closing anything, like a
/// network that black-holes packets.
async fn freezable_relay(target: u16) -> (u16, tokio::sync::watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(("127.0.0.1", target))
                .await
                .unwrap();
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pipe(cr, sw, rx.clone()));
            tokio::spawn(pipe(sr, cw, rx.clone()));
        }
    });
    (port, tx)
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if *frozen.borrow() {
            // Swallow everything from now on, keep the sockets open.
            let _ = frozen.changed().await;
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_black_holed_connection_ends_through_keepalives() {
    common::init_logs();
    let sshd = Sshd::start().unwrap();
    let (port, freeze) = freezable_relay(sshd.port()).await;
    let cfg = SshConfig {
        port,
        keep_alive_interval: Some(Duration::from_millis(300)),
        ..sshd.config().unwrap()
    };
    let comm = connect(cfg).await;
    let out = Shared::default();
    let rx = comm
        .start(RemoteCommand {
            command: "echo started; sleep 60".into(),
            stdin: None,
            stdout: Some(out.writer()),
            stderr: None,
        })
        .await
        .unwrap();
    for _ in 0..500 {
        if out.text().contains("started") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    freeze.send(true).unwrap();
    let code = tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .expect("keep-alives must end a dead connection")
        .unwrap();
    assert_eq!(code, CMD_DISCONNECT);
}

#[tokio::test]
async fn read_write_timeout_ends_a_silent_connection() {
    let sshd = Sshd::start().unwrap();
    let (port, freeze) = freezable_relay(sshd.port()).await;
    let cfg = SshConfig {
        port,
        keep_alive_interval: None,
        read_write_timeout: Some(Duration::from_millis(500)),
        ..sshd.config().unwrap()
    };
    let comm = connect(cfg).await;
    let rx = comm
        .start(RemoteCommand {
            command: "sleep 60".into(),
            stdin: None,
            stdout: None,
            stderr: None,
        })
        .await
        .unwrap();
    freeze.send(true).unwrap();
    let code = tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code, CMD_DISCONNECT);
}

#[tokio::test]
async fn connect_retries_until_sshd_listens() {
    common::init_logs();
    let port = testing::free_port().unwrap();
    // Keys and config come from a first server we stop at once; the real one starts later on
    // `port` with the same authorized key.
    let template = Sshd::start().unwrap();
    let cfg = SshConfig {
        port,
        timeout: Duration::from_secs(60),
        ..template.config().unwrap()
    };
    let key_pub = std::fs::read_to_string(template.dir().join("id_ed25519.pub")).unwrap();
    let connecting = tokio::spawn(SshCommunicator::connect(cfg, CancellationToken::new()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !connecting.is_finished(),
        "nothing listens yet: still trying"
    );
    let late = tokio::task::spawn_blocking(move || {
        let s = Sshd::start_with(testing::SshdOptions {
            port: Some(port),
            ..Default::default()
        })
        .unwrap();
        s.authorize(&key_pub).unwrap();
        s
    })
    .await
    .unwrap();
    let comm = tokio::time::timeout(Duration::from_secs(60), connecting)
        .await
        .unwrap()
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}\n{}", late.log()));
    assert_eq!(run(&comm, "echo up").await.stdout, "up\n");
}

#[tokio::test]
async fn connect_gives_up_at_the_timeout() {
    let port = testing::free_port().unwrap();
    let sshd = Sshd::start().unwrap();
    let cfg = SshConfig {
        port,
        timeout: Duration::from_millis(800),
        ..sshd.config().unwrap()
    };
    let err = SshCommunicator::connect(cfg, CancellationToken::new())
        .await
        .unwrap_err();
    match &err {
        SshError::Timeout { last, .. } => assert!(last.contains("TCP connection"), "{err}"),
        other => panic!("expected a timeout, got {other}"),
    }
}

#[tokio::test]
async fn cancel_aborts_promptly() {
    let port = testing::free_port().unwrap();
    let sshd = Sshd::start().unwrap();
    let cfg = SshConfig {
        port,
        timeout: Duration::from_secs(3600),
        retry_interval: Duration::from_secs(3600),
        ..sshd.config().unwrap()
    };
    let cancel = CancellationToken::new();
    let task = tokio::spawn(SshCommunicator::connect(cfg, cancel.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("cancel must end connect")
        .unwrap();
    assert!(matches!(result, Err(SshError::Cancelled)));
}

#[tokio::test]
async fn reconnects_after_the_server_restarts() {
    let mut first = Sshd::start().unwrap();
    let port = first.port();
    let cfg = first.config().unwrap();
    let key_pub = std::fs::read_to_string(first.dir().join("id_ed25519.pub")).unwrap();
    let comm = connect(cfg).await;
    assert_eq!(run(&comm, "echo one").await.stdout, "one\n");
    first.kill();
    let second = Sshd::start_with(testing::SshdOptions {
        port: Some(port),
        ..Default::default()
    })
    .unwrap();
    second.authorize(&key_pub).unwrap();
    // The old connection is dead; opening a session reconnects once, as Go's newSession does.
    assert_eq!(run(&comm, "echo two").await.stdout, "two\n");
}

#[tokio::test]
async fn pause_before_connecting_connects_twice() {
    let sshd = Sshd::start().unwrap();
    let cfg = SshConfig {
        pause_before_connecting: Duration::from_millis(200),
        ..sshd.config().unwrap()
    };
    let comm = connect(cfg).await;
    assert_eq!(run(&comm, "echo ok").await.stdout, "ok\n");
    let accepted = sshd.log().matches("Accepted publickey").count();
    assert_eq!(accepted, 2, "{}", sshd.log());
}
