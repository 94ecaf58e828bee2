//! Option value types and how JSON becomes each of them.
//!
//! Both template kinds go through the same conversions. They are as lenient as Go's mapstructure with
//! `WeaklyTypedInput` (legacy JSON templates write `"cpu": "{{user `cpus`}}"` and numbers arrive as
//! floats), but they reject what Go silently mangled: fractional counts, negative sizes, unit-less
//! durations.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use ipnet::IpNet;
use packer_schema::{CtyType, TemplateKind};
use serde_json::Value;

use crate::decl::{wrong_type, AttrValue, Cx};
use crate::duration::parse_go_duration;
use crate::errors::ConfigError;

impl AttrValue for String {
    fn cty() -> CtyType {
        CtyType::String
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        cx.text(v, at)
    }
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

impl AttrValue for bool {
    fn cty() -> CtyType {
        CtyType::Bool
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_f64().is_some_and(|f| f != 0.0)),
            Value::String(_) => {
                let s = cx.text(v, at)?;
                if cx.is_unknown(&s) {
                    return None;
                }
                // Go's strconv.ParseBool, plus "" = false as mapstructure has it.
                match s.as_str() {
                    "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
                    "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
                    _ => {
                        cx.error(ConfigError::invalid(
                            at,
                            format!("must be true or false (got {s:?})"),
                        ));
                        None
                    }
                }
            }
            other => {
                cx.error(wrong_type(at, "a bool", other));
                None
            }
        }
    }
}

/// Reads a whole number, accepting integral floats and (weakly) bools and numeric strings.
fn integer(v: &Value, at: &str, cx: &mut Cx) -> Option<i128> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Some(i128::from(u))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30 {
                    Some(f as i128)
                } else {
                    cx.error(ConfigError::invalid(
                        at,
                        format!("must be a whole number (got {n})"),
                    ));
                    None
                }
            }
        }
        Value::Bool(b) => Some(i128::from(*b)),
        Value::String(_) => {
            let s = cx.text(v, at)?;
            let t = s.trim();
            if t.is_empty() || cx.is_unknown(t) {
                return Some(0);
            }
            let (neg, digits) = match t.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            // Go's strconv.ParseInt(s, 0, 64): 0x, 0o, 0b prefixes and underscores.
            let lower = digits.to_ascii_lowercase();
            let (radix, body) = if let Some(b) = lower.strip_prefix("0x") {
                (16, b.to_string())
            } else if let Some(b) = lower.strip_prefix("0o") {
                (8, b.to_string())
            } else if let Some(b) = lower.strip_prefix("0b") {
                (2, b.to_string())
            } else {
                (10, lower.clone())
            };
            let body = body.replace('_', "");
            match i128::from_str_radix(&body, radix) {
                Ok(n) if !body.starts_with('+') && !body.starts_with('-') => {
                    Some(if neg { -n } else { n })
                }
                _ => {
                    cx.error(ConfigError::invalid(
                        at,
                        format!("must be a whole number (got {s:?})"),
                    ));
                    None
                }
            }
        }
        other => {
            cx.error(wrong_type(at, "a number", other));
            None
        }
    }
}

macro_rules! unsigned_attr {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            fn cty() -> CtyType {
                CtyType::Number
            }
            fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
                let n = integer(v, at, cx)?;
                if n < 0 {
                    cx.error(ConfigError::invalid(at, "must be >= 0"));
                    return None;
                }
                match <$t>::try_from(n) {
                    Ok(x) => Some(x),
                    Err(_) => {
                        cx.error(ConfigError::invalid(at, format!("must be at most {}", <$t>::MAX)));
                        None
                    }
                }
            }
            fn is_unset(&self) -> bool {
                *self == 0
            }
        }
    )*};
}
unsigned_attr!(u16, u32, u64);

