//! The services end to end over the in-memory broker, with this module playing Packer (our own
//! client and server stand in for the SDK's; tests/interop does the same with the real SDK).
//! The builder is the interop example's, so its contract is checked here too.

#[path = "../../examples/interop/builder.rs"]
#[allow(dead_code)]
mod builder;
#[path = "../../examples/interop/local_comm.rs"]
mod local_comm;

use std::sync::{Arc, Mutex};

use packer_mux::{Mode, Session};
use rand::{RngCore, SeedableRng};
use rmpv::Value;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use super::util::{hex, map};
use crate::broker::Broker as AnyBroker;
use crate::client::Client;
use crate::codec::NIL_BODY;
use crate::msgpack::{view, Writer};
use crate::server::{serve, CallError, Registry, Service};
use crate::services::communicator::encode_file_info;
use crate::testing::MemBroker;
use crate::{serve_builder_on, FileInfo, RpcError, ServeError, SpecEncoding};

fn enc(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    f(&mut w);
    w.finish().unwrap()
}

fn enc_value(v: &Value) -> Vec<u8> {
    enc(|w| {
        w.value(v);
    })
}

/// Packer's side of one plugin connection.
struct Packer {
    broker: AnyBroker,
    root: Client,
    serving: tokio::task::JoinHandle<Result<(), ServeError>>,
}

/// What carries the broker streams: the in-memory broker, or packer-mux's real yamux session and
/// broker over an in-memory connection (Packer as yamux client, the plugin as server).
#[derive(Clone, Copy, Debug)]
enum Transport {
    Memory,
    Yamux,
}

const TRANSPORTS: [Transport; 2] = [Transport::Memory, Transport::Yamux];

async fn start_on(transport: Transport, encoding: SpecEncoding) -> Packer {
    let builder = Arc::new(builder::InteropBuilder::default());
    let (serving, packer): (_, AnyBroker) = match transport {
        Transport::Memory => {
            let (plugin, packer) = MemBroker::pair();
            (
                tokio::spawn(serve_builder_on(plugin, builder, encoding)),
                Arc::new(packer),
            )
        }
        Transport::Yamux => {
            let (a, b) = tokio::io::duplex(1 << 20);
            let plugin = packer_mux::Broker::new(Session::new(a, Mode::Server));
            let packer = packer_mux::Broker::new(Session::new(b, Mode::Client));
            (
                tokio::spawn(serve_builder_on(plugin, builder, encoding)),
                Arc::new(packer),
            )
        }
    };
    let stream = packer.dial(0).await.unwrap();
    Packer {
        broker: packer,
        root: Client::new(stream, "packer root"),
        serving,
    }
}

async fn start(encoding: SpecEncoding) -> Packer {
    start_on(Transport::Memory, encoding).await
}

/// Packer's Ui, recording every call as a line.
#[derive(Default)]
struct RecordingUi {
    events: Mutex<Vec<String>>,
    registry: Mutex<Option<Registry>>,
}

