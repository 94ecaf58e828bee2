//! The `nutanix` builder as Packer sees it: schema, Prepare and Run behind the protocol's `Builder`
//! trait. Prepare is where a template is judged: `nutanix-config` checks the options, and
//! [`BuildPlan`] what this builder can do with them; Run only runs the plan.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use packer_rpc::{Artifact, PrepareOutcome, RunContext};
use packer_schema::{ObjectSpec, PrepareInput};

use crate::plan::BuildPlan;

/// The builder instance Packer talks to for one build; Prepare's plan is kept for Run.
#[derive(Default)]
pub struct NutanixBuilder {
    prepared: Mutex<Option<BuildPlan>>,
}

impl NutanixBuilder {
    /// A builder with nothing prepared yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl packer_rpc::Builder for NutanixBuilder {
    fn config_spec(&self) -> ObjectSpec {
        nutanix_config::config_spec()
    }

    async fn prepare(&self, input: PrepareInput) -> PrepareOutcome {
        let refused = |error: String| PrepareOutcome {
            generated_vars: Vec::new(),
            warnings: Vec::new(),
            error: Some(error),
        };
        let prepared = match nutanix_config::prepare(&input) {
            Ok(prepared) => prepared,
            Err(errors) => return refused(errors.to_string()),
        };
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        match BuildPlan::new(prepared.config, home.as_deref()) {
            Ok(plan) => {
                // From here on the plugin's own log lines (PACKER_LOG=1) cannot show them.
                nutanix_config::filter_logs(&plan.secrets());
                if let Ok(mut slot) = self.prepared.lock() {
                    *slot = Some(plan);
                }
                PrepareOutcome {
                    generated_vars: prepared.generated_vars,
                    warnings: prepared.warnings,
                    error: None,
                }
            }
            Err(unbuildable) => refused(unbuildable.to_string()),
        }
    }

    async fn run(&self, ctx: RunContext) -> Result<Option<Arc<dyn Artifact>>, String> {
        let prepared = self.prepared.lock().ok().and_then(|p| p.clone());
        let Some(prepared) = prepared else {
            let message = "Run was called before a successful Prepare";
            ctx.ui.error(message).await;
            return Err(message.to_string());
        };
        crate::run::run(prepared, ctx).await
    }
}
