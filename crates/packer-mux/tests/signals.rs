//! `ignore_interrupts`: SIGINT and SIGTERM no longer kill us, while children still get the
//! default behaviour. Its own test binary, because it changes process-wide signal handling.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    unsafe_code
)]
#![cfg(unix)]

use std::os::unix::process::ExitStatusExt;

#[test]
fn interrupts_are_ignored_but_not_inherited() {
    packer_mux::handshake::ignore_interrupts().unwrap();
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // Without the handler the default action would terminate this test process here.
        assert_eq!(unsafe { libc::raise(sig) }, 0);
    }
    // A child (exec resets caught signals to default) still dies from SIGINT.
    let status = std::process::Command::new("sh")
        .args(["-c", "kill -INT $$; sleep 5"])
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
}