impl RecordingUi {
    fn push(&self, e: String) {
        self.events.lock().unwrap().push(e);
    }
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

struct Bar {
    ui: Arc<RecordingUi>,
    id: String,
}

#[async_trait::async_trait]
impl Service for Bar {
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError> {
        match method {
            "Add" => self.ui.push(format!(
                "add:{}:{}",
                self.id,
                view::i64("n", &args).unwrap()
            )),
            "Close" => self.ui.push(format!("close:{}", self.id)),
            _ => return Err(CallError::NoMethod),
        }
        Ok(NIL_BODY.to_vec())
    }
}

struct UiService(Arc<RecordingUi>);

#[async_trait::async_trait]
impl Service for UiService {
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError> {
        let ui = &self.0;
        let text = || view::string("message", &args).unwrap();
        match method {
            "Say" => ui.push(format!("say:{}", text())),
            "Message" => ui.push(format!("message:{}", text())),
            "Error" => ui.push(format!("error:{}", text())),
            "Machine" => {
                let f = view::Fields::new("UiMachineArgs", &args, &["Category", "Args"]).unwrap();
                ui.push(format!(
                    "machine:{}:{}",
                    f.string("Category").unwrap(),
                    f.strings("Args").unwrap().join(",")
                ));
            }
            "Ask" => {
                ui.push(format!("ask:{}", text()));
                return Ok(enc(|w| {
                    w.str("42");
                }));
            }
            "NewTrackProgress" => {
                let f = view::Fields::new(
                    "TrackProgressParameters",
                    &args,
                    &["Src", "TotalSize", "CurrentSize"],
                )
                .unwrap();
                let src = f.string("Src").unwrap();
                ui.push(format!(
                    "progress:{src}:{}:{}",
                    f.i64("TotalSize").unwrap(),
                    f.i64("CurrentSize").unwrap()
                ));
                let id = format!("{src}Ab12Cd");
                let registry = ui.registry.lock().unwrap().clone().unwrap();
                registry.register(
                    format!("Ui{id}"),
                    Arc::new(Bar {
                        ui: ui.clone(),
                        id: id.clone(),
                    }),
                );
                return Ok(enc(|w| {
                    w.str(&id);
                }));
            }
            _ => return Err(CallError::NoMethod),
        }
        Ok(NIL_BODY.to_vec())
    }
}

/// What Packer's Hook does when the plugin calls Hook.Run.
#[derive(Clone, Copy, PartialEq)]
enum HookMode {
    /// Only record the call.
    Record,
    /// Play a provisioner against the Communicator and Ui served on the hook stream.
    Provision,
    /// Wait for Hook.Cancel, then fail.
    WaitForCancel,
}

struct HookService {
    mode: HookMode,
    broker: AnyBroker,
    calls: Mutex<Vec<(String, Value)>>,
    cancelled: Notify,
    /// Signalled (with a stored permit) at each Hook.Run.
    ran: Notify,
    scratch: std::path::PathBuf,
}

#[async_trait::async_trait]
impl Service for HookService {
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError> {
        match method {
            "Run" => {
                let f =
                    view::Fields::new("HookRunArgs", &args, &["Name", "Data", "StreamId"]).unwrap();
                let name = f.string("Name").unwrap();
                self.calls
                    .lock()
                    .unwrap()
                    .push((name, f.get("Data").clone()));
                self.ran.notify_one();
                let h = f.u32("StreamId").unwrap();
                let stream = self.broker.dial(h).await.map_err(CallError::failed)?;
                let client = Client::new(stream, "hook stream (packer side)");
                match self.mode {
                    HookMode::Record => {}
                    HookMode::Provision => provision(&self.broker, &client, &self.scratch).await?,
                    HookMode::WaitForCancel => {
                        self.cancelled.notified().await;
                        return Err(CallError::Failed("provisioning cancelled".into()));
                    }
                }
                Ok(NIL_BODY.to_vec())
            }
            "Cancel" => {
                self.cancelled.notify_one();
                Ok(NIL_BODY.to_vec())
            }
            _ => Err(CallError::NoMethod),
        }
    }
}

/// Go's gob `CommandFinished` type definition, then the value message
/// (docs/design/plugin-protocol.md, 'CommandFinished (gob)').
fn command_finished(value_hex: &str) -> Vec<u8> {
    let mut b = hex(
        "2cff810301010f436f6d6d616e6446696e697368656401ff82000101010a457869745374617475730104000000",
    );
    b.extend(hex(value_hex));
    b
}

struct Remote {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    response: Vec<u8>,
}

/// Packer's communicator client: Communicator.Start with its streams, waiting for all of them.
async fn remote(
    broker: &AnyBroker,
    client: &Client,
    command: &str,
    stdin: Option<&[u8]>,
) -> Remote {
    let mut ids = [0u32; 4];
    let mut stdin_task = None;
    if let Some(data) = stdin {
        ids[0] = broker.next_id();
        let (b, id, data) = (broker.clone(), ids[0], data.to_vec());
        stdin_task = Some(tokio::spawn(async move {
            let mut s = b.accept(id).await.unwrap();
            s.write_all(&data).await.unwrap();
            s.shutdown().await.unwrap();
            // Keep our end until the plugin closes its side.
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink).await;
        }));
    }
    let reader = |id: u32| {
        let b = broker.clone();
        tokio::spawn(async move {
            let mut s = b.accept(id).await.unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.unwrap();
            out
        })
    };
    ids[1] = broker.next_id();
    let out = reader(ids[1]);
    ids[2] = broker.next_id();
    let err = reader(ids[2]);
    ids[3] = broker.next_id();
    let resp = reader(ids[3]);
    let args = enc(|w| {
        w.map_len(5).str("Command").str(command);
        for (k, id) in [
            "StdinStreamId",
            "StdoutStreamId",
            "StderrStreamId",
            "ResponseStreamId",
        ]
        .iter()
        .zip(ids)
        {
            w.str(k).uint(u64::from(id));
        }
    });
    client.call("Communicator.Start", &args).await.unwrap();
    if let Some(t) = stdin_task {
        t.await.unwrap();
    }
    Remote {
        stdout: out.await.unwrap(),
        stderr: err.await.unwrap(),
        response: resp.await.unwrap(),
    }
}

