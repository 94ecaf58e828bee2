//! A Packer that stops reading, against the real binary: after the plugin handshake, a raw yamux
//! client (frames built here byte by byte) opens broker stream 0 and pipelines 20,000
//! `Builder.ConfigSpec` calls without ever granting window credit. The plugin must stop consuming
//! requests once its replies cannot be written, so its resident memory (VmRSS) stays bounded.
//! Then the client turns into a slow reader that does grant credit: every reply must arrive, in
//! call order, and the plugin must exit when the connection closes.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::plugin_binary;
use packer_rpc::codec::{self, RequestHeader, ValueDecoder, NIL_BODY};

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const REQUESTS: u64 = 20_000;
/// The plugin's resident memory must stay below this while the client takes no replies.
const RSS_BOUND_KIB: u64 = 64 * 1024;
/// The stream Packer opens for broker id 0 (the first odd id).
const ROOT: u32 = 1;
const INITIAL_WINDOW: u64 = 256 * 1024;
const MAX_FRAME: usize = 16 * 1024;
/// The plugin counts as settled (stalled, or done) once it has used almost no CPU for this long;
/// a busy or slow machine only makes the test wait longer, it cannot make it conclude early.
const SETTLE: Duration = Duration::from_secs(1);
/// CPU time (clock ticks, normally 10 ms each) a settled plugin may still use per [`SETTLE`].
const IDLE_TICKS: u64 = 3;
/// Hang guard for the whole exchange, never a performance assertion.
const HANG_GUARD: Duration = Duration::from_secs(300);

const DATA: u8 = 0;
const WINDOW_UPDATE: u8 = 1;
const PING: u8 = 2;
const GO_AWAY: u8 = 3;
const SYN: u16 = 1;
const ACK: u16 = 2;
const FIN: u16 = 4;
const RST: u16 = 8;

fn header(ty: u8, flags: u16, id: u32, len: u32) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[1] = ty;
    h[2..4].copy_from_slice(&flags.to_be_bytes());
    h[4..8].copy_from_slice(&id.to_be_bytes());
    h[8..12].copy_from_slice(&len.to_be_bytes());
    h
}

/// The plugin process; killed if the test ends early.
struct Plugin {
    child: Child,
    stderr: tempfile::NamedTempFile,
}

impl Plugin {
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("plugin /proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .expect("VmRSS line");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// User plus system CPU time so far, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("plugin /proc stat");
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    }

