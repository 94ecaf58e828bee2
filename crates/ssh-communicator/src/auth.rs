//! User authentication, in the order Packer's Go communicator offers methods.
//!
//! Target host (communicator/config.go `SSHConfigFunc`): agent keys, private keys (each paired
//! with the certificate when one is set), password, keyboard-interactive answering every prompt
//! with the password. Bastion (`sshBastionConfig`): terminal prompts, password,
//! keyboard-interactive with the password, the key, the agent.
//!
//! Like Go's client we start with `none` to learn which methods the server accepts, skip methods
//! it did not list, and fail with every method we tried named in the error.

use std::fmt;
use std::path::PathBuf;

use russh::client::{AuthResult, Handle, KeyboardInteractiveAuthResponse, Prompt};
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg};
use russh::{MethodKind, MethodSet};
use tracing::debug;

use crate::error::SshError;
use crate::keys::Identity;
use crate::session::ClientHandler;

/// The most keyboard-interactive rounds we answer before calling it a failure (a server that
/// keeps asking would otherwise hold the connection forever).
const MAX_KBDINT_ROUNDS: usize = 16;

/// One way of proving who we are.
#[derive(Clone)]
pub(crate) enum AuthMethod {
    /// Keys held by the SSH agent at this socket.
    Agent(PathBuf),
    /// A private key, or key + certificate.
    Key(Box<Identity>),
    /// `password` method.
    Password(String),
    /// `keyboard-interactive`, answering every prompt with this password.
    KeyboardInteractivePassword(String),
    /// `keyboard-interactive`, asking the person at the terminal (`ssh_bastion_interactive`).
    KeyboardInteractiveTerminal,
}

impl fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Agent(path) => f.debug_tuple("Agent").field(path).finish(),
            Self::Key(identity) => f.debug_tuple("Key").field(identity).finish(),
            Self::Password(_) => f.write_str("Password(<redacted>)"),
            Self::KeyboardInteractivePassword(_) => {
                f.write_str("KeyboardInteractivePassword(<redacted>)")
            }
            Self::KeyboardInteractiveTerminal => f.write_str("KeyboardInteractiveTerminal"),
        }
    }
}

impl AuthMethod {
    /// The SSH method this is an instance of, to skip those the server did not offer.
    pub(crate) fn kind(&self) -> MethodKind {
        match self {
            Self::Agent(_) | Self::Key(_) => MethodKind::PublicKey,
            Self::Password(_) => MethodKind::Password,
            Self::KeyboardInteractivePassword(_) | Self::KeyboardInteractiveTerminal => {
                MethodKind::KeyboardInteractive
            }
        }
    }

    /// A log-safe name for errors ("publickey (private key /x)", "password"...).
    fn describe(&self) -> String {
        match self {
            Self::Agent(_) => "publickey (agent)".into(),
            Self::Key(identity) if identity.certificate.is_some() => {
                format!("publickey (certificate + {})", identity.label)
            }
            Self::Key(identity) => format!("publickey ({})", identity.label),
            Self::Password(_) => "password".into(),
            Self::KeyboardInteractivePassword(_) | Self::KeyboardInteractiveTerminal => {
                "keyboard-interactive".into()
            }
        }
    }
}

/// The target host's methods, in Packer's order.
pub(crate) fn target_methods(
    agent: Option<PathBuf>,
    identities: &[Identity],
    password: Option<&str>,
) -> Vec<AuthMethod> {
    let mut methods = Vec::new();
    if let Some(sock) = agent {
        methods.push(AuthMethod::Agent(sock));
    }
    methods.extend(
        identities
            .iter()
            .cloned()
            .map(|i| AuthMethod::Key(Box::new(i))),
    );
    if let Some(pw) = password.filter(|p| !p.is_empty()) {
        methods.push(AuthMethod::Password(pw.to_string()));
        methods.push(AuthMethod::KeyboardInteractivePassword(pw.to_string()));
    }
    methods
}

/// The bastion's methods, in Packer's order.
pub(crate) fn bastion_methods(
    interactive: bool,
    password: Option<&str>,
    identities: &[Identity],
    agent: Option<PathBuf>,
) -> Vec<AuthMethod> {
    let mut methods = Vec::new();
    if interactive {
        methods.push(AuthMethod::KeyboardInteractiveTerminal);
    }
    if let Some(pw) = password.filter(|p| !p.is_empty()) {
        methods.push(AuthMethod::Password(pw.to_string()));
        methods.push(AuthMethod::KeyboardInteractivePassword(pw.to_string()));
    }
    methods.extend(
        identities
            .iter()
            .cloned()
            .map(|i| AuthMethod::Key(Box::new(i))),
    );
    if let Some(sock) = agent {
        methods.push(AuthMethod::Agent(sock));
    }
    methods
}

/// Whether to try `method` given what the server last said it accepts (`None` = unknown).
pub(crate) fn offered(method: &AuthMethod, allowed: Option<&MethodSet>) -> bool {
    allowed.is_none_or(|set| set.contains(&method.kind()))
}

