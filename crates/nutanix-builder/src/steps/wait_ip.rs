//! Waits for the VM to report a usable address (see [`crate::ip`] for the rules) that
//! stays the same for `ip_settle_timeout`, and gives up at `ip_wait_timeout`, promptly.

use std::time::Duration;

use tokio::time::Instant;

use super::Build;
use crate::error::BuildError;
use crate::ip::{candidates, idle_poll, Settle};
use crate::report::ProgressThrottle;

/// How often a long IP wait says it is still waiting.
const STILL_WAITING: Duration = Duration::from_secs(30);

/// The step.
pub(crate) async fn run(b: &mut Build) -> Result<(), BuildError> {
    let (vm_uuid, vm_name) = match &b.st.vm {
        Some(v) => (v.uuid.clone(), v.name.clone()),
        None => return Err(BuildError::unexpected("waiting for an IP", "no VM")),
    };
    let w = &b.cfg.wait_ip;
    let timeout = w.ip_wait_timeout;
    b.out
        .say(format!(
            "Waiting for an IP address of VM '{vm_name}' (up to {}, settling for {})...",
            humantime::format_duration(timeout),
            humantime::format_duration(w.ip_settle_timeout)
        ))
        .await;
    let started = Instant::now();
    let deadline = started + timeout;
    let mut settle = Settle::new(w.ip_settle_timeout);
    let mut idle: Option<Duration> = None;
    let mut seen: Vec<String> = Vec::new();
    let mut announced = None;
    let mut throttle = ProgressThrottle::new(STILL_WAITING, started);
    loop {
        let vm = b
            .cancellable(async {
                b.prism
                    .get_vm(&vm_uuid)
                    .await
                    .map_err(|e| b.prism_err("waiting for an IP address", e))
            })
            .await?;
        let now = Instant::now();
        let found = candidates(&vm.ip_addresses(), &w.ip_wait_address);
        for r in &found.rejected {
            if !seen.contains(r) {
                seen.push(r.clone());
            }
        }
        let first = found.usable.first().copied();
        if let Some(ip) = settle.observe(now, first) {
            b.out
                .message(format!("VM '{vm_name}' has IP address {ip}"))
                .await;
            b.st.ip = Some(ip);
            return Ok(());
        }
        if settle.watching() != announced {
            announced = settle.watching();
            if let Some(ip) = announced {
                b.out
                    .message(format!(
                        "Prism reports {ip}; waiting {} for it to settle",
                        humantime::format_duration(w.ip_settle_timeout)
                    ))
                    .await;
            }
        }
        let waited = now.saturating_duration_since(started);
        let line = format!(
            "Still waiting for an IP address ({} so far)",
            humantime::format_duration(Duration::from_secs(waited.as_secs() / 30 * 30))
        );
        if let Some(line) = throttle.offer(now, &line) {
            b.out.message(line).await;
        }
        if now >= deadline {
            return Err(BuildError::IpTimeout {
                vm: vm_name,
                limit: timeout,
                seen,
            });
        }
        idle = Some(idle_poll(idle));
        let delay = settle.next_poll(now, idle.unwrap_or_default());
        let wake = (now + delay).min(deadline);
        tokio::select! {
            biased;
            _ = b.cancel.cancelled() => return Err(BuildError::Cancelled),
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}