fn fail(what: impl std::fmt::Display) -> CallError {
    CallError::Failed(what.to_string())
}

/// A provisioner's workout of the plugin's Communicator and forwarding Ui.
async fn provision(
    broker: &AnyBroker,
    client: &Client,
    dir: &std::path::Path,
) -> Result<(), CallError> {
    // Exit statuses 0 / 1 / 255 and output streams.
    let r = remote(broker, client, "echo out; echo err >&2; exit 0", None).await;
    if (r.stdout.as_slice(), r.stderr.as_slice()) != (b"out\n".as_slice(), b"err\n".as_slice()) {
        return Err(fail(format!(
            "exit 0 outputs {:?} {:?}",
            r.stdout, r.stderr
        )));
    }
    if r.response != command_finished("03ff8200") {
        return Err(fail(format!("exit 0 response {:02x?}", r.response)));
    }
    let r = remote(broker, client, "exit 1", None).await;
    if r.response != command_finished("05ff82010200") {
        return Err(fail(format!("exit 1 response {:02x?}", r.response)));
    }
    // 255: gob int zig-zag 510 = 0x01fe, as uint: fe 01 fe (byte count negated, big-endian).
    let r = remote(broker, client, "exit 255", None).await;
    if r.response != command_finished("07ff8201fe01fe00") {
        return Err(fail(format!("exit 255 response {:02x?}", r.response)));
    }
    let r = remote(
        broker,
        client,
        "cat",
        Some(b"piped through stdin\nsecond line\n"),
    )
    .await;
    if r.stdout != b"piped through stdin\nsecond line\n" {
        return Err(fail(format!(
            "cat stdout {:?}",
            String::from_utf8_lossy(&r.stdout)
        )));
    }

    // Upload then download 3 MiB (many pipe buffers' worth).
    let mut data = vec![0u8; 3 << 20];
    rand::rngs::StdRng::seed_from_u64(7).fill_bytes(&mut data);
    let dst = dir.join("big.uploaded");
    let u = broker.next_id();
    let (b, payload) = (broker.clone(), data.clone());
    let sender = tokio::spawn(async move {
        let mut s = b.accept(u).await.unwrap();
        s.write_all(&payload).await.unwrap();
        s.shutdown().await.unwrap();
    });
    let info = FileInfo {
        name: "big".into(),
        size: data.len() as i64,
        mode: 0o640,
        mod_time: None,
    };
    let args = enc(|w| {
        w.map_len(3).str("Path").str(dst.to_str().unwrap());
        w.str("ReaderStreamId").uint(u64::from(u));
        w.str("FileInfo");
        encode_file_info(w, Some(&info));
    });
    client
        .call("Communicator.Upload", &args)
        .await
        .map_err(fail)?;
    sender.await.unwrap();
    if std::fs::read(&dst).map_err(fail)? != data {
        return Err(fail("uploaded file differs"));
    }
    let download = |path: String| {
        let d = broker.next_id();
        let b = broker.clone();
        let receiver = tokio::spawn(async move {
            let mut s = b.accept(d).await.unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.unwrap();
            out
        });
        let args = enc(|w| {
            w.map_len(2).str("Path").str(&path);
            w.str("WriterStreamId").uint(u64::from(d));
        });
        (args, receiver)
    };
    let (args, receiver) = download(dst.to_str().unwrap().to_string());
    client
        .call("Communicator.Download", &args)
        .await
        .map_err(fail)?;
    if receiver.await.unwrap() != data {
        return Err(fail("downloaded file differs"));
    }
    let (args, receiver) = download(dir.join("missing").to_str().unwrap().to_string());
    match client.call("Communicator.Download", &args).await {
        Err(RpcError::Remote { message }) if message.contains("missing") => {}
        other => return Err(fail(format!("download of a missing file: {other:?}"))),
    }
    let _ = receiver.await;

    // Directories, with excludes, and a failing one.
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(tree.join("sub/b.txt"), "beta\n").unwrap();
    std::fs::write(tree.join("skip.log"), "x\n").unwrap();
    let up = dir.join("up");
    let dir_args = |dst: &std::path::Path, src: String, exclude: &[&str]| {
        enc(|w| {
            w.map_len(3).str("Dst").str(dst.to_str().unwrap());
            w.str("Src").str(&src);
            w.str("Exclude").array_len(exclude.len());
            for e in exclude {
                w.str(e);
            }
        })
    };
    let src = format!("{}/", tree.display());
    client
        .call("Communicator.UploadDir", &dir_args(&up, src, &["skip.log"]))
        .await
        .map_err(fail)?;
    if !up.join("sub/b.txt").exists() || up.join("skip.log").exists() {
        return Err(fail("UploadDir result"));
    }
    let down = dir.join("down");
    let src = format!("{}/", up.display());
    client
        .call(
            "Communicator.DownloadDir",
            &dir_args(&down, src, &["b.txt"]),
        )
        .await
        .map_err(fail)?;
    if !down.join("a.txt").exists() || down.join("sub/b.txt").exists() {
        return Err(fail("DownloadDir result"));
    }
    let missing = format!("{}/", dir.join("nope").display());
    if client
        .call("Communicator.UploadDir", &dir_args(&up, missing, &[]))
        .await
        .is_ok()
    {
        return Err(fail("UploadDir of a missing directory succeeded"));
    }

    // The forwarding Ui, including a progress bar registered on this stream.
    let s = |t: &str| {
        enc(|w| {
            w.str(t);
        })
    };
    client
        .call("Ui.Say", &s("from the hook"))
        .await
        .map_err(fail)?;
    let answer = client
        .call("Ui.Ask", &s("hook question?"))
        .await
        .map_err(fail)?;
    if answer != Value::from("42") {
        return Err(fail(format!("forwarded Ask answered {answer:?}")));
    }
    let id = client
        .call(
            "Ui.NewTrackProgress",
            &enc_value(&map(&[
                ("Src", Value::from("hookdl")),
                ("TotalSize", Value::from(500)),
                ("CurrentSize", Value::from(0)),
            ])),
        )
        .await
        .map_err(fail)?;
    let id = view::string("id", &id).unwrap();
    client
        .call(
            &format!("Ui{id}.Add"),
            &enc(|w| {
                w.int(500);
            }),
        )
        .await
        .map_err(fail)?;
    client
        .call(&format!("Ui{id}.Close"), NIL_BODY)
        .await
        .map_err(fail)?;
    match client
        .call(
            &format!("Ui{id}.Add"),
            &enc(|w| {
                w.int(1);
            }),
        )
        .await
    {
        Err(RpcError::Remote { message }) if message.starts_with("rpc: can't find service") => {}
        other => return Err(fail(format!("Add after Close: {other:?}"))),
    }
    match client.call("Communicator.Nope", NIL_BODY).await {
        Err(RpcError::Remote { message })
            if message == "rpc: can't find method Communicator.Nope" =>
        {
            Ok(())
        }
        other => Err(fail(format!("unknown method: {other:?}"))),
    }
}

