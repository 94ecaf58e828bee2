//! Waits for the VM to report a usable address (see [`crate::ip`] for the rules) that
//! stays the same for `ip_settle_timeout`, and gives up at `ip_wait_timeout`, promptly.

use std::time::Duration;

use tokio::time::Instant;

use std::net::IpAddr;

use crate::context::Ctx;
use crate::entities::Named;
use crate::error::BuildError;
use crate::ip_choice::{candidates, idle_poll, why_not, Settle};
use crate::plan::IpWait;
use crate::ui::ProgressThrottle;

/// How often a long IP wait says it is still waiting.
const STILL_WAITING: Duration = Duration::from_secs(30);

/// The step: the VM's settled address.
pub(crate) async fn run(ctx: &Ctx, w: &IpWait, vm: &Named) -> Result<IpAddr, BuildError> {
    let (vm_uuid, vm_name) = (&vm.uuid, &vm.name);
    let timeout = w.timeout;
    ctx.out
        .say(format!(
            "Waiting for an IP address of VM '{vm_name}' (up to {}, settling for {})...",
            humantime::format_duration(timeout),
            humantime::format_duration(w.settle)
        ))
        .await;
    let started = Instant::now();
    let deadline = started + timeout;
    let mut settle = Settle::new(w.settle);
    let mut idle: Option<Duration> = None;
    let mut seen: Vec<String> = Vec::new();
    let mut announced = None;
    let mut throttle = ProgressThrottle::new(STILL_WAITING, started);
    loop {
        let vm = ctx
            .call("waiting for an IP address", ctx.prism.get_vm(vm_uuid))
            .await?;
        let now = Instant::now();
        let found = candidates(&vm.ip_addresses(), &w.filter);
        for r in &found.rejected {
            if !seen.contains(r) {
                seen.push(r.clone());
                ctx.out
                    .message(format!(
                        "Prism reports {r} for VM '{vm_name}': not used ({})",
                        why_not(r, &w.filter)
                    ))
                    .await;
            }
        }
        let first = found.usable.first().copied();
        if let Some(ip) = settle.observe(now, first) {
            ctx.out
                .message(format!("VM '{vm_name}' has IP address {ip}"))
                .await;
            return Ok(ip);
        }
        if settle.watching() != announced {
            announced = settle.watching();
            if let Some(ip) = announced {
                ctx.out
                    .message(format!(
                        "Prism reports {ip}; waiting {} for it to settle",
                        humantime::format_duration(w.settle)
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
            ctx.out.message(line).await;
        }
        if now >= deadline {
            return Err(BuildError::IpTimeout {
                vm: vm_name.clone(),
                limit: timeout,
                seen,
            });
        }
        idle = Some(idle_poll(idle));
        let delay = settle.next_poll(now, idle.unwrap_or_default());
        let wake = (now + delay).min(deadline);
        tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => return Err(BuildError::Cancelled),
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}