impl AttrValue for Duration {
    fn cty() -> CtyType {
        CtyType::String
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        let s = cx.text(v, at)?;
        if cx.is_unknown(&s) {
            return None;
        }
        match parse_go_duration(&s) {
            Ok(n) if n < 0 => {
                cx.error(ConfigError::invalid(
                    at,
                    format!("must not be negative (got {s:?})"),
                ));
                None
            }
            Ok(n) => Some(Duration::from_nanos(n.unsigned_abs())),
            Err(e) => {
                cx.error(ConfigError::invalid(
                    at,
                    format!("{e}; use Go duration syntax such as \"90s\", \"1m30s\" or \"1.5h\""),
                ));
                None
            }
        }
    }
    fn is_unset(&self) -> bool {
        self.is_zero()
    }
}

impl<T: AttrValue> AttrValue for Option<T> {
    fn cty() -> CtyType {
        T::cty()
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        T::decode(v, at, cx).map(|t| if t.is_unset() { None } else { Some(t) })
    }
    fn is_unset(&self) -> bool {
        self.is_none()
    }
}

impl AttrValue for Vec<String> {
    fn cty() -> CtyType {
        CtyType::List(Box::new(CtyType::String))
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{at}[{i}]");
                    if item.is_null() {
                        cx.error(ConfigError::invalid(item_at, "must not be null"));
                        continue;
                    }
                    out.extend(cx.text(item, &item_at));
                }
                Some(out)
            }
            // mapstructure's StringToSliceHookFunc(","): "a,b" is ["a", "b"], "" is [].
            Value::String(_) => {
                let s = cx.text(v, at)?;
                Some(if s.is_empty() {
                    Vec::new()
                } else {
                    s.split(',').map(String::from).collect()
                })
            }
            other => {
                cx.error(wrong_type(at, "a list of strings", other));
                None
            }
        }
    }
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

impl AttrValue for BTreeMap<String, String> {
    fn cty() -> CtyType {
        CtyType::Map(Box::new(CtyType::String))
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        match v {
            Value::Object(m) => {
                let mut out = BTreeMap::new();
                for (k, item) in m {
                    let item_at = format!("{at}[{k:?}]");
                    let Some(key) = cx.render_text(k.clone(), &item_at) else {
                        continue;
                    };
                    if item.is_null() {
                        cx.error(ConfigError::invalid(item_at, "must not be null"));
                        continue;
                    }
                    if let Some(val) = cx.text(item, &item_at) {
                        out.insert(key, val);
                    }
                }
                Some(out)
            }
            Value::Array(a) if a.is_empty() && cx.kind == TemplateKind::LegacyJson => {
                Some(BTreeMap::new())
            }
            other => {
                cx.error(wrong_type(at, "a map of strings", other));
                None
            }
        }
    }
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

impl AttrValue for BTreeMap<String, Sensitive> {
    fn cty() -> CtyType {
        CtyType::Map(Box::new(CtyType::String))
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        BTreeMap::<String, String>::decode(v, at, cx)
            .map(|m| m.into_iter().map(|(k, v)| (k, Sensitive(v))).collect())
    }
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

/// Bytes given as HCL2 `list(number)` (Go `[]byte`), or as a string in legacy JSON.
fn bytes(v: &Value, at: &str, cx: &mut Cx) -> Option<Vec<u8>> {
    match v {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let item_at = format!("{at}[{i}]");
                let n = integer(item, &item_at, cx)?;
                match u8::try_from(n) {
                    Ok(b) => out.push(b),
                    Err(_) => {
                        cx.error(ConfigError::invalid(item_at, "must be a byte (0 to 255)"));
                        return None;
                    }
                }
            }
            Some(out)
        }
        Value::String(_) => cx.text(v, at).map(String::into_bytes),
        other => {
            cx.error(wrong_type(at, "a list of bytes", other));
            None
        }
    }
}

/// Raw bytes of an option such as `ssh_public_key` (Packer's communicator internals).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl AttrValue for Bytes {
    fn cty() -> CtyType {
        CtyType::List(Box::new(CtyType::Number))
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        bytes(v, at, cx).map(Bytes)
    }
    fn is_unset(&self) -> bool {
        self.0.is_empty()
    }
}

