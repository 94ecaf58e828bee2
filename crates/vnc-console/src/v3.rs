//! The v3 console path, as the Go plugin's v1.2 line takes it: `GET /api/nutanix/v3/users/me`
//! with the build's credentials yields a session cookie (`NTNX_MERCURY_IAM_SESSION`); the
//! websocket `/vnc/vm/{vm}/proxy?proxyClusterUuid={cluster}` is opened with that cookie alone.

use tokio::time::Instant;

use crate::error::ConsoleError;
use crate::link::Link;
use crate::net::{exchange_deadline, host_header, step, upgrade, Dialer};
use crate::rest::Rest;
use crate::target::{checked_uuid, ConsoleTarget};

/// Session cookies Prism Central sets; the Go plugin requires the first, Nutanix's own console
/// proxy script also forwards the other two.
pub const SESSION_COOKIES: &[&str] = &[
    "NTNX_MERCURY_IAM_SESSION",
    "NTNX_IAM_SESSION",
    "NTNX_IGW_SESSION",
];

/// The websocket path of a VM's console.
pub(crate) fn path(vm: &str, cluster: &str) -> String {
    format!("/vnc/vm/{vm}/proxy?proxyClusterUuid={cluster}")
}

/// Opens the console; `what` is updated to name the step being attempted.
pub(crate) async fn open(
    target: &ConsoleTarget,
    dialer: &Dialer,
    rest: &Rest,
    deadline: Instant,
    what: &mut String,
) -> Result<Link, ConsoleError> {
    let origin = target.origin()?;
    let vm = target.vm()?;
    let ws_scheme = if origin.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    let host = host_header(target);
    let cluster = match target.cluster_uuid.as_deref() {
        Some(c) => checked_uuid("cluster_uuid", c)?,
        None => {
            *what = "v3 websocket".into();
            return Err(ConsoleError::Config(
                "the VM's cluster UUID is needed for proxyClusterUuid and was not given".into(),
            ));
        }
    };
    let path = path(vm, cluster);
    *what = format!("v3 websocket at {ws_scheme}://{host}{path}");

    let me = origin
        .join("api/nutanix/v3/users/me")
        .map_err(|e| ConsoleError::Config(e.to_string()))?;
    let me_label = format!("session cookie from GET {me}");
    let answer = step(
        &me_label,
        deadline,
        rest.call(reqwest::Method::GET, me, &[]),
    )
    .await?;
    if answer.status != 200 {
        return Err(ConsoleError::Http {
            what: me_label,
            message: answer.failure(),
        });
    }
    let cookies: Vec<String> = answer
        .headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(|pair| pair.trim().to_string())
        .filter(|pair| pair.contains('='))
        .collect();
    if !cookies.iter().any(|c| {
        SESSION_COOKIES
            .iter()
            .any(|name| c.split('=').next() == Some(name))
    }) {
        return Err(ConsoleError::Http {
            what: me_label,
            message: format!(
                "HTTP 200 without a session cookie (expected {}); this Prism Central may not \
                 offer the v3 console",
                SESSION_COOKIES.join(" or ")
            ),
        });
    }
    tracing::debug!(
        cookies = cookies.len(),
        "v3 console session cookie received"
    );

    let mut headers = vec![
        (
            "Origin".to_string(),
            origin.as_str().trim_end_matches('/').to_string(),
        ),
        ("User-Agent".to_string(), target.user_agent.clone()),
        ("Cookie".to_string(), cookies.join("; ")),
    ];
    for c in &target.custom_headers {
        headers.push((c.name.clone(), c.value.expose().to_string()));
    }
    crate::target::check_headers(&headers)?;
    let io = step("connect", exchange_deadline(deadline), dialer.stream()).await?;
    let (io, leftover) = step(
        "websocket upgrade",
        exchange_deadline(deadline),
        upgrade(io, &path, &host, &headers),
    )
    .await?;
    Ok(Link::websocket(io, leftover, what.clone()))
}
