//! `ssh_clear_authorized_keys`: after provisioning, removes the build's temporary public key
//! from the guest's `authorized_keys` files (the SSH user's and root's), as Packer's SDK builders
//! do, so the saved image does not trust a key that existed only for this build. Only the exact
//! key the build generated is removed; keys the template or the image brought stay. Like the SDK,
//! a failure here is reported and does not fail the build: the private key never left the build.

use std::sync::Arc;

use tokio::io::AsyncReadExt;

use crate::context::Ctx;
use crate::error::BuildError;
use crate::ssh_key::BuildKeys;

/// The step, for a build that generated `keys`.
pub(crate) async fn run(
    b: &Ctx,
    comm: Arc<dyn packer_rpc::Communicator>,
    keys: &BuildKeys,
) -> Result<(), BuildError> {
    let Some(key_body) = temporary_key_body(keys) else {
        return Ok(());
    };
    b.out
        .say("Removing the temporary SSH key from authorized_keys (ssh_clear_authorized_keys)...")
        .await;
    for command in removal_commands(&key_body) {
        let (reader, writer) = tokio::io::duplex(64 * 1024);
        let cmd = packer_rpc::RemoteCommand {
            command: command.clone(),
            stdin: None,
            stdout: None,
            stderr: Some(Box::new(writer)),
        };
        let outcome = match comm.start(cmd).await {
            Ok(exited) => {
                let mut stderr = String::new();
                let mut reader = reader;
                let _ = reader.read_to_string(&mut stderr).await;
                match exited.await {
                    Ok(0) => Ok(()),
                    Ok(status) => Err(format!("exit status {status}: {}", stderr.trim())),
                    Err(_) => Err("the command's status never arrived".to_string()),
                }
            }
            Err(e) => Err(e),
        };
        if let Err(why) = outcome {
            b.out
                .error(format!(
                    "Could not remove the temporary SSH key with `{command}`: {}",
                    b.out.redact(&why)
                ))
                .await;
        }
    }
    Ok(())
}

/// The base64 body of the public key this build generated, when it generated one.
fn temporary_key_body(keys: &BuildKeys) -> Option<String> {
    keys.generated_private_key()?;
    key_body(keys.public_key())
}

/// `ssh-ed25519 AAAA... comment` → `AAAA...`: the part that identifies the key.
fn key_body(authorized_line: &str) -> Option<String> {
    let body = authorized_line.split_whitespace().nth(1)?;
    body.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .then(|| body.to_string())
}

/// Shell commands that delete every line holding `body` from the user's and root's
/// authorized_keys (root's through sudo, which may be absent: then only the first applies).
/// `body` is base64, so it needs no quoting inside the sed address beyond `/`, which is escaped.
fn removal_commands(body: &str) -> Vec<String> {
    let pattern = body.replace('/', "\\/");
    vec![
        format!("if [ -f ~/.ssh/authorized_keys ]; then sed -i '/{pattern}/d' ~/.ssh/authorized_keys; fi"),
        format!(
            "if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
             sudo -n sh -c \"if [ -f /root/.ssh/authorized_keys ]; then sed -i '/{pattern}/d' /root/.ssh/authorized_keys; fi\"; fi"
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_body_is_the_second_field_and_must_be_base64() {
        assert_eq!(
            key_body("ssh-ed25519 AAAAC3Nza+/x= packer_temp\n").as_deref(),
            Some("AAAAC3Nza+/x=")
        );
        assert_eq!(key_body("ssh-rsa"), None);
        assert_eq!(key_body("ssh-rsa AAAA;rm -rf / x"), None);
    }

    #[test]
    fn removal_commands_escape_slashes_and_cover_user_and_root() {
        let cmds = removal_commands("AB/C+=");
        assert_eq!(cmds.len(), 2);
        assert!(
            cmds[0].contains("sed -i '/AB\\/C+=/d' ~/.ssh/authorized_keys"),
            "{}",
            cmds[0]
        );
        assert!(
            cmds[1].contains("/root/.ssh/authorized_keys"),
            "{}",
            cmds[1]
        );
        assert!(cmds[1].contains("sudo -n"), "{}", cmds[1]);
    }

    #[test]
    fn the_commands_remove_exactly_the_key_line() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        let keys = "ssh-ed25519 AAAAkeep1 user@laptop\nssh-rsa AAAA/temp+key= packer\nssh-ed25519 AAAAkeep2 ci\n";
        std::fs::write(home.join(".ssh/authorized_keys"), keys).unwrap();
        let cmd = &removal_commands("AAAA/temp+key=")[0];
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("HOME", home)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let left = std::fs::read_to_string(home.join(".ssh/authorized_keys")).unwrap();
        assert_eq!(
            left,
            "ssh-ed25519 AAAAkeep1 user@laptop\nssh-ed25519 AAAAkeep2 ci\n"
        );
    }
}
