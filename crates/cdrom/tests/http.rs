//! The boot-time HTTP server over real sockets on 127.0.0.1, driven by reqwest (and by raw
//! TCP where a client would normalise the path for us).

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use cdrom::{start_http_server, CdError, HttpServe, HttpServer};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn serve(dir: Option<&Path>, content: &[(&str, &str)]) -> HttpServe {
    HttpServe {
        directory: dir.map(Path::to_path_buf),
        content: content
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        bind_address: LOCALHOST,
        port_min: 0,
        port_max: 0,
    }
}

fn url(server: &HttpServer, path: &str) -> String {
    format!("http://{}{path}", server.addr())
}

fn client() -> reqwest::Client {
    // Already installed by another test of this binary: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends `request` as raw bytes and returns the status line.
async fn raw_status(addr: SocketAddr, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ks/sub")).unwrap();
    std::fs::write(dir.path().join("ks/rhel9.cfg"), "text\nreboot\n").unwrap();
    std::fs::write(dir.path().join("ks/sub/x.txt"), "x").unwrap();
    std::fs::write(dir.path().join("preseed.cfg"), "d-i from the directory\n").unwrap();
    let big: Vec<u8> = (0..(3u32 << 20) + 5).map(|i| (i % 241) as u8).collect();
    std::fs::write(dir.path().join("big.img"), big).unwrap();
    dir
}

#[tokio::test]
async fn serves_the_directory_with_get_head_and_ranges() {
    let dir = site();
    let server = start_http_server(serve(Some(dir.path()), &[]))
        .await
        .unwrap();
    let c = client();

    let r = c.get(url(&server, "/ks/rhel9.cfg")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(r.headers().contains_key("last-modified"));
    assert_eq!(r.text().await.unwrap(), "text\nreboot\n");

    let big = std::fs::read(dir.path().join("big.img")).unwrap();
    let r = c.get(url(&server, "/big.img")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(r.bytes().await.unwrap() == big, "big.img differs");

    let r = c.head(url(&server, "/big.img")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-length"],
        big.len().to_string().as_str()
    );
    assert!(r.bytes().await.unwrap().is_empty());

    let r = c
        .get(url(&server, "/big.img"))
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 1000-1999/{}", big.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap(), big[1000..2000]);

    let r = c
        .get(url(&server, "/big.img"))
        .header("range", format!("bytes={}-", big.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // Percent-encoded names are decoded.
    std::fs::write(dir.path().join("with space.cfg"), "s").unwrap();
    let r = c
        .get(url(&server, "/with%20space.cfg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "s");
}

#[tokio::test]
async fn content_wins_over_the_directory() {
    let dir = site();
    let server = start_http_server(serve(
        Some(dir.path()),
        &[
            ("/preseed.cfg", "d-i from content\n"),
            ("user-data", "#cloud-config\n"),
        ],
    ))
    .await
    .unwrap();
    let c = client();
    let get = |p: &str| c.get(url(&server, p)).send();
    assert_eq!(
        get("/preseed.cfg").await.unwrap().text().await.unwrap(),
        "d-i from content\n"
    );
    // A key without its leading slash is served at /key.
    assert_eq!(
        get("/user-data").await.unwrap().text().await.unwrap(),
        "#cloud-config\n"
    );
    // The directory still answers for the rest.
    assert_eq!(
        get("/ks/sub/x.txt").await.unwrap().text().await.unwrap(),
        "x"
    );
    assert_eq!(get("/nope").await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn content_only_404_suggests_a_key() {
    let server = start_http_server(serve(None, &[("/preseed.cfg", "d-i\n")]))
        .await
        .unwrap();
    let r = client()
        .get(url(&server, "/preseed.cf"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.text().await.unwrap(),
        "/preseed.cf not found. Did you mean \"/preseed.cfg\"?\n"
    );
    let r = client()
        .head(url(&server, "/preseed.cfg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "4");
}

#[tokio::test]
async fn traversal_and_other_methods_are_refused() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("secret"), "secret").unwrap();
    std::fs::create_dir(outer.path().join("www")).unwrap();
    std::fs::write(outer.path().join("www/ok"), "ok").unwrap();
    let server = start_http_server(serve(Some(&outer.path().join("www")), &[]))
        .await
        .unwrap();
    let addr = server.addr();
    for path in [
        "/../secret",
        "/%2e%2e/secret",
        "/ok/..%2f..%2fsecret",
        "/a/../../secret",
    ] {
        let status = raw_status(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status, "HTTP/1.1 400 Bad Request", "{path}");
    }
    assert_eq!(
        raw_status(
            addr,
            "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .await,
        "HTTP/1.1 200 OK"
    );
    let r = client().post(url(&server, "/ok")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn directories_redirect_then_list_or_serve_index() {
    let dir = site();
    let server = start_http_server(serve(Some(dir.path()), &[]))
        .await
        .unwrap();
    let c = client();
    let r = c.get(url(&server, "/ks")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.headers()["location"], "ks/");
    let r = c.get(url(&server, "/ks/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<a href=\"rhel9.cfg\">rhel9.cfg</a>"),
        "{html}"
    );
    assert!(html.contains("<a href=\"sub/\">sub/</a>"), "{html}");
    std::fs::write(dir.path().join("ks/index.html"), "<html>index</html>").unwrap();
    let r = c.get(url(&server, "/ks/")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.text().await.unwrap(), "<html>index</html>");
}

#[tokio::test]
async fn picks_the_first_free_port_of_the_range() {
    // Hold one port, ask for a range starting there.
    let taken = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let Some(max) = port.checked_add(40) else {
        return; // the OS gave us the very top of the port space; nothing to test here
    };
    let mut cfg = serve(None, &[("/a", "a")]);
    cfg.port_min = port;
    cfg.port_max = max;
    let server = start_http_server(cfg.clone()).await.unwrap();
    assert!(
        server.port() > port && server.port() <= max,
        "{}",
        server.port()
    );

    cfg.port_max = port;
    let err = start_http_server(cfg.clone()).await.unwrap_err();
    assert!(
        matches!(err, CdError::NoFreePort { min, max, .. } if min == port && max == port),
        "{err}"
    );

    cfg.port_min = port + 1;
    let err = start_http_server(cfg).await.unwrap_err();
    assert!(matches!(err, CdError::PortRange { .. }), "{err}");
    drop(taken);
}

#[tokio::test]
async fn a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = start_http_server(serve(Some(&dir.path().join("missing")), &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, CdError::HttpDirectory { .. }), "{err}");
    std::fs::write(dir.path().join("file"), "").unwrap();
    let err = start_http_server(serve(Some(&dir.path().join("file")), &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, CdError::HttpDirectory { .. }), "{err}");
}

#[tokio::test]
async fn shutdown_and_drop_release_the_port() {
    let server = start_http_server(serve(None, &[("/a", "a")]))
        .await
        .unwrap();
    let addr = server.addr();
    assert_eq!(
        client()
            .get(url(&server, "/a"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let server = start_http_server(serve(None, &[("/a", "a")]))
        .await
        .unwrap();
    let addr = server.addr();
    drop(server);
    // The server task notices the drop on its next turn; give it a bounded number of turns.
    let mut released = false;
    for _ in 0..200 {
        tokio::task::yield_now().await;
        if std::net::TcpListener::bind(addr).is_ok() {
            released = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(released, "the port was not released after drop");
}
