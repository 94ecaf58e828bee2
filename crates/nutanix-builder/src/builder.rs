//! The `nutanix` builder as Packer sees it: schema, Prepare and Run behind the protocol's `Builder`
//! trait. The configuration lives in the `nutanix-config` crate, the build in `crate::build`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use packer_rpc::{Artifact, PrepareOutcome, RunContext};
use packer_schema::{ObjectSpec, PrepareInput};

/// The builder instance Packer talks to for one build; Prepare's result is kept for Run.
pub struct NutanixBuilder {
    prepared: Mutex<Option<nutanix_config::Prepared>>,
}

impl NutanixBuilder {
    /// A builder with nothing prepared yet.
    pub fn new() -> Self {
        Self {
            prepared: Mutex::new(None),
        }
    }
}

#[async_trait]
impl packer_rpc::Builder for NutanixBuilder {
    fn config_spec(&self) -> ObjectSpec {
        nutanix_config::config_spec()
    }

    async fn prepare(&self, input: PrepareInput) -> PrepareOutcome {
        match nutanix_config::prepare(&input) {
            Ok(prepared) => {
                let outcome = PrepareOutcome {
                    generated_vars: prepared.generated_vars.clone(),
                    warnings: prepared.warnings.clone(),
                    error: None,
                };
                if let Ok(mut slot) = self.prepared.lock() {
                    *slot = Some(prepared);
                }
                outcome
            }
            Err(errors) => PrepareOutcome {
                generated_vars: Vec::new(),
                warnings: Vec::new(),
                error: Some(errors.to_string()),
            },
        }
    }

    async fn run(&self, ctx: RunContext) -> Result<Option<Arc<dyn Artifact>>, String> {
        let prepared = self.prepared.lock().ok().and_then(|p| p.clone());
        let Some(prepared) = prepared else {
            let message = "Run was called before a successful Prepare";
            ctx.ui.error(message).await;
            return Err(message.to_string());
        };
        crate::run(prepared.config, ctx).await
    }
}
