//! `boot_command`: after `boot_wait`, types Packer's boot command at the VM's console, the way
//! Packer's own VNC driver types it (the `boot-command` crate makes the key events), over the
//! console Prism Central offers (the `vnc-console` crate: the v4 console token, else the v3
//! session cookie), with the build's credentials, TLS settings and proxies.

use std::future::Future;
use std::time::Duration;

use nutanix_config::BootData;
use vnc_console::{Console, ConsoleError, ConsoleTarget, ProxySetting};

use crate::context::Ctx;
use crate::entities::Named;
use crate::error::BuildError;
use crate::generated_data::HttpInfo;
use crate::plan::BootPlan;

/// How long reaching the console may take, all attempts together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// The console as the typist sees it.
struct Keys<'a>(&'a Console);

impl boot_command::KeySink for Keys<'_> {
    type Error = ConsoleError;

    fn key_event(
        &mut self,
        keysym: u32,
        down: bool,
    ) -> impl Future<Output = Result<(), ConsoleError>> + Send {
        self.0.key(keysym, down)
    }
}

/// Where the VM's console is, reached like every other Prism call of the build.
fn target(ctx: &Ctx, vm: &Named, cluster: &Named) -> ConsoleTarget {
    let cfg = ctx.prism.config();
    let mut t = ConsoleTarget::new(
        cfg.endpoint.clone(),
        cfg.port,
        cfg.auth.clone(),
        vm.uuid.clone(),
        Some(cluster.uuid.clone()),
    );
    t.scheme = cfg.scheme;
    t.tls = cfg.tls.clone();
    t.custom_headers = cfg.custom_headers.clone();
    t.proxy = if cfg.use_env_proxy {
        ProxySetting::FromEnv
    } else {
        ProxySetting::Direct
    };
    t
}

/// The step.
pub(crate) async fn run(
    ctx: &Ctx,
    boot: &BootPlan,
    vm: &Named,
    cluster: &Named,
    http: Option<&HttpInfo>,
) -> Result<(), BuildError> {
    let data = BootData {
        http_ip: http.map(|h| h.ip.clone()).unwrap_or_default(),
        http_port: http.map_or(0, |h| h.port),
        name: vm.name.clone(),
    };
    let command = boot
        .command
        .parse(&data)
        .map_err(|e| BuildError::unexpected("rendering boot_command", e.to_string()))?;
    if !boot.wait.is_zero() {
        ctx.out
            .say(format!(
                "Waiting {} for boot...",
                humantime::format_duration(boot.wait)
            ))
            .await;
        ctx.cancellable(async {
            tokio::time::sleep(boot.wait).await;
            Ok(())
        })
        .await?;
    }
    ctx.out
        .say(format!("Connecting to the console of VM '{}'...", vm.name))
        .await;
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    let console = ctx
        .cancellable(async {
            Console::connect(&target(ctx, vm, cluster), deadline)
                .await
                .map_err(|e| BuildError::Console(ctx.out.redact(&e.to_string())))
        })
        .await?;
    ctx.out.say("Typing the boot command...").await;
    let events = boot_command::vnc::events(&command, boot.interval);
    let typed =
        boot_command::type_events(&mut Keys(&console), events, ctx.cancel.cancelled()).await;
    let closed = console.close().await;
    match typed {
        Ok(n) => tracing::info!(events = n, "boot command typed"),
        Err(boot_command::TypeError::Cancelled { .. }) => return Err(BuildError::Cancelled),
        Err(e) => return Err(BuildError::Console(ctx.out.redact(&e.to_string()))),
    }
    if let Err(e) = closed {
        tracing::debug!(error = %e, "console close");
    }
    Ok(())
}
