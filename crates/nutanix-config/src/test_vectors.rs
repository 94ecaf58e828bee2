//! Access to the golden vectors produced by real Go code (`testdata/go-vectors.json`, written by
//! `testdata/go-vectors/main.go`).

use chrono::{DateTime, Utc};

pub(crate) fn go_vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../testdata/go-vectors.json")).unwrap()
}

/// The instant the Go generator pinned as Packer's init time.
pub(crate) fn go_init_time() -> DateTime<Utc> {
    let v = go_vectors();
    DateTime::parse_from_rfc3339(v["init_time"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}
