//! The WS-Man operations on shells and commands, and fault injection.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use tracing::{debug, info};

use crate::faults::FaultKind;
use crate::server::{reply, Front, Outcome, SOAP};
use crate::state::MAX_RECEIVE_WAIT;
use crate::wsman::{self, Body, Req};

fn fault_reply(req: &Req, host: &str, code: u32, message: &str) -> Outcome {
    let f = wsman::fault(
        &req.message_id,
        "s:Sender",
        "w:InvalidParameter",
        code,
        message,
        host,
    );
    Outcome::Reply(reply(StatusCode::INTERNAL_SERVER_ERROR, Some(SOAP), f))
}

fn injected(front: &Front, req: &Req, kind: FaultKind) -> Outcome {
    info!(target: "winrm_sim", op = req.op(), ?kind, "injecting a fault");
    let host = front.state.hostname();
    match kind {
        FaultKind::SoapFault { code, message } => fault_reply(req, &host, code, &message),
        FaultKind::DropConnection => Outcome::Drop,
        FaultKind::HugeReply { bytes } => {
            let mut body = wsman::ack_response(req);
            let pad = bytes.saturating_sub(body.len() + 7);
            body.push_str("<!--");
            body.push_str(&"x".repeat(pad));
            body.push_str("-->");
            Outcome::Reply(reply(StatusCode::OK, Some(SOAP), body))
        }
        FaultKind::HttpStatus { status } => Outcome::Reply(reply(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            None,
            Bytes::new(),
        )),
        FaultKind::GarbageNtlmChallenge => Outcome::Drop,
    }
}

fn command_of(req: &Req) -> Option<&str> {
    match &req.body {
        Body::Receive { command_id }
        | Body::Send { command_id, .. }
        | Body::Signal { command_id, .. } => command_id.as_deref(),
        _ => None,
    }
}

pub(crate) async fn operation(front: &Front, req: Req) -> Outcome {
    let state = &front.state;
    let host = state.hostname();
    // Which command line a fault may be keyed on.
    let line = match &req.body {
        Body::Command { command, .. } => Some(command.clone()),
        _ => command_of(&req).and_then(|cid| {
            let shells = state.shells.lock().ok()?;
            let rec = shells
                .get(req.shell_id.as_deref()?)?
                .commands
                .get(cid)?
                .record;
            drop(shells);
            state.command_line(rec)
        }),
    };
    if let Some(kind) = state.take_fault(req.op(), line.as_deref()) {
        return injected(front, &req, kind);
    }
    let shell_missing = || {
        fault_reply(
            &req,
            &host,
            2_150_858_843,
            "The request for the Windows Remote Shell with ShellId failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server.",
        )
    };
    match &req.body {
        Body::CreateShell => {
            let Ok(mut shells) = state.shells.lock() else {
                return shell_missing();
            };
            if shells.len() >= state.max_shells_per_user {
                drop(shells);
                // GUESS: code and text of the per-user shell quota fault.
                return fault_reply(
                    &req,
                    &host,
                    2_150_859_174,
                    "The WS-Management service cannot process the request. This user is allowed a maximum number of 30 concurrent shells, which has been exceeded.",
                );
            }
            let id = uuid::Uuid::new_v4().to_string().to_uppercase();
            shells.insert(
                id.clone(),
                crate::state::Shell {
                    owner: state.user.clone(),
                    commands: Default::default(),
                },
            );
            drop(shells);
            let endpoint = "http://127.0.0.1/wsman".to_string();
            Outcome::Reply(reply(
                StatusCode::OK,
                Some(SOAP),
                wsman::create_response(&req, &id, &endpoint, &state.user),
            ))
        }
        Body::Command { command, arguments } => {
            debug!(target: "winrm_sim", options = ?req.options, %command, "Command");
            let Some(shell) = req.shell_id.as_deref() else {
                return shell_missing();
            };
            match state.start_command(shell, command.clone(), arguments.clone()) {
                Some(id) => Outcome::Reply(reply(
                    StatusCode::OK,
                    Some(SOAP),
                    wsman::command_response(&req, &id),
                )),
                None => shell_missing(),
            }
        }
        Body::Receive { command_id } => receive(front, &req, command_id.as_deref()).await,
        Body::Send {
            command_id,
            data,
            end,
        } => {
            let Ok(mut shells) = state.shells.lock() else {
                return shell_missing();
            };
            let Some(cmd) = req
                .shell_id
                .as_deref()
                .and_then(|s| shells.get_mut(s))
                .and_then(|s| command_id.as_deref().and_then(|c| s.commands.get_mut(c)))
            else {
                drop(shells);
                return shell_missing();
            };
            if let Some(tx) = &cmd.stdin {
                let _ = tx.send(data.clone());
            }
            if *end {
                cmd.stdin = None;
            }
            drop(shells);
            Outcome::Reply(reply(StatusCode::OK, Some(SOAP), wsman::ack_response(&req)))
        }
        Body::Signal { command_id, code } => {
            debug!(target: "winrm_sim", %code, "Signal");
            let Ok(mut shells) = state.shells.lock() else {
                return shell_missing();
            };
            let removed = req
                .shell_id
                .as_deref()
                .and_then(|s| shells.get_mut(s))
                .and_then(|s| command_id.as_deref().and_then(|c| s.commands.remove(c)));
            drop(shells);
            match removed {
                Some(c) => {
                    c.task.abort();
                    state.mark_terminated(c.record);
                    Outcome::Reply(reply(StatusCode::OK, Some(SOAP), wsman::ack_response(&req)))
                }
                None => shell_missing(),
            }
        }
        Body::Delete => {
            let removed = state
                .shells
                .lock()
                .ok()
                .and_then(|mut s| req.shell_id.as_deref().and_then(|id| s.remove(id)));
            match removed {
                Some(shell) => {
                    for (_, c) in shell.commands {
                        c.task.abort();
                        state.mark_terminated(c.record);
                    }
                    Outcome::Reply(reply(StatusCode::OK, Some(SOAP), wsman::ack_response(&req)))
                }
                None => shell_missing(),
            }
        }
        Body::Unsupported => fault_reply(
            &req,
            &host,
            2_150_858_752,
            &format!(
                "The WS-Management service does not support the action {}.",
                req.action
            ),
        ),
    }
}

