//! Small syntax checks shared by the validation rules.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// A Prism UUID in its only accepted form, `8-4-4-4-12` hex digits.
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// A 48-bit MAC address in a form Go's `net.ParseMAC` accepts: `aa:bb:cc:dd:ee:ff`,
/// `aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff`, or `aabbccddeeff`. Longer (EUI-64, InfiniBand) addresses,
/// which Go also accepts, cannot be used on a Prism NIC.
pub(crate) fn is_mac48(s: &str) -> bool {
    let hex =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit());
    for sep in [':', '-'] {
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() == 6 && parts.iter().all(|p| hex(p, 2)) {
            return true;
        }
    }
    let dotted: Vec<&str> = s.split('.').collect();
    if dotted.len() == 3 && dotted.iter().all(|p| hex(p, 4)) {
        return true;
    }
    hex(s, 12)
}

/// A dotted-quad IPv4 address (Go's `net.ParseIP(s).To4() != nil`, without IPv4-mapped IPv6).
pub(crate) fn is_ipv4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

/// The SDK's `ssh_local_tunnels` / `ssh_remote_tunnels` syntax: `port:host:port`.
pub(crate) fn tunnel_error(spec: &str) -> Option<String> {
    let Some((listen, forward)) = spec.split_once(':') else {
        return Some(format!("{spec:?} is not of the form port:host:port"));
    };
    let port_of_forward = if let Some(rest) = forward.strip_prefix('[') {
        rest.split_once("]:").map(|(_, p)| p)
    } else {
        forward.rsplit_once(':').map(|(_, p)| p)
    };
    let Some(fport) = port_of_forward else {
        return Some(format!("{forward:?} must be a tcp address host:port"));
    };
    if fport.parse::<u16>().is_err() {
        return Some(format!("forwarding port {fport:?} must be a valid port"));
    }
    if listen.parse::<u16>().is_err() {
        return Some(format!("listening port {listen:?} must be a valid port"));
    }
    None
}

/// An HTTP header name (RFC 9110 token).
pub(crate) fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Expands a leading `~` the way the SDK's `pathing.ExpandUser` does.
pub fn expand_user(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(path),
    }
}

/// Why `path` is not a readable regular file, if it is not.
pub(crate) fn file_problem(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => None,
        Ok(_) => Some(format!("{} is not a regular file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("file {} does not exist", path.display()))
        }
        Err(e) => Some(format!("cannot read {}: {e}", path.display())),
    }
}

/// Why `path` is not a directory, if it is not.
pub(crate) fn dir_problem(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => None,
        Ok(_) => Some(format!("{} is not a directory", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("directory {} does not exist", path.display()))
        }
        Err(e) => Some(format!("cannot read {}: {e}", path.display())),
    }
}

/// Whether a `cd_files` entry is a glob (`*`, `?`, `[`), which the SDK expands and never rejects.
pub(crate) fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::go_vectors;

    #[test]
    fn mac_addresses_follow_go_parse_mac_restricted_to_48_bits() {
        let v = go_vectors();
        for c in v["macs"].as_array().unwrap() {
            let input = c["input"].as_str().unwrap();
            let go_ok = c["valid"].as_bool().unwrap() && c["bytes"].as_u64() == Some(6);
            assert_eq!(is_mac48(input), go_ok, "{input:?}");
        }
    }

    #[test]
    fn small_syntaxes() {
        assert!(is_uuid("0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f"));
        assert!(!is_uuid("0005a7b83f5c4e5a8d3e9a1b2c3d4e5f"));
        assert!(!is_uuid("not-a-uuid"));
        assert!(is_ipv4("10.0.1.50"));
        assert!(!is_ipv4("10.0.1"));
        assert!(!is_ipv4("::1"));
        assert_eq!(tunnel_error("8080:localhost:80"), None);
        assert_eq!(tunnel_error("8080:[::1]:80"), None);
        assert!(tunnel_error("8080").is_some());
        assert!(tunnel_error("x:localhost:80").is_some());
        assert!(tunnel_error("8080:localhost:http").is_some());
        assert!(is_header_name("CF-Access-Client-Id"));
        assert!(!is_header_name("Bad Header"));
        assert_eq!(
            expand_user("~/k", Some(Path::new("/home/u"))),
            PathBuf::from("/home/u/k")
        );
        assert_eq!(
            expand_user("~other/k", Some(Path::new("/home/u"))),
            PathBuf::from("~other/k")
        );
    }
}
