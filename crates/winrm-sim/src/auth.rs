//! Authentication as the WinRM service does it: Basic per request, NTLM (offered as
//! `Negotiate`) per connection: once a connection completed the handshake, its later requests
//! need no Authorization header.

use std::sync::Mutex;

use base64::Engine as _;
use bytes::Bytes;
use http::{header, StatusCode};
use winrm_communicator::ntlm;

use crate::server::{reply, ConnAuth, Front, Resp};

// GUESS: a 401 from the WinRM service has an empty body and one WWW-Authenticate header per
// scheme (`Negotiate`, `Basic realm="WSMAN"` when Basic is enabled); Kerberos is not offered.
fn unauthorized(front: &Front, ntlm_token: Option<(&str, String)>) -> Resp {
    let mut r = reply(StatusCode::UNAUTHORIZED, None, Bytes::new());
    let h = r.headers_mut();
    match ntlm_token {
        Some((scheme, token)) => {
            if let Ok(v) = header::HeaderValue::from_str(&format!("{scheme} {token}")) {
                h.append(header::WWW_AUTHENTICATE, v);
            }
        }
        None => {
            if front.ntlm {
                h.append(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Negotiate"),
                );
            }
            if front.basic {
                h.append(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"WSMAN\""),
                );
            }
        }
    }
    r
}

/// Authenticates the request; `Err` is the reply to send instead.
#[allow(clippy::result_large_err)] // the error IS the reply; boxing it buys nothing here
pub(crate) fn authenticate(
    front: &Front,
    auth: &Mutex<ConnAuth>,
    authorization: Option<&str>,
) -> Result<(), Resp> {
    let Ok(mut conn) = auth.lock() else {
        return Err(reply(StatusCode::INTERNAL_SERVER_ERROR, None, Bytes::new()));
    };
    let Some(value) = authorization else {
        if conn.authenticated {
            return Ok(());
        }
        front.state.count("auth_challenged");
        return Err(unauthorized(front, None));
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let b64 = &base64::engine::general_purpose::STANDARD;
    if scheme.eq_ignore_ascii_case("Basic") && front.basic {
        let ok = b64
            .decode(token.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            })
            .is_some_and(|(u, p)| u.eq_ignore_ascii_case(&front.username) && p == front.password);
        if ok {
            front.state.count("auth_basic_ok");
            return Ok(());
        }
        front.state.count("auth_rejected");
        return Err(unauthorized(front, None));
    }
    let is_ntlm = scheme.eq_ignore_ascii_case("Negotiate") || scheme.eq_ignore_ascii_case("NTLM");
    if !(is_ntlm && front.ntlm) {
        front.state.count("auth_rejected");
        return Err(unauthorized(front, None));
    }
    let Ok(raw) = b64.decode(token.trim()) else {
        front.state.count("auth_rejected");
        return Err(reply(
            StatusCode::BAD_REQUEST,
            None,
            "the NTLM token is not base64",
        ));
    };
    match raw.get(8..12) {
        Some([1, 0, 0, 0]) => {
            let challenge: [u8; 8] = rand::random();
            conn.challenge = Some(challenge);
            conn.authenticated = false;
            let msg = if front.state.take_ntlm_fault() {
                b"this is not an NTLM challenge".to_vec()
            } else {
                let host = front.state.hostname();
                ntlm::Challenge::build(challenge, &host, ntlm::filetime_now())
            };
            Err(unauthorized(front, Some((scheme, b64.encode(msg)))))
        }
        Some([3, 0, 0, 0]) => {
            let verified = conn.challenge.take().is_some_and(|challenge| {
                ntlm::Authenticate::parse(&raw).is_ok_and(|a| {
                    let (user, _) = ntlm::split_user(&front.username);
                    a.user.eq_ignore_ascii_case(user) && a.verify(&front.password, &challenge)
                })
            });
            if verified {
                conn.authenticated = true;
                front.state.count("auth_ntlm_ok");
                Ok(())
            } else {
                front.state.count("auth_rejected");
                Err(unauthorized(front, None))
            }
        }
        _ => {
            front.state.count("auth_rejected");
            Err(unauthorized(front, None))
        }
    }
}