async fn receive(front: &Front, req: &Req, command_id: Option<&str>) -> Outcome {
    let state = &front.state;
    let host = state.hostname();
    let found = state.shells.lock().ok().and_then(|s| {
        let c = s.get(req.shell_id.as_deref()?)?.commands.get(command_id?)?;
        Some((c.io.clone(), c.record))
    });
    let Some((io, record)) = found else {
        return fault_reply(req, &host, 2_150_858_843, "The request for the Windows Remote Shell with ShellId failed because the shell was not found on the server.");
    };
    let wait = req
        .operation_timeout
        .unwrap_or(Duration::from_secs(60))
        .min(MAX_RECEIVE_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let max_env = req.max_envelope.unwrap_or(153_600).max(8192);
    let budget = max_env.saturating_sub(2048) / 4 * 3;
    loop {
        let notified = io.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (chunks, done) = {
            let mut taken = Vec::new();
            let mut size = 0usize;
            if let Ok(mut q) = io.queue.lock() {
                while let Some((stderr, data)) = q.pop_front() {
                    let room = budget.saturating_sub(size);
                    if room == 0 {
                        q.push_front((stderr, data));
                        break;
                    }
                    if data.len() > room {
                        let (head, tail) = data.split_at(room);
                        q.push_front((stderr, tail.to_vec()));
                        taken.push((stderr, head.to_vec()));
                        break;
                    }
                    size += data.len();
                    taken.push((stderr, data));
                }
            }
            let empty = io.queue.lock().map(|q| q.is_empty()).unwrap_or(true);
            let done = if empty {
                io.done.lock().ok().and_then(|d| *d)
            } else {
                None
            };
            (taken, done)
        };
        if !chunks.is_empty() || done.is_some() {
            state.note_output(record, &chunks);
            let cid = command_id.unwrap_or_default();
            return Outcome::Reply(reply(
                StatusCode::OK,
                Some(SOAP),
                wsman::receive_response(req, cid, &chunks, done),
            ));
        }
        tokio::select! {
            () = &mut notified => {}
            // Wake now and then to notice a simulated restart.
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            () = tokio::time::sleep_until(deadline) => {
                state.count("receive_timeouts");
                let f = wsman::timeout_fault(req, &host);
                return Outcome::Reply(reply(StatusCode::INTERNAL_SERVER_ERROR, Some(SOAP), f));
            }
        }
        if state.tick() {
            return Outcome::Drop;
        }
    }
}
