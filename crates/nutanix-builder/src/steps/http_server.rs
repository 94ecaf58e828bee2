//! `http_directory` / `http_content`: serves files to the VM while it installs and provisions
//! (the `cdrom` crate's server), and works out the address the VM should use for it, published
//! to provisioners as `PackerHTTPIP`/`PackerHTTPPort`/`PackerHTTPAddr`.

use std::net::{IpAddr, SocketAddr};

use nutanix_config::Config;

use crate::context::Ctx;
use crate::error::BuildError;
use crate::generated_data::HttpInfo;

/// The address of this machine the VM can reach: the bind address when one is given, otherwise
/// the local end of a route to Prism Central (the VM's cluster sits on that side of the network).
/// No packet is sent: a UDP socket is only connected, which makes the OS choose the route.
async fn reachable_ip(bind: IpAddr, endpoint: &str, port: u16) -> Option<IpAddr> {
    if !bind.is_unspecified() {
        return Some(bind);
    }
    let target: SocketAddr = tokio::net::lookup_host((endpoint, port))
        .await
        .ok()?
        .next()?;
    let local: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let socket = tokio::net::UdpSocket::bind(local).await.ok()?;
    socket.connect(target).await.ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

/// The step: the running server and how the VM reaches it.
pub(crate) async fn run(
    ctx: &Ctx,
    serve: &cdrom::HttpServe,
    cfg: &Config,
) -> Result<(cdrom::HttpServer, HttpInfo), BuildError> {
    ctx.out.say("Starting the HTTP server...").await;
    let server = cdrom::start_http_server(serve.clone())
        .await
        .map_err(|e| BuildError::unexpected("starting the HTTP server", e.to_string()))?;
    let cl = &cfg.cluster;
    let bind = serve.bind_address;
    let ip = reachable_ip(bind, &cl.nutanix_endpoint, cl.nutanix_port)
        .await
        .unwrap_or(bind);
    let info = HttpInfo {
        ip: ip.to_string(),
        port: server.port(),
    };
    ctx.out
        .message(format!(
            "HTTP server listening on {}; the VM reaches it as http://{}:{}/",
            server.addr(),
            info.ip,
            info.port
        ))
        .await;
    Ok((server, info))
}