    /// Whether the plugin used (almost) no CPU during the next [`SETTLE`].
    fn idle_for_a_while(&self) -> bool {
        let before = self.cpu_ticks();
        std::thread::sleep(SETTLE);
        self.cpu_ticks() - before <= IDLE_TICKS
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the frame reader learned about the root stream.
#[derive(Default)]
struct Root {
    /// Bytes we may still send.
    send_window: u64,
    /// Received and not yet taken.
    inbox: Vec<u8>,
    received: u64,
    uncredited: u64,
    closed: Option<String>,
}

struct Shared {
    root: Mutex<Root>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Root> {
        self.root.lock().unwrap()
    }
}

/// Writes frames; shared by the test and the reader (ping answers).
#[derive(Clone)]
struct Writer(Arc<Mutex<UnixStream>>);

impl Writer {
    fn send(&self, bytes: &[u8]) {
        self.0.lock().unwrap().write_all(bytes).unwrap();
    }
}

fn read_frames(mut rd: UnixStream, wr: Writer, shared: Arc<Shared>) {
    let end = loop {
        let mut h = [0u8; 12];
        if let Err(e) = rd.read_exact(&mut h) {
            break format!("connection ended: {e}");
        }
        let ty = h[1];
        let flags = u16::from_be_bytes([h[2], h[3]]);
        let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let len = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
        let mut payload = vec![0u8; if ty == DATA { len as usize } else { 0 }];
        if let Err(e) = rd.read_exact(&mut payload) {
            break format!("connection ended inside a frame: {e}");
        }
        match ty {
            PING if flags & SYN != 0 => wr.send(&header(PING, ACK, 0, len)),
            GO_AWAY => break format!("plugin sent GoAway({len})"),
            DATA | WINDOW_UPDATE if id == ROOT => {
                let mut root = shared.lock();
                if flags & (RST | FIN) != 0 {
                    root.closed = Some(format!("root stream flags {flags:#x}"));
                }
                if ty == WINDOW_UPDATE {
                    root.send_window += u64::from(len);
                } else {
                    root.inbox.extend_from_slice(&payload);
                    root.received += u64::from(len);
                    root.uncredited += u64::from(len);
                }
                drop(root);
                shared.changed.notify_all();
            }
            _ => {}
        }
    };
    shared.lock().closed.get_or_insert(end);
    shared.changed.notify_all();
}

struct Client {
    wr: Writer,
    shared: Arc<Shared>,
}

impl Client {
    /// Sends as much of `bytes` as the root window allows now; returns how many went out.
    fn send_within_window(&self, bytes: &[u8]) -> usize {
        let n = {
            let mut root = self.shared.lock();
            let n = bytes.len().min(root.send_window as usize);
            root.send_window -= n as u64;
            n
        };
        let mut out = Vec::with_capacity(n + (n / MAX_FRAME + 1) * 12);
        for chunk in bytes[..n].chunks(MAX_FRAME) {
            out.extend_from_slice(&header(DATA, 0, ROOT, chunk.len() as u32));
            out.extend_from_slice(chunk);
        }
        self.wr.send(&out);
        n
    }

    /// Waits until `cond` holds or `timeout` passes; returns whether it holds.
    fn wait(&self, timeout: Duration, cond: impl Fn(&Root) -> bool) -> bool {
        let root = self.shared.lock();
        let (root, _) = self
            .shared
            .changed
            .wait_timeout_while(root, timeout, |r| !cond(r) && r.closed.is_none())
            .unwrap();
        cond(&root)
    }

    /// Takes what arrived and, with `credit`, grants the window back for all of it.
    fn take(&self, credit: bool) -> Vec<u8> {
        let (bytes, delta) = {
            let mut root = self.shared.lock();
            let delta = if credit {
                std::mem::take(&mut root.uncredited)
            } else {
                0
            };
            (std::mem::take(&mut root.inbox), delta)
        };
        if delta > 0 {
            self.wr.send(&header(WINDOW_UPDATE, 0, ROOT, delta as u32));
        }
        bytes
    }

    fn closed(&self) -> Option<String> {
        self.shared.lock().closed.clone()
    }
}

/// Starts the plugin as Packer does and connects to the socket its handshake line names.
fn start_plugin() -> (Plugin, UnixStream) {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new(plugin_binary())
        .args(["start", "builder", "nutanix"])
        .env("PACKER_PLUGIN_MAGIC_COOKIE", COOKIE)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap();
    let mut plugin = Plugin { child, stderr };
    let mut line = String::new();
    BufReader::new(plugin.child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields[..3], ["5", "0", "unix"], "handshake line {line:?}");
    let conn = UnixStream::connect(fields[3]).unwrap();
    (plugin, conn)
}

fn config_spec_requests() -> Vec<u8> {
    let mut all = Vec::new();
    for seq in 0..REQUESTS {
        let h = RequestHeader {
            service_method: "Builder.ConfigSpec".into(),
            seq,
        };
        all.extend_from_slice(&codec::encode_request(&h, NIL_BODY));
    }
    all
}

/// Parses replies as they arrive and checks they come in call order with a spec each.
#[derive(Default)]
struct Replies {
    dec: ValueDecoder,
    header: Option<codec::ResponseHeader>,
    count: u64,
}

impl Replies {
    fn absorb(&mut self, bytes: &[u8]) {
        self.dec.feed(bytes);
        while let Some(v) = self.dec.next_value().unwrap() {
            match self.header.take() {
                None => self.header = Some(codec::decode_response_header(&v).unwrap()),
                Some(h) => {
                    assert_eq!(h.seq, self.count, "replies out of call order");
                    assert_eq!(h.error, "", "ConfigSpec {} failed", h.seq);
                    let spec = v
                        .as_map()
                        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("ConfigSpec")))
                        .and_then(|(_, s)| s.as_slice())
                        .map_or(0, <[u8]>::len);
                    assert!(spec > 1000, "reply {} carries no spec: {v:?}", h.seq);
                    self.count += 1;
                }
            }
        }
    }
}