/// Packer's P1: serves Ui + Hook, like `builder.Run` in the SDK client.
struct RunStream {
    ui: Arc<RecordingUi>,
    hook: Arc<HookService>,
    id: u32,
}

fn serve_run_stream(broker: &AnyBroker, mode: HookMode, scratch: std::path::PathBuf) -> RunStream {
    let id = broker.next_id();
    let ui = Arc::new(RecordingUi::default());
    let hook = Arc::new(HookService {
        mode,
        broker: broker.clone(),
        calls: Mutex::new(Vec::new()),
        cancelled: Notify::new(),
        ran: Notify::new(),
        scratch,
    });
    let registry = Registry::new();
    *ui.registry.lock().unwrap() = Some(registry.clone());
    registry.register("Ui", Arc::new(UiService(ui.clone())));
    registry.register("Hook", hook.clone());
    let b = broker.clone();
    tokio::spawn(async move {
        let s = b.accept(id).await.unwrap();
        serve(s, registry, "packer P1").await
    });
    RunStream { ui, hook, id }
}

fn u32_arg(id: u32) -> Vec<u8> {
    enc(|w| {
        w.uint(u64::from(id));
    })
}

/// cty JSON for the interop spec, as Packer's hcldec + cty/json would send it.
fn interop_cty_json(name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "value": {"count": 3, "enabled": true, "item": {"x": 1.5}, "items": [{"y": ["p", "q"]}],
                  "labels": {"k": "v"}, "name": name, "tags": null},
        "type": ["object", {"count": "number", "enabled": "bool", "item": ["object", {"x": "number"}],
                 "items": ["list", ["object", {"y": ["list", "string"]}]], "labels": ["map", "string"],
                 "name": "string", "tags": ["list", "string"]}]
    }))
    .unwrap()
}

