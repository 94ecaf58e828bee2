//! `boot_command` in whole builds against the in-process simulator, whose consoles record every
//! key: what is typed, when (boot_wait, the key interval, waits), cancellation while typing, and
//! consoles that fail. (tests/e2e_boot.rs does the same through real Packer.)

use std::time::{Duration, Instant};

use packer_rpc::CancellationToken;
use serde_json::{json, Value};

use super::*;

/// The `http://IP:PORT/` the build said the VM reaches its HTTP server at.
fn served_address(text: &str) -> (String, u16) {
    let url = text
        .split("the VM reaches it as http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no HTTP server address in:\n{text}"));
    let (ip, port) = url.rsplit_once(':').unwrap();
    (ip.to_string(), port.parse().unwrap())
}

/// The key events Packer's VNC driver sends for `command` (already rendered).
fn golden(command: &str) -> Vec<(u32, bool)> {
    let parsed = boot_command::parse(command).unwrap();
    boot_command::events(&parsed, Duration::ZERO)
        .filter_map(|e| match e {
            boot_command::Event::KeyDown(k) => Some((k, true)),
            boot_command::Event::KeyUp(k) => Some((k, false)),
            _ => None,
        })
        .collect()
}

/// The console record of the one VM the build made (kept by the simulator after deletion).
fn console_record(h: &Harness) -> Value {
    let consoles = h.state()["consoles"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(consoles.len(), 1, "{consoles:#?}");
    consoles[0].clone()
}

fn keys(record: &Value) -> Vec<(u32, bool)> {
    record["key_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                u32::try_from(k["keysym"].as_u64().unwrap()).unwrap(),
                k["down"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn at_ms(record: &Value) -> Vec<u64> {
    record["key_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["at_ms"].as_u64().unwrap())
        .collect()
}

/// A successful build: its one image made, its VM gone.
fn assert_built(h: &Harness) {
    assert!(h.vms().is_empty(), "{}", h.console.text());
    assert_eq!(h.new_images().len(), 1, "{}", h.console.text());
}

/// Waits until no console session is open any more (the simulator's end saw the close).
async fn wait_released(h: &Harness) -> Value {
    for _ in 0..500 {
        let record = console_record(h);
        if record["open"] == 0 {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the console was never released: {:#}", console_record(h));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_boot_command_is_typed_as_packers_vnc_driver_types_it() {
    let h = harness(sim_config()).await;
    let body = template(json!({
        "http_content": {"/ks.cfg": "text\n"},
        "boot_command": [
            "<esc><wait>e<down><end> inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg",
            " hostname={{ .Name }} Ab~|<leftCtrlOn>x<leftCtrlOff><f10><spacebar><enter>"
        ],
        "boot_key_interval": "1ms",
    }));
    h.build(body)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", h.console.text()));
    let text = h.console.text();
    let (ip, port) = served_address(&text);
    let rendered = format!(
        "<esc><wait>e<down><end> inst.ks=http://{ip}:{port}/ks.cfg hostname=pkr-test Ab~|\
         <leftCtrlOn>x<leftCtrlOff><f10><spacebar><enter>"
    );
    let record = wait_released(&h).await;
    assert_eq!(keys(&record), golden(&rendered), "{record:#}");
    assert_eq!(
        record["typed"],
        format!(
            "<esc>e<down><end> inst.ks=http://{ip}:{port}/ks.cfg hostname=pkr-test Ab~|\
             <leftCtrlOn>x<leftCtrlOff><f10> <enter>"
        )
    );
    // One connection, over the v4 token (tried first), closed.
    assert_eq!(record["connections"], 1);
    assert_eq!(record["connections_by_transport"]["v4-token"], 1);
    for line in [
        "Connecting to the console of VM 'pkr-test'...",
        "Typing the boot command...",
    ] {
        assert!(text.contains(line), "{line:?} missing:\n{text}");
    }
    assert_built(&h);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_wait_key_interval_and_waits_are_honoured() {
    let h = harness(sim_config()).await;
    let body = template(json!({
        "boot_command": ["abc<wait300ms>d"],
        "boot_wait": "1s",
        "boot_key_interval": "30ms",
    }));
    // Watch the simulator: when the VM appears, and when its console is first connected.
    let watcher = async {
        let (mut vm_seen, mut connected) = (None, None);
        while connected.is_none() {
            let vms = h.vms();
            if vm_seen.is_none() && !vms.is_empty() {
                vm_seen = Some(Instant::now());
            }
            if vms.iter().any(|v| v["console"]["connections"] != 0) {
                connected = Some(Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (vm_seen.unwrap(), connected.unwrap())
    };
    let (built, (vm_seen, connected)) = tokio::join!(h.build(body), watcher);
    built.unwrap_or_else(|e| panic!("{e}\n{}", h.console.text()));
    // The VM exists before boot_wait starts; the console is reached after it. Polling every
    // 5 ms can see the VM up to 5 ms late.
    let waited = connected - vm_seen;
    assert!(waited >= Duration::from_millis(995), "{waited:?}");
    assert!(h.console.text().contains("Waiting 1s for boot..."));

    let record = wait_released(&h).await;
    assert_eq!(record["typed"], "abcd");
    let t = at_ms(&record);
    assert_eq!(t.len(), 8);
    // a↓ a↑ b↓ b↑ c↓ c↑ (wait) d↓ d↑, a 30 ms pause after each: the simulator's arrival times
    // (whole milliseconds) can only be closer together than the sends by rounding.
    let gaps: Vec<u64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    let total = t[7] - t[0];
    assert!(total >= 7 * 30 + 300 - 2, "{gaps:?}");
    assert!(
        gaps[5] >= 30 + 300 - 2,
        "the wait was not honoured: {gaps:?}"
    );
    assert_built(&h);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_while_typing_releases_held_keys_and_cleans_up() {
    let h = harness(sim_config()).await;
    let body = template(json!({
        "boot_command": [format!("<leftCtrlOn><leftShiftOn>{}<leftShiftOff><leftCtrlOff>", "x".repeat(500))],
        "boot_key_interval": "10ms",
    }));
    let cancel = CancellationToken::new();
    let watcher = async {
        // Cancel once a few keys have arrived: both modifiers are held then.
        loop {
            let typed = h.state()["consoles"][0]["key_events"]
                .as_array()
                .map_or(0, Vec::len);
            if typed >= 10 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.cancel();
    };
    let (built, ()) = tokio::join!(h.build_with(body, "", cancel.clone()), watcher);
    let e = built.unwrap_err();
    assert_eq!(e, "build cancelled");
    let record = wait_released(&h).await;
    let k = keys(&record);
    assert!(
        k.len() < 1000,
        "typing went on after the cancel: {} events",
        k.len()
    );
    // Every key pressed was released, the held modifiers included, last.
    for (keysym, _) in &k {
        let downs = k.iter().filter(|e| **e == (*keysym, true)).count();
        let ups = k.iter().filter(|e| **e == (*keysym, false)).count();
        assert_eq!(downs, ups, "keysym {keysym:#x} left pressed: {k:?}");
    }
    let tail: Vec<(u32, bool)> = k.iter().rev().take(2).copied().collect();
    assert!(
        tail.contains(&(0xffe3, false)) && tail.contains(&(0xffe1, false)),
        "{tail:?}"
    );
    assert!(h.console.text().contains("Build cancelled: cleaning up"));
    h.assert_nothing_leaked();
}

/// A build whose console fails with `action` on every attempt.
async fn console_fault_build(action: Value) -> (String, Duration, Harness) {
    let h = harness(sim_config()).await;
    h.sim
        .add_faults(fault(
            json!({"match": {"path": "/vnc/"}, "action": action, "count": 0}),
        ))
        .unwrap();
    let started = Instant::now();
    let e = h
        .build(template(json!({"boot_command": ["<enter>"]})))
        .await
        .unwrap_err();
    (e, started.elapsed(), h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_closing_mid_handshake_fails_the_build_naming_it() {
    let (e, took, h) = console_fault_build(json!({"type": "console_close_mid_handshake"})).await;
    assert!(
        e.starts_with(
            "typing the boot command: could not open the VM console; v4 token websocket at ws://"
        ),
        "{e}"
    );
    assert!(e.contains("then v3 websocket at ws://"), "{e}");
    assert!(e.contains("closed during the RFB version exchange"), "{e}");
    // A hang guard, not a performance claim: nothing here waits for a timeout.
    assert!(took < Duration::from_secs(30), "{took:?}");
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_never_answers_fails_the_build_after_the_exchange_limit() {
    let (e, took, h) = console_fault_build(json!({"type": "console_hang"})).await;
    assert_eq!(
        e.matches("websocket upgrade: no answer within 10.0 s")
            .count(),
        2,
        "{e}"
    );
    assert!(
        e.contains("v4 token websocket at ws://") && e.contains("v3 websocket at ws://"),
        "{e}"
    );
    // Two transports of 10 s each, far from the minute the build gives the console.
    assert!(took < Duration::from_secs(45), "{took:?}");
    h.assert_nothing_leaked();
}