/// Waits until the plugin is idle; returns its VmRSS then (the test reads it once settled, as
/// memory only grows while it works on the calls it has read).
fn settled_rss(plugin: &Plugin) -> u64 {
    let start = Instant::now();
    while !plugin.idle_for_a_while() {
        assert!(start.elapsed() < HANG_GUARD, "the plugin never went idle");
    }
    plugin.rss_kib()
}

#[test]
fn a_client_that_takes_no_replies_cannot_grow_the_plugin() {
    let (plugin, conn) = start_plugin();
    let wr = Writer(Arc::new(Mutex::new(conn.try_clone().unwrap())));
    let shared = Arc::new(Shared {
        root: Mutex::new(Root {
            send_window: INITIAL_WINDOW,
            ..Root::default()
        }),
        changed: Condvar::new(),
    });
    std::thread::spawn({
        let (wr, shared) = (wr.clone(), shared.clone());
        move || read_frames(conn, wr, shared)
    });
    let client = Client { wr, shared };

    // Broker stream 0: open, name it, expect the id echoed (docs/design/plugin-protocol.md, 'The
    // stream broker').
    client.wr.send(&header(WINDOW_UPDATE, SYN, ROOT, 0));
    assert_eq!(client.send_within_window(&0u32.to_le_bytes()), 4);
    assert!(
        client.wait(HANG_GUARD, |r| r.inbox.len() >= 4),
        "no broker ack: {:?}\n{}",
        client.closed(),
        plugin.log()
    );
    assert_eq!(client.take(false), [0, 0, 0, 0]);
    let baseline = plugin.rss_kib();

    // Pipeline every call, taking credit only as the plugin grants it, never granting any.
    let reqs = config_spec_requests();
    let mut sent = 0;
    let mut peak = baseline;
    let started = Instant::now();
    while sent < reqs.len() && started.elapsed() < HANG_GUARD {
        peak = peak.max(plugin.rss_kib());
        sent += client.send_within_window(&reqs[sent..]);
        let stalled = !client.wait(SETTLE, |r| r.send_window > 0)
            && plugin.idle_for_a_while()
            && client.shared.lock().send_window == 0;
        if stalled {
            break; // no credit, and the plugin idle: it stopped reading
        }
        assert!(client.closed().is_none(), "{:?}", client.closed());
    }
    let peak = peak.max(settled_rss(&plugin));
    let received = client.shared.lock().received;
    eprintln!(
        "plugin VmRSS: {baseline} KiB after the handshake, {peak} KiB at most with no credit \
         (bound {RSS_BOUND_KIB} KiB); {sent} of {} request bytes sent, {received} reply bytes \
         received",
        reqs.len()
    );
    assert!(
        peak < RSS_BOUND_KIB,
        "the plugin grew to {peak} KiB while its replies could not be written"
    );
    assert!(
        sent < reqs.len(),
        "the plugin kept reading requests although no reply could be written"
    );

    // Now a slow reader that does grant credit: every reply, in order.
    let mut replies = Replies::default();
    let drain_started = Instant::now();
    while replies.count < REQUESTS {
        assert!(
            drain_started.elapsed() < HANG_GUARD,
            "hang guard: {} of {REQUESTS} replies\n{}",
            replies.count,
            plugin.log()
        );
        replies.absorb(&client.take(true));
        if sent < reqs.len() {
            sent += client.send_within_window(&reqs[sent..]);
        }
        std::thread::sleep(Duration::from_millis(1)); // a slow consumer
        client.wait(SETTLE, |r| !r.inbox.is_empty());
        assert!(
            client.closed().is_none(),
            "{:?}\n{}",
            client.closed(),
            plugin.log()
        );
    }
    assert_eq!(sent, reqs.len());

    // Packer hangs up; the plugin exits on its own.
    let _ = client
        .wr
        .0
        .lock()
        .unwrap()
        .shutdown(std::net::Shutdown::Both);
    let mut plugin = plugin;
    let deadline = Instant::now() + HANG_GUARD;
    let status = loop {
        if let Some(status) = plugin.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "plugin did not exit after hang-up"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "plugin exit {status}\n{}", plugin.log());
}