/// The answers Packer's `PasswordKeyboardInteractive` gives: the password for every prompt.
pub(crate) fn password_answers(prompts: &[Prompt], password: &str) -> Vec<String> {
    prompts.iter().map(|_| password.to_string()).collect()
}

/// Authenticates `user` on an established transport, trying `methods` in order.
pub(crate) async fn authenticate(
    handle: &mut Handle<ClientHandler>,
    user: &str,
    methods: &[AuthMethod],
    addr: &str,
) -> Result<(), SshError> {
    let mut tried: Vec<String> = Vec::new();
    let mut allowed = match handle
        .authenticate_none(user)
        .await
        .map_err(|e| handshake_error(addr, e))?
    {
        AuthResult::Success => return Ok(()),
        AuthResult::Failure {
            remaining_methods, ..
        } => Some(remaining_methods),
    };
    debug!(target: "ssh", %addr, ?allowed, "server accepts these authentication methods");
    // Until the server gives a real list (an empty one comes back when the transport drops),
    // keep trying everything.
    if allowed.as_ref().is_some_and(|set| set.is_empty()) {
        allowed = None;
    }
    for method in methods {
        if handle.is_closed() {
            break;
        }
        if !offered(method, allowed.as_ref()) {
            debug!(target: "ssh", method = %method.describe(), "skipped: not offered by the server");
            continue;
        }
        tried.push(method.describe());
        match try_method(handle, user, method).await {
            Ok(Outcome::Success) => {
                debug!(target: "ssh", %addr, method = %method.describe(), "authenticated");
                return Ok(());
            }
            Ok(Outcome::Failure(remaining)) => {
                if !remaining.is_empty() {
                    allowed = Some(remaining);
                }
            }
            Err(e) => {
                debug!(target: "ssh", method = %method.describe(), error = %e, "authentication method failed");
            }
        }
    }
    if tried.is_empty() && handle.is_closed() {
        return Err(SshError::Handshake {
            addr: addr.to_string(),
            reason: "the server closed the connection during authentication".into(),
        });
    }
    let mut names = vec!["none".to_string()];
    names.extend(tried);
    Err(SshError::Auth {
        user: user.to_string(),
        addr: addr.to_string(),
        tried: names.join(", "),
    })
}

enum Outcome {
    Success,
    Failure(MethodSet),
}

impl From<AuthResult> for Outcome {
    fn from(r: AuthResult) -> Self {
        match r {
            AuthResult::Success => Self::Success,
            AuthResult::Failure {
                remaining_methods, ..
            } => Self::Failure(remaining_methods),
        }
    }
}

async fn try_method(
    handle: &mut Handle<ClientHandler>,
    user: &str,
    method: &AuthMethod,
) -> Result<Outcome, SshError> {
    let lib = |e: russh::Error| SshError::Channel(e.to_string());
    match method {
        AuthMethod::Password(pw) => Ok(handle
            .authenticate_password(user, pw)
            .await
            .map_err(lib)?
            .into()),
        AuthMethod::KeyboardInteractivePassword(pw) => {
            keyboard_interactive(handle, user, |prompts| Ok(password_answers(prompts, pw))).await
        }
        AuthMethod::KeyboardInteractiveTerminal => {
            keyboard_interactive(handle, user, terminal_answers).await
        }
        AuthMethod::Key(identity) => {
            if let Some(cert) = &identity.certificate {
                return Ok(handle
                    .authenticate_openssh_cert(user, identity.key.clone(), cert.clone())
                    .await
                    .map_err(lib)?
                    .into());
            }
            let hash = if identity.key.algorithm().is_rsa() {
                rsa_hash(handle).await
            } else {
                None
            };
            let key = PrivateKeyWithHashAlg::new(identity.key.clone(), hash);
            Ok(handle
                .authenticate_publickey(user, key)
                .await
                .map_err(lib)?
                .into())
        }
        AuthMethod::Agent(sock) => agent_auth(handle, user, sock).await,
    }
}

/// The RSA signature hash the server accepts: SHA-512, SHA-256, or SHA-1 for servers that do not
/// announce `server-sig-algs` (older than OpenSSH 7.2, which accept nothing else).
async fn rsa_hash(handle: &Handle<ClientHandler>) -> Option<HashAlg> {
    match handle.best_supported_rsa_hash().await {
        Ok(Some(hash)) => hash,
        Ok(None) | Err(_) => None,
    }
}

async fn keyboard_interactive<F>(
    handle: &mut Handle<ClientHandler>,
    user: &str,
    mut answer: F,
) -> Result<Outcome, SshError>
where
    F: FnMut(&[Prompt]) -> Result<Vec<String>, SshError>,
{
    let lib = |e: russh::Error| SshError::Channel(e.to_string());
    let mut reply = handle
        .authenticate_keyboard_interactive_start(user, None)
        .await
        .map_err(lib)?;
    for _ in 0..MAX_KBDINT_ROUNDS {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(Outcome::Success),
            KeyboardInteractiveAuthResponse::Failure {
                remaining_methods, ..
            } => return Ok(Outcome::Failure(remaining_methods)),
            KeyboardInteractiveAuthResponse::InfoRequest {
                name,
                instructions,
                prompts,
            } => {
                debug!(target: "ssh", %name, %instructions, prompts = prompts.len(), "keyboard-interactive challenge");
                let answers = answer(&prompts)?;
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                    .map_err(lib)?;
            }
        }
    }
    Err(SshError::Channel(
        "keyboard-interactive: the server kept asking questions".into(),
    ))
}

