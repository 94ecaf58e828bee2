//! A Windows guest (sysprep guest customization): the link-local address it reports before
//! and beside its DHCP one, and the guest shutting itself down.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::inventory::defaults as d;
use crate::routes::{Kind, Route};

fn store() -> Store {
    Store::new(
        Inventory::default_inventory(),
        StoreConfig {
            task_duration: Duration::from_millis(1000),
            ip_delay: Duration::from_millis(500),
            vm_ip: Some("127.0.0.1".parse().unwrap()),
            refuse_deleting_images_in_use: false,
        },
        chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn create(s: &mut Store, sysprep: bool) -> String {
    let mut body = json!({
        "metadata": {"kind": "vm"},
        "spec": {
            "name": "win",
            "cluster_reference": {"kind": "cluster", "uuid": d::CLUSTER_1_UUID},
            "resources": {
                "power_state": "ON",
                "disk_list": [{"device_properties": {"device_type": "DISK"}, "disk_size_mib": 1024}],
                "nic_list": [{"subnet_reference": {"kind": "subnet", "uuid": d::SUBNET_DUP_1_UUID}}]
            }
        }
    });
    if sysprep {
        body["spec"]["resources"]["guest_customization"] = json!({"sysprep": {
            "install_type": "FRESH", "unattend_xml": "PHVuYXR0ZW5kLz4="}});
    }
    let r = s
        .handle(ms(0), &Route::Create(Kind::Vm), Some(&body), None)
        .unwrap();
    r.body["metadata"]["uuid"].as_str().unwrap().to_string()
}

fn ips(s: &mut Store, now: Duration, vm: &str) -> Vec<String> {
    let v = s
        .handle(now, &Route::Get(Kind::Vm, vm.into()), None, None)
        .unwrap()
        .body;
    v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| e["ip"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_windows_guest_reports_its_apipa_address_first() {
    let mut s = store();
    let vm = create(&mut s, true);
    assert!(ips(&mut s, ms(500), &vm).is_empty(), "not on yet");
    // On, DHCP not answered yet: only the link-local address.
    let early = ips(&mut s, ms(1000), &vm);
    assert_eq!(early.len(), 1, "{early:?}");
    assert!(early[0].starts_with("169.254."), "{early:?}");
    // Then the real one too, after the stale link-local one.
    let later = ips(&mut s, ms(1500), &vm);
    assert_eq!(later, vec![early[0].clone(), "127.0.0.1".to_string()]);
    // Stable for one VM, and never the network or broadcast address of the /16.
    assert_eq!(ips(&mut s, ms(9000), &vm), later);
    let last: u8 = early[0].rsplit('.').next().unwrap().parse().unwrap();
    assert!((1..=254).contains(&last));
    let st = s.state_json(ms(9000));
    assert_eq!(st["vms"][0]["ip_addresses"], json!(later));
    assert_eq!(st["vms"][0]["ip"], "127.0.0.1");
}

#[test]
fn a_linux_guest_reports_only_its_address() {
    let mut s = store();
    let vm = create(&mut s, false);
    assert!(ips(&mut s, ms(1000), &vm).is_empty());
    assert_eq!(ips(&mut s, ms(1500), &vm), vec!["127.0.0.1".to_string()]);
}

#[test]
fn a_guest_shutdown_turns_the_vm_off_spec_and_status() {
    let mut s = store();
    let vm = create(&mut s, true);
    // Not reporting that address: untouched.
    assert!(s
        .guest_shutdown(ms(2000), Some("10.9.9.9".parse().unwrap()))
        .is_empty());
    let off = s.guest_shutdown(ms(2000), Some("127.0.0.1".parse().unwrap()));
    assert_eq!(off, vec![vm.clone()]);
    let v: Value = s
        .handle(ms(2100), &Route::Get(Kind::Vm, vm.clone()), None, None)
        .unwrap()
        .body;
    assert_eq!(v["status"]["resources"]["power_state"], "OFF");
    assert_eq!(v["spec"]["resources"]["power_state"], "OFF");
    assert_eq!(v["metadata"]["spec_version"], 1);
    assert_eq!(
        v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"],
        json!([])
    );
    // Already off: nothing more to do.
    assert!(s.guest_shutdown(ms(2200), None).is_empty());
}
