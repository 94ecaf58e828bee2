//! The plugin listener and the handshake line. One test, because it changes process-wide
//! environment variables (TMPDIR and the magic cookie).

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg(unix)]

use std::path::Path;

use packer_mux::handshake::{
    cookie_present, Connection, PluginListener, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn listener_line_tmpdir_accept_and_cookie() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("TMPDIR", dir.path());

    let listener = PluginListener::bind().await.unwrap();
    let other = PluginListener::bind().await.unwrap();
    let line = listener.handshake_line();
    assert_ne!(
        line,
        other.handshake_line(),
        "every listener gets a fresh path"
    );

    // "5|0|unix|<TMPDIR>/packer-plugin<digits>", no newline.
    let parts: Vec<&str> = line.split('|').collect();
    assert_eq!(parts.len(), 4, "{line}");
    assert_eq!(&parts[..3], &["5", "0", "unix"]);
    let path = Path::new(parts[3]);
    assert_eq!(path.parent().unwrap(), dir.path());
    let name = path.file_name().unwrap().to_str().unwrap();
    let digits = name.strip_prefix("packer-plugin").expect(name);
    assert!(
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    assert!(!line.contains('\n'));
    assert!(path.exists());

    let dial_path = path.to_path_buf();
    let packer = tokio::spawn(async move {
        let mut c = tokio::net::UnixStream::connect(dial_path).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut back = [0u8; 2];
        c.read_exact(&mut back).await.unwrap();
        back
    });
    let mut conn = listener.accept_one().await.unwrap();
    assert!(matches!(conn, Connection::Unix(_)));
    assert!(!path.exists(), "accept_one removes the socket file");
    let mut got = [0u8; 5];
    conn.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"hello");
    conn.write_all(b"ok").await.unwrap();
    assert_eq!(&packer.await.unwrap(), b"ok");

    // A listener dropped without accepting also removes its file.
    let other_path = other
        .handshake_line()
        .rsplit('|')
        .next()
        .unwrap()
        .to_string();
    assert!(Path::new(&other_path).exists());
    drop(other);
    assert!(!Path::new(&other_path).exists());

    // The magic cookie.
    std::env::remove_var(MAGIC_COOKIE_KEY);
    assert!(!cookie_present());
    std::env::set_var(MAGIC_COOKIE_KEY, "not-the-cookie");
    assert!(!cookie_present());
    std::env::set_var(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE);
    assert!(cookie_present());
}