async fn prepare_hcl2(p: &Packer, name: &str, build_name: &str) -> Value {
    let vars = map(&[
        ("packer_build_name", Value::from(build_name)),
        ("packer_builder_type", Value::from("interop")),
        ("packer_debug", Value::from("false")),
        ("packer_force", Value::from("false")),
        ("packer_on_error", Value::from("cleanup")),
    ]);
    let args = map(&[(
        "Configs",
        Value::Array(vec![vars, Value::Binary(interop_cty_json(name))]),
    )]);
    p.root
        .call("Builder.Prepare", &enc_value(&args))
        .await
        .unwrap()
}

#[tokio::test]
async fn config_spec_is_sent_as_bin_in_the_chosen_encoding() {
    for (encoding, want) in [
        (
            SpecEncoding::Gob,
            packer_schema::gob::encode_object_spec(&builder::interop_spec()),
        ),
        (
            SpecEncoding::Protobuf,
            packer_schema::proto::encode_object_spec(&builder::interop_spec()),
        ),
    ] {
        let p = start(encoding).await;
        let reply = p.root.call("Builder.ConfigSpec", NIL_BODY).await.unwrap();
        assert_eq!(reply, map(&[("ConfigSpec", Value::Binary(want))]));
    }
}

#[tokio::test]
async fn prepare_hcl2_and_json_follow_the_interop_contract() {
    let p = start(SpecEncoding::Gob).await;
    let reply = prepare_hcl2(&p, "ok", "b1").await;
    let f = view::Fields::new("r", &reply, &["GeneratedVars", "Warnings", "Error"]).unwrap();
    assert_eq!(
        f.strings("GeneratedVars").unwrap(),
        vec!["InteropVar".to_string()]
    );
    let warnings = f.strings("Warnings").unwrap();
    assert_eq!(warnings.len(), 3);
    let decoded: serde_json::Value =
        serde_json::from_str(warnings[0].strip_prefix("decoded: ").unwrap()).unwrap();
    assert_eq!(
        decoded,
        json!({"count": 3, "enabled": true, "item": {"x": 1.5}, "items": [{"y": ["p", "q"]}],
               "labels": {"k": "v"}, "name": "ok", "tags": null})
    );
    assert_eq!(warnings[1], "kind: hcl2");
    assert_eq!(warnings[2], "build_name: b1");
    assert_eq!(f.get("Error"), &Value::Nil);

    let reply = prepare_hcl2(&p, "fail", "b1").await;
    let f = view::Fields::new("r", &reply, &["GeneratedVars", "Warnings", "Error"]).unwrap();
    assert_eq!(
        f.get("Error"),
        &map(&[("Message", Value::from("name: must not be fail"))])
    );

    // Legacy JSON: the raw template object, then Packer's typed variables.
    let raw = map(&[("name", Value::from("j")), ("count", Value::F64(2.0))]);
    let vars = map(&[
        ("packer_build_name", Value::from("json-build")),
        ("packer_debug", Value::Boolean(false)),
    ]);
    let args = map(&[("Configs", Value::Array(vec![raw, vars]))]);
    let reply = p
        .root
        .call("Builder.Prepare", &enc_value(&args))
        .await
        .unwrap();
    let f = view::Fields::new("r", &reply, &["GeneratedVars", "Warnings", "Error"]).unwrap();
    let warnings = f.strings("Warnings").unwrap();
    assert_eq!(warnings[0], r#"decoded: {"name":"j","count":2.0}"#);
    assert_eq!(warnings[1], "kind: json");
    assert_eq!(warnings[2], "build_name: json-build");

    // Malformed Prepare arguments are an RPC error naming the problem.
    let bad = map(&[("Configs", Value::Array(vec![Value::from(1)]))]);
    match p.root.call("Builder.Prepare", &enc_value(&bad)).await {
        Err(RpcError::Remote { message }) => assert!(message.contains("config 0"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_full_run_drives_ui_hook_communicator_and_serves_the_artifact() {
    for transport in TRANSPORTS {
        full_run(transport).await;
    }
}

async fn full_run(transport: Transport) {
    let scratch = tempfile::tempdir().unwrap();
    let p = start_on(transport, SpecEncoding::Protobuf).await;
    let _ = prepare_hcl2(&p, "ok", "full").await;
    let run = serve_run_stream(&p.broker, HookMode::Provision, scratch.path().to_path_buf());
    let reply = p.root.call("Builder.Run", &u32_arg(run.id)).await;
    let artifact_id = match reply {
        Ok(v) => view::u32("artifact id", &v).unwrap(),
        Err(e) => panic!("Builder.Run failed: {e}"),
    };
    assert_ne!(artifact_id, 0);

    let mut events = run.ui.events();
    let expected_start = [
        "say:say",
        "message:message",
        "error:error",
        "machine:interop:a,b",
        "ask:question?",
        "say:answer: 42",
        "progress:download:1000:0",
    ];
    assert_eq!(&events[..7], &expected_start);
    let adds: Vec<_> = events.drain(7..17).collect();
    assert_eq!(adds, vec!["add:downloadAb12Cd:100".to_string(); 10]);
    assert_eq!(
        &events[7..],
        &[
            "close:downloadAb12Cd",
            // forwarded from the hook stream
            "say:from the hook",
            "ask:hook question?",
            "progress:hookdl:500:0",
            "add:hookdlAb12Cd:500",
            "close:hookdlAb12Cd",
        ]
    );

    let calls = run.hook.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "packer_provision");
    let data = calls[0].1.as_map().unwrap();
    let get = |k: &str| {
        data.iter()
            .find(|(key, _)| view::key_is(key, k))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("Port"), Some(Value::from(22)));
    assert_eq!(get("Host"), Some(Value::from("127.0.0.1")));
    assert_eq!(get("ID"), Some(Value::from("interop-id")));

    // The artifact, as Packer and post-processors query it.
    let s = p.broker.dial(artifact_id).await.unwrap();
    let a = Client::new(s, "artifact (packer side)");
    assert_eq!(
        a.call("Artifact.BuilderId", NIL_BODY).await.unwrap(),
        Value::from("rust.interop")
    );
    assert_eq!(
        a.call("Artifact.Id", NIL_BODY).await.unwrap(),
        Value::from("art-id")
    );
    assert_eq!(
        a.call("Artifact.String", NIL_BODY).await.unwrap(),
        Value::from("interop artifact")
    );
    assert_eq!(
        a.call("Artifact.Files", NIL_BODY).await.unwrap(),
        Value::Array(vec![Value::from("/tmp/a"), Value::from("/tmp/b")])
    );
    let state = |name: &str| {
        let a = a.clone();
        let arg = enc(|w| {
            w.str(name);
        });
        async move { a.call("Artifact.State", &arg).await.unwrap() }
    };
    assert_eq!(
        state("generated_data").await,
        map(&[("InteropVar", Value::from("value"))])
    );
    let meta = state("par.artifact.metadata").await;
    let first = &meta.as_array().unwrap()[0];
    let f = view::Fields::new("Image", first, &[]).unwrap();
    assert_eq!(f.string("ImageID").unwrap(), "art-id");
    assert_eq!(f.get("Labels"), &map(&[("k", Value::from("v"))]));
    assert_eq!(state("unknown").await, Value::Nil);
    assert_eq!(
        a.call("Artifact.Destroy", NIL_BODY).await.unwrap(),
        Value::Nil
    );

    // Packer closes the root stream: the plugin stops serving cleanly.
    p.root.close();
    p.serving.await.unwrap().unwrap();
}

async fn run_named(name: &str, mode: HookMode) -> (Packer, RunStream) {
    run_named_on(Transport::Memory, name, mode).await
}

async fn run_named_on(transport: Transport, name: &str, mode: HookMode) -> (Packer, RunStream) {
    let p = start_on(transport, SpecEncoding::Gob).await;
    let _ = prepare_hcl2(&p, name, "b").await;
    let run = serve_run_stream(&p.broker, mode, std::env::temp_dir());
    (p, run)
}

#[tokio::test]
async fn no_artifact_replies_zero_and_destroy_failure_is_the_rpc_error() {
    let (p, run) = run_named("no-artifact", HookMode::Record).await;
    let reply = p.root.call("Builder.Run", &u32_arg(run.id)).await.unwrap();
    assert_eq!(view::u32("id", &reply).unwrap(), 0);

    let (p, run) = run_named("destroy-fails", HookMode::Record).await;
    let id = view::u32(
        "id",
        &p.root.call("Builder.Run", &u32_arg(run.id)).await.unwrap(),
    )
    .unwrap();
    let a = Client::new(p.broker.dial(id).await.unwrap(), "artifact");
    match a.call("Artifact.Destroy", NIL_BODY).await {
        Err(RpcError::Remote { message }) => assert_eq!(message, "destroy failed on purpose"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cancel_during_run_reaches_the_builder() {
    for transport in TRANSPORTS {
        cancel_during_run(transport).await;
    }
}

async fn cancel_during_run(transport: Transport) {
    let (p, run) = run_named_on(transport, "cancel-me", HookMode::Record).await;
    // Cancel before Run is a no-op (the Go SDK would panic).
    assert_eq!(
        p.root.call("Builder.Cancel", NIL_BODY).await.unwrap(),
        Value::Nil
    );
    let root = p.root.clone();
    let pending = tokio::spawn(async move { root.call("Builder.Run", &u32_arg(run.id)).await });
    // Wait until the build is past its hook (so it is waiting for cancellation), then cancel.
    run.hook.ran.notified().await;
    assert_eq!(
        p.root.call("Builder.Cancel", NIL_BODY).await.unwrap(),
        Value::Nil
    );
    match pending.await.unwrap() {
        Err(RpcError::Remote { message }) => assert_eq!(message, "cancelled"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cancel_during_hook_run_sends_hook_cancel() {
    for transport in TRANSPORTS {
        cancel_during_hook(transport).await;
    }
}

async fn cancel_during_hook(transport: Transport) {
    let (p, run) = run_named_on(transport, "ok", HookMode::WaitForCancel).await;
    let root = p.root.clone();
    let pending = tokio::spawn(async move { root.call("Builder.Run", &u32_arg(run.id)).await });
    run.hook.ran.notified().await;
    p.root.call("Builder.Cancel", NIL_BODY).await.unwrap();
    // Packer's hook saw Hook.Cancel and failed; the builder reports that error.
    match pending.await.unwrap() {
        Err(RpcError::Remote { message }) => assert_eq!(message, "provisioning cancelled"),
        other => panic!("{other:?}"),
    }
}

/// Takes the broker's 5 s accept window in real time (tokio's paused clock needs `test-util`).
#[tokio::test]
async fn run_with_an_undialable_stream_fails_instead_of_hanging() {
    let p = start(SpecEncoding::Gob).await;
    // Nobody accepts id 99 on Packer's side: the dial fails after the broker's accept window.
    match p.root.call("Builder.Run", &u32_arg(99)).await {
        Err(RpcError::Remote { message }) => assert!(message.contains("stream 99"), "{message}"),
        other => panic!("{other:?}"),
    }
}