/// Asks the person at the controlling terminal, without echo (Packer's `ssh_bastion_interactive`).
fn terminal_answers(prompts: &[Prompt]) -> Result<Vec<String>, SshError> {
    prompts
        .iter()
        .map(|p| {
            rpassword::prompt_password(&p.prompt).map_err(|e| {
                SshError::Config(format!(
                    "ssh_bastion_interactive needs a terminal to ask {:?}: {e}",
                    p.prompt
                ))
            })
        })
        .collect()
}

async fn agent_auth(
    handle: &mut Handle<ClientHandler>,
    user: &str,
    sock: &std::path::Path,
) -> Result<Outcome, SshError> {
    let mut agent = AgentClient::connect_uds(sock)
        .await
        .map_err(|e| SshError::Agent(format!("cannot connect to {}: {e}", sock.display())))?;
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| SshError::Agent(format!("listing keys: {e}")))?;
    let mut last = Outcome::Failure(MethodSet::empty());
    for identity in identities {
        let result = match identity {
            AgentIdentity::PublicKey { key, .. } => {
                let hash = if key.algorithm().is_rsa() {
                    rsa_hash(handle).await
                } else {
                    None
                };
                handle
                    .authenticate_publickey_with(user, key, hash, &mut agent)
                    .await
            }
            AgentIdentity::Certificate { certificate, .. } => {
                handle
                    .authenticate_certificate_with(user, certificate, None, &mut agent)
                    .await
            }
        };
        match result {
            Ok(AuthResult::Success) => return Ok(Outcome::Success),
            Ok(failure) => last = failure.into(),
            Err(e) => debug!(target: "ssh", error = %e, "agent key refused"),
        }
    }
    Ok(last)
}

fn handshake_error(addr: &str, e: russh::Error) -> SshError {
    SshError::Handshake {
        addr: addr.to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::decode_private_key;
    use std::sync::Arc;

    fn identity() -> Identity {
        let pair = crate::keys::generate_temporary_key_pair("ed25519", 0).unwrap();
        Identity {
            key: Arc::new(decode_private_key(&pair.private_key_pem, "t").unwrap()),
            certificate: None,
            label: "private key t".into(),
        }
    }

    fn kinds(methods: &[AuthMethod]) -> Vec<MethodKind> {
        methods.iter().map(AuthMethod::kind).collect()
    }

    #[test]
    fn target_order_is_agent_keys_password_kbdint() {
        let m = target_methods(Some("/sock".into()), &[identity()], Some("pw"));
        assert!(matches!(m.first(), Some(AuthMethod::Agent(_))));
        assert_eq!(
            kinds(&m),
            [
                MethodKind::PublicKey,
                MethodKind::PublicKey,
                MethodKind::Password,
                MethodKind::KeyboardInteractive
            ]
        );
        // An empty password is "no password", as in Go (`if c.SSHPassword != ""`).
        assert!(target_methods(None, &[], Some("")).is_empty());
    }

    #[test]
    fn bastion_order_is_terminal_password_kbdint_key_agent() {
        let m = bastion_methods(true, Some("pw"), &[identity()], Some("/sock".into()));
        assert!(matches!(
            m.first(),
            Some(AuthMethod::KeyboardInteractiveTerminal)
        ));
        assert!(matches!(m.last(), Some(AuthMethod::Agent(_))));
        assert_eq!(
            kinds(&m),
            [
                MethodKind::KeyboardInteractive,
                MethodKind::Password,
                MethodKind::KeyboardInteractive,
                MethodKind::PublicKey,
                MethodKind::PublicKey
            ]
        );
    }

    #[test]
    fn methods_the_server_did_not_list_are_skipped() {
        let pw = AuthMethod::Password("x".into());
        let only_keys = MethodSet::from(&[MethodKind::PublicKey][..]);
        assert!(!offered(&pw, Some(&only_keys)));
        assert!(offered(
            &AuthMethod::Key(Box::new(identity())),
            Some(&only_keys)
        ));
        assert!(offered(&pw, None));
    }

    #[test]
    fn every_prompt_gets_the_password() {
        let prompts = vec![
            Prompt {
                prompt: "Password: ".into(),
                echo: false,
            },
            Prompt {
                prompt: "Again: ".into(),
                echo: false,
            },
        ];
        assert_eq!(password_answers(&prompts, "pw"), ["pw", "pw"]);
        assert!(password_answers(&[], "pw").is_empty());
    }

    #[test]
    fn debug_hides_passwords() {
        let text = format!("{:?}", target_methods(None, &[], Some("very-secret-pw")));
        assert!(!text.contains("very-secret-pw"), "{text}");
    }
}
