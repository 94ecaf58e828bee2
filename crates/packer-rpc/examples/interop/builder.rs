//! The interop test builder: a fixed script of every builder-side RPC, against which the Go
//! harness (tests/interop, driving the real packer-plugin-sdk client) checks our wire behaviour.
//! Compiled only into the `interop-plugin` example and the crate's own tests.

use std::sync::{Arc, Mutex};

use packer_rpc::{Artifact, Builder, HookData, PrepareOutcome, RunContext};
use packer_schema::{CtyType, ObjectSpec, PrepareInput, TemplateKind};
use rmpv::Value;
use serde_json::{Map, Value as Json};

use super::local_comm::LocalCommunicator;

/// The builder. `name` (from Prepare) selects the behaviour of Run.
#[derive(Default)]
pub struct InteropBuilder {
    name: Mutex<String>,
}

/// name, count, enabled, tags, labels, item { x }, items { y }.
pub fn interop_spec() -> ObjectSpec {
    ObjectSpec::new()
        .attr("name", CtyType::String)
        .attr("count", CtyType::Number)
        .attr("enabled", CtyType::Bool)
        .attr("tags", CtyType::List(Box::new(CtyType::String)))
        .attr("labels", CtyType::Map(Box::new(CtyType::String)))
        .block("item", ObjectSpec::new().attr("x", CtyType::Number))
        .block_list(
            "items",
            ObjectSpec::new().attr("y", CtyType::List(Box::new(CtyType::String))),
        )
}

/// Merges config objects in order; a null never overrides an earlier value (SDK semantics).
pub fn merge(configs: &[Json]) -> Map<String, Json> {
    let mut merged = Map::new();
    for config in configs {
        let Json::Object(obj) = config else { continue };
        for (k, v) in obj {
            if v.is_null() && merged.contains_key(k) {
                continue;
            }
            merged.insert(k.clone(), v.clone());
        }
    }
    merged
}

#[async_trait::async_trait]
impl Builder for InteropBuilder {
    fn config_spec(&self) -> ObjectSpec {
        interop_spec()
    }

    async fn prepare(&self, input: PrepareInput) -> PrepareOutcome {
        let merged = merge(&input.configs);
        let name = merged
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        *self.name.lock().unwrap_or_else(|p| p.into_inner()) = name.clone();
        let kind = match input.kind {
            TemplateKind::Hcl2 => "hcl2",
            TemplateKind::LegacyJson => "json",
        };
        let decoded = serde_json::to_string(&Json::Object(merged)).unwrap_or_default();
        PrepareOutcome {
            generated_vars: vec!["InteropVar".into()],
            warnings: vec![
                format!("decoded: {decoded}"),
                format!("kind: {kind}"),
                format!("build_name: {}", input.packer.build_name),
            ],
            error: (name == "fail").then(|| "name: must not be fail".to_string()),
        }
    }

    async fn run(&self, ctx: RunContext) -> Result<Option<Arc<dyn Artifact>>, String> {
        let name = self.name.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let ui = &ctx.ui;
        ui.say("say").await;
        ui.message("message").await;
        ui.error("error").await;
        ui.machine("interop", &["a".into(), "b".into()]).await;
        let answer = ui.ask("question?").await.map_err(|e| e.to_string())?;
        ui.say(&format!("answer: {answer}")).await;
        let progress = ui
            .track_progress("download", 1000)
            .await
            .map_err(|e| e.to_string())?;
        for _ in 0..10 {
            progress.add(100).await;
        }
        progress.close().await;

        let mut data = HookData::new();
        data.insert("Host".into(), Value::from("127.0.0.1"));
        data.insert("Port".into(), Value::from(22));
        data.insert("User".into(), Value::from("u"));
        data.insert("ConnType".into(), Value::from("interop"));
        data.insert("ID".into(), Value::from("interop-id"));
        ctx.hook
            .run("packer_provision", data, Arc::new(LocalCommunicator))
            .await
            .map_err(|e| e.to_string())?;

        match name.as_str() {
            "cancel-me" => {
                ctx.cancel.cancelled().await;
                Err("cancelled".into())
            }
            "no-artifact" => Ok(None),
            _ => Ok(Some(Arc::new(InteropArtifact {
                destroy_fails: name == "destroy-fails",
            }))),
        }
    }
}

/// The artifact of a successful interop build.
pub struct InteropArtifact {
    destroy_fails: bool,
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

#[async_trait::async_trait]
impl Artifact for InteropArtifact {
    fn builder_id(&self) -> String {
        "rust.interop".into()
    }
    fn files(&self) -> Vec<String> {
        vec!["/tmp/a".into(), "/tmp/b".into()]
    }
    fn id(&self) -> String {
        "art-id".into()
    }
    fn string(&self) -> String {
        "interop artifact".into()
    }
    fn state(&self, name: &str) -> Value {
        match name {
            "generated_data" => map(vec![("InteropVar", Value::from("value"))]),
            "par.artifact.metadata" => Value::Array(vec![map(vec![
                ("ImageID", Value::from("art-id")),
                ("ProviderName", Value::from("interop")),
                ("ProviderRegion", Value::from("local")),
                ("SourceImageID", Value::from("src")),
                ("Labels", map(vec![("k", Value::from("v"))])),
            ])]),
            _ => Value::Nil,
        }
    }
    async fn destroy(&self) -> Result<(), String> {
        if self.destroy_fails {
            Err("destroy failed on purpose".into())
        } else {
            Ok(())
        }
    }
}
