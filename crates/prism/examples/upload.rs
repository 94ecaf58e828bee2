//! Benchmark driver for `scripts/bench-upload.sh`: runs the prism client's image upload in a
//! process of its own, so its wall time and peak RSS (`/usr/bin/time -v`) can be set beside
//! `curl -T` against the same simulator endpoint.
//!
//! ```text
//! upload create <base-url> <image-name>            prints the new (empty) image's UUID
//! upload put    <base-url> <image-uuid> <file>     streams <file> with upload_image_file
//! ```
//! TLS: `--cacert <pem>` trusts only that CA; `--insecure` accepts any certificate.
//! Credentials come from PRISM_USERNAME / PRISM_PASSWORD (default admin / secret), never from
//! the command line, so they do not show in `ps`.
//! `put` prints one JSON line on stdout: bytes, attempts and the upload's own seconds.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use prism::models::ImageType;
use prism::{
    Auth, ClientConfig, ImageSource, NewImage, PrismClient, PrismError, UploadOptions, Wait,
};

/// What the command line asked for.
enum Action {
    Create { name: String },
    Put { uuid: String, file: PathBuf },
}

/// A parsed command line.
struct Args {
    base_url: String,
    action: Action,
    cacert: Option<PathBuf>,
    insecure: bool,
}

/// Why the example stopped.
#[derive(Debug, thiserror::Error)]
enum ExampleError {
    #[error("usage: upload create <base-url> <name> | upload put <base-url> <uuid> <file> [--cacert PEM | --insecure] ({0})")]
    Usage(String),
    #[error("cannot read the CA file {path}: {source}")]
    CaFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Prism(#[from] PrismError),
    #[error("Prism returned image '{0}' without a UUID")]
    NoUuid(String),
}

fn parse_args(mut raw: impl Iterator<Item = String>) -> Result<Args, ExampleError> {
    let mut positional = Vec::new();
    let mut cacert = None;
    let mut insecure = false;
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "--cacert" => {
                let path = raw
                    .next()
                    .ok_or_else(|| ExampleError::Usage("--cacert needs a file".into()))?;
                cacert = Some(PathBuf::from(path));
            }
            "--insecure" => insecure = true,
            _ => positional.push(arg),
        }
    }
    let mut it = positional.into_iter();
    let verb = it.next();
    let base_url = it
        .next()
        .ok_or_else(|| ExampleError::Usage("missing base URL".into()))?;
    let action = match verb.as_deref() {
        Some("create") => Action::Create {
            name: it
                .next()
                .ok_or_else(|| ExampleError::Usage("missing image name".into()))?,
        },
        Some("put") => {
            let uuid = it
                .next()
                .ok_or_else(|| ExampleError::Usage("missing image UUID".into()))?;
            let file = it
                .next()
                .ok_or_else(|| ExampleError::Usage("missing file".into()))?;
            Action::Put {
                uuid,
                file: PathBuf::from(file),
            }
        }
        other => return Err(ExampleError::Usage(format!("unknown verb {other:?}"))),
    };
    Ok(Args {
        base_url,
        action,
        cacert,
        insecure,
    })
}

fn client(args: &Args) -> Result<PrismClient, ExampleError> {
    let username = std::env::var("PRISM_USERNAME").unwrap_or_else(|_| "admin".into());
    let password = std::env::var("PRISM_PASSWORD").unwrap_or_else(|_| "secret".into());
    let mut config = ClientConfig::from_base_url(&args.base_url, Auth::basic(&username, password))?;
    config.use_env_proxy = false;
    config.tls.danger_accept_invalid_certs = args.insecure;
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path).map_err(|source| ExampleError::CaFile {
            path: path.clone(),
            source,
        })?;
        config.tls.ca_bundle_pem = Some(pem);
    }
    Ok(PrismClient::new(config)?)
}

async fn run(args: Args) -> Result<String, ExampleError> {
    let client = client(&args)?;
    match &args.action {
        Action::Create { name } => {
            let new = NewImage {
                name: name.clone(),
                description: Some("bench upload target".into()),
                image_type: ImageType::DiskImage,
                source: ImageSource::Upload,
                cluster_uuid: None,
                categories: Default::default(),
            };
            let image = client
                .create_image(&new, &Wait::new(Duration::from_secs(60)))
                .await?;
            image
                .metadata
                .uuid
                .clone()
                .ok_or_else(|| ExampleError::NoUuid(name.clone()))
        }
        Action::Put { uuid, file } => {
            let started = Instant::now();
            let report = client
                .upload_image_file(uuid, file, &UploadOptions::default())
                .await?;
            let seconds = started.elapsed().as_secs_f64();
            Ok(serde_json::json!({
                "bytes": report.bytes,
                "attempts": report.attempts,
                "seconds": seconds,
            })
            .to_string())
        }
    }
}

fn main() -> ExitCode {
    let outcome = parse_args(std::env::args().skip(1)).and_then(|args| {
        // The same multi-threaded runtime the plugin runs its builds on.
        let runtime = tokio::runtime::Runtime::new().map_err(ExampleError::Runtime)?;
        runtime.block_on(run(args))
    });
    match outcome {
        Ok(line) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{line}").is_err() {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("upload: {e}");
            ExitCode::from(1)
        }
    }
}
