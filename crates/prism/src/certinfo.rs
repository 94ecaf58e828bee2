//! The few facts about an X.509 certificate that checking a pinned certificate needs and
//! webpki does not expose: its validity period, the common names of its subject, and whether
//! it has a subjectAltName extension. A small DER reader (bytes in, facts out); malformed input
//! yields `None`, never a panic.

/// What [`read`] finds in a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertFacts {
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// Every commonName of the subject that is a readable string.
    pub common_names: Vec<String>,
    /// True when the certificate has a subjectAltName extension (then names are checked only
    /// against it, never against the common name).
    pub has_subject_alt_name: bool,
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0;
const EXTENSIONS: u8 = 0xa3;
/// 2.5.4.3, commonName.
const CN_OID: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.29.17, subjectAltName.
const SAN_OID: &[u8] = &[0x55, 0x1d, 0x11];

/// Splits one tag-length-value off the front of `input`: (tag, value, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags never occur in the parts read here
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest.get(n..)?)
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// The value of a TLV that must have tag `want`, and the rest.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, value, rest) = tlv(input)?;
    (tag == want).then_some((value, rest))
}

/// Reads a DER certificate.
pub(crate) fn read(der: &[u8]) -> Option<CertFacts> {
    let (cert, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if let Some((VERSION, _, after)) = tlv(rest) {
        rest = after;
    }
    let (_serial, after) = expect(rest, INTEGER)?;
    let (_signature, after) = expect(after, SEQUENCE)?;
    let (_issuer, after) = expect(after, SEQUENCE)?;
    let (validity, after) = expect(after, SEQUENCE)?;
    let (subject, after) = expect(after, SEQUENCE)?;
    let (_spki, mut after) = expect(after, SEQUENCE)?;

    let (not_before, validity_rest) = time(validity)?;
    let (not_after, _) = time(validity_rest)?;

    let mut has_subject_alt_name = false;
    while let Some((tag, value, next)) = tlv(after) {
        if tag == EXTENSIONS {
            has_subject_alt_name = has_extension(value, SAN_OID)?;
        }
        after = next;
    }
    Some(CertFacts {
        not_before,
        not_after,
        common_names: common_names(subject),
        has_subject_alt_name,
    })
}

fn has_extension(explicit: &[u8], oid: &[u8]) -> Option<bool> {
    let (mut list, _) = expect(explicit, SEQUENCE)?;
    while !list.is_empty() {
        let (extension, next) = expect(list, SEQUENCE)?;
        let (id, _) = expect(extension, OID)?;
        if id == oid {
            return Some(true);
        }
        list = next;
    }
    Some(false)
}

fn common_names(mut name: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while let Some((SET, rdn, next)) = tlv(name) {
        let mut attributes = rdn;
        while let Some((SEQUENCE, attribute, after)) = tlv(attributes) {
            if let Some((id, value)) = expect(attribute, OID) {
                if id == CN_OID {
                    if let Some(text) = string(value) {
                        out.push(text);
                    }
                }
            }
            attributes = after;
        }
        name = next;
    }
    out
}

/// UTF8String, PrintableString and IA5String as text; other string types are not names a
/// host is known by.
fn string(input: &[u8]) -> Option<String> {
    let (tag, value, _) = tlv(input)?;
    match tag {
        0x0c | 0x13 | 0x16 => std::str::from_utf8(value).ok().map(str::to_string),
        _ => None,
    }
}

/// A UTCTime or GeneralizedTime (`...Z` form, as RFC 5280 requires) as Unix seconds.
fn time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, value, rest) = tlv(input)?;
    let text = std::str::from_utf8(value).ok()?;
    let digits = text.strip_suffix('Z')?;
    let (year, tail) = match tag {
        UTC_TIME => {
            let yy: i32 = digits.get(..2)?.parse().ok()?;
            (
                if yy < 50 { 2000 + yy } else { 1900 + yy },
                digits.get(2..)?,
            )
        }
        GENERALIZED_TIME => (digits.get(..4)?.parse().ok()?, digits.get(4..)?),
        _ => return None,
    };
    if tail.len() != 10 || !tail.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |at: usize| -> Option<u32> { tail.get(at..at + 2)?.parse().ok() };
    let date = chrono::NaiveDate::from_ymd_opt(year, field(0)?, field(2)?)?;
    let at = date.and_hms_opt(field(4)?, field(6)?, field(8)?)?;
    Some((at.and_utc().timestamp(), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(params: rcgen::CertificateParams) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_validity_common_name_and_san_presence() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pc.lab.example");
        params.not_before = rcgen::date_time_ymd(2020, 1, 2);
        params.not_after = rcgen::date_time_ymd(2060, 3, 4);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let facts = read(&cert(params)).unwrap();
        assert_eq!(facts.common_names, vec!["pc.lab.example".to_string()]);
        assert!(!facts.has_subject_alt_name);
        assert_eq!(facts.not_before, 1_577_923_200); // 2020-01-02T00:00:00Z
        assert_eq!(facts.not_after, 2_845_584_000); // 2060-03-04T00:00:00Z (GeneralizedTime)

        let with_san = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        assert!(read(&cert(with_san)).unwrap().has_subject_alt_name);
    }

    #[test]
    fn malformed_input_is_none_not_a_panic() {
        let mut params = rcgen::CertificateParams::new(vec!["a.example".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "a");
        let good = cert(params);
        for len in 0..good.len() {
            let _ = read(good.get(..len).unwrap());
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xff;
            let _ = read(&bad);
        }
        assert!(read(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(read(&[]).is_none());
    }
}