/// A secret string (passwords, API keys). `Debug` never shows it, so a config can be logged; read it
/// with [`Sensitive::expose`] where it is actually needed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Sensitive(s.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<sensitive>")
    }
}

impl AttrValue for Sensitive {
    fn cty() -> CtyType {
        CtyType::String
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        cx.text(v, at).map(Sensitive)
    }
    fn is_unset(&self) -> bool {
        self.0.is_empty()
    }
}

/// Secret bytes (`ssh_private_key`), hidden from `Debug` like [`Sensitive`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SensitiveBytes(Vec<u8>);

impl SensitiveBytes {
    /// The secret itself.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SensitiveBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<sensitive>")
    }
}

impl AttrValue for SensitiveBytes {
    fn cty() -> CtyType {
        CtyType::List(Box::new(CtyType::Number))
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        bytes(v, at, cx).map(SensitiveBytes)
    }
    fn is_unset(&self) -> bool {
        self.0.is_empty()
    }
}

/// `ip_wait_address`: the network a reported VM address must be in. `None` (written `""`) accepts
/// any address; the default is `0.0.0.0/0`, any IPv4 address (Go plugin `WaitIpConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpFilter(pub Option<IpNet>);

impl Default for IpFilter {
    fn default() -> Self {
        IpFilter(Some(IpNet::V4(ipnet::Ipv4Net::default())))
    }
}

impl IpFilter {
    /// Whether `ip` passes the filter.
    pub fn accepts(&self, ip: std::net::IpAddr) -> bool {
        self.0.is_none_or(|net| net.contains(&ip))
    }
}

/// Go's `net.ParseCIDR`: the network of `addr/prefix`, with IPv4-mapped IPv6 folded to IPv4.
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    let (addr, prefix) = s.split_once('/')?;
    // std's parser, unlike ipnet's, rejects leading zeros in IPv4 octets, as Go does.
    let addr: std::net::IpAddr = addr.parse().ok()?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let net = IpNet::new(addr, prefix.parse().ok()?).ok()?;
    let net = match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => {
                IpNet::V4(ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).ok()?)
            }
            _ => net,
        },
        IpNet::V4(_) => net,
    };
    Some(net.trunc())
}

impl AttrValue for IpFilter {
    fn cty() -> CtyType {
        CtyType::String
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        let s = cx.text(v, at)?;
        if cx.is_unknown(&s) {
            return None;
        }
        if s.is_empty() {
            return Some(IpFilter(None));
        }
        match parse_cidr(&s) {
            Some(net) => Some(IpFilter(Some(net))),
            None => {
                cx.error(ConfigError::invalid(
                    at,
                    format!("unable to parse \"ip_wait_address\": invalid CIDR address: {s}"),
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::go_vectors;

    #[test]
    fn cidrs_parse_like_go_net_parse_cidr() {
        let v = go_vectors();
        for c in v["cidrs"].as_array().unwrap() {
            let input = c["input"].as_str().unwrap();
            let got = parse_cidr(input).map(|n| n.to_string());
            if c["valid"].as_bool().unwrap() {
                assert_eq!(got.as_deref(), c["network"].as_str(), "{input:?}");
            } else {
                assert_eq!(got, None, "{input:?}");
            }
        }
    }

    #[test]
    fn ip_filter_accepts_by_network() {
        let any_v4 = IpFilter::default();
        assert!(any_v4.accepts("10.1.2.3".parse().unwrap()));
        assert!(!any_v4.accepts("fe80::1".parse().unwrap()));
        assert!(IpFilter(None).accepts("fe80::1".parse().unwrap()));
    }

    #[test]
    fn sensitive_values_never_show_in_debug() {
        let s = Sensitive::new("hunter2");
        assert_eq!(format!("{s:?}"), "<sensitive>");
        assert_eq!(s.expose(), "hunter2");
    }
}
