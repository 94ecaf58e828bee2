//! Builds a CD image from the command line, to inspect the writer with other tools:
//! `cargo run -p cdrom --example mkiso -- OUT_DIR LABEL ENTRY...` (`key=value` entries go to
//! cd_content).
use std::collections::BTreeMap;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: mkiso OUT_DIR LABEL ENTRY...")?;
    let label = args.next().unwrap_or_default();
    let mut spec = cdrom::CdSpec {
        label,
        base_dir: std::env::current_dir()?,
        content: BTreeMap::new(),
        files: Vec::new(),
    };
    for a in args {
        match a.split_once('=') {
            Some((k, v)) => {
                spec.content.insert(k.to_owned(), v.to_owned());
            }
            None => spec.files.push(a),
        }
    }
    let iso = cdrom::build_iso(&spec, std::path::Path::new(&out)).await?;
    eprintln!("{} ({} bytes): {:?}", iso.path.display(), iso.size, iso.files);
    Ok(())
}
