//! `boot_command` and its timing as the boot step needs them: whether to type at all, how long
//! to wait first, and the pause after each key event, fixed once at Prepare.

use std::time::Duration;

use nutanix_config::BootConfig;

/// `boot_command` and its timing.
#[derive(Debug, Clone)]
pub(crate) struct BootPlan {
    /// The command, rendered once the HTTP server's address is known.
    pub(crate) command: nutanix_config::BootCommand,
    /// `boot_wait` (a negative value was read as zero).
    pub(crate) wait: Duration,
    /// The pause after each key event (`boot_key_interval`, else `PACKER_KEY_INTERVAL`, else
    /// 100 ms, as Packer's VNC driver picks it).
    pub(crate) interval: Duration,
}

/// The plan for the boot options; `key_interval_env` is `PACKER_KEY_INTERVAL` as the plugin's
/// environment holds it. None when nothing is typed (no command, or `disable_vnc`).
pub(crate) fn plan(b: &BootConfig, key_interval_env: Option<&str>) -> Option<BootPlan> {
    b.types_at_console().then(|| BootPlan {
        command: b.boot_command.clone(),
        wait: b.boot_wait.duration(),
        interval: b.key_interval(key_interval_env),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn boot(extra: serde_json::Value) -> BootConfig {
        let mut body = json!({
            "nutanix_endpoint": "pc", "nutanix_username": "u", "nutanix_password": "p",
            "cluster_name": "c", "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
            "communicator": "none",
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        nutanix_config::prepare(&packer_schema::PrepareInput {
            kind: packer_schema::TemplateKind::Hcl2,
            packer: Default::default(),
            configs: vec![body],
        })
        .unwrap()
        .config
        .boot
    }

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn boot_wait_and_boot_key_interval_are_taken_as_written() {
        let b = boot(json!({"boot_command": ["<enter>"], "boot_wait": "1m30s",
            "boot_key_interval": "35ms"}));
        let p = plan(&b, Some("5ms")).unwrap();
        assert_eq!(p.wait, Duration::from_secs(90));
        // boot_key_interval wins over PACKER_KEY_INTERVAL.
        assert_eq!(p.interval, MS(35));
    }

    #[test]
    fn the_key_interval_falls_back_to_the_environment_then_100ms() {
        let b = boot(json!({"boot_command": ["<enter>"]}));
        assert_eq!(plan(&b, Some("250ms")).unwrap().interval, MS(250));
        assert_eq!(
            plan(&b, Some("1m")).unwrap().interval,
            Duration::from_secs(60)
        );
        // A negative interval means no pause; what does not parse is ignored.
        assert_eq!(plan(&b, Some("-1s")).unwrap().interval, Duration::ZERO);
        assert_eq!(plan(&b, Some("fast")).unwrap().interval, MS(100));
        assert_eq!(plan(&b, Some("")).unwrap().interval, MS(100));
        assert_eq!(plan(&b, None).unwrap().interval, MS(100));
        // boot_key_interval = "0s" is "not set", as in Packer.
        let zero = boot(json!({"boot_command": ["<enter>"], "boot_key_interval": "0s"}));
        assert_eq!(plan(&zero, Some("20ms")).unwrap().interval, MS(20));
    }

    #[test]
    fn boot_wait_defaults_to_none_and_negative_means_none() {
        let b = boot(json!({"boot_command": ["<enter>"]}));
        assert_eq!(plan(&b, None).unwrap().wait, Duration::ZERO);
        let b = boot(json!({"boot_command": ["<enter>"], "boot_wait": "-5s"}));
        assert_eq!(plan(&b, None).unwrap().wait, Duration::ZERO);
    }

    #[test]
    fn nothing_is_typed_without_a_command_or_with_disable_vnc() {
        assert!(plan(&boot(json!({"boot_wait": "10s"})), None).is_none());
        let b = boot(json!({"boot_command": ["<enter>"], "disable_vnc": true}));
        assert!(plan(&b, None).is_none());
    }

    #[test]
    fn the_build_plan_reads_packer_key_interval_from_the_environment() {
        // The only test in this crate that reads PACKER_KEY_INTERVAL; whatever the environment
        // holds, the build plan must agree with the boot plan made from the same value.
        let env = std::env::var(boot_command::vnc::KEY_INTERVAL_ENV).ok();
        let mut body = json!({
            "nutanix_endpoint": "pc", "nutanix_username": "u", "nutanix_password": "p",
            "cluster_name": "c", "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
            "communicator": "none", "boot_command": ["<enter>"], "boot_wait": "2s",
        });
        body["vm_name"] = json!("boot-plan");
        let cfg = nutanix_config::prepare(&packer_schema::PrepareInput {
            kind: packer_schema::TemplateKind::Hcl2,
            packer: Default::default(),
            configs: vec![body],
        })
        .unwrap()
        .config;
        let want = plan(&cfg.boot, env.as_deref()).unwrap();
        let got = crate::plan::BuildPlan::new(cfg, None)
            .unwrap()
            .boot
            .unwrap();
        assert_eq!((got.wait, got.interval), (want.wait, want.interval));
        assert_eq!(got.wait, Duration::from_secs(2));
    }
}
