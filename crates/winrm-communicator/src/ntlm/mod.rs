//! NTLMv2 authentication messages (MS-NLMP), sans-IO: bytes in, bytes out.
//!
//! The client side builds NEGOTIATE and AUTHENTICATE; the server side (used by our WinRM test
//! server) builds CHALLENGE and checks an AUTHENTICATE against a known password. Only what HTTP
//! authentication to WinRM needs is here: no message signing or sealing (Packer's Go client does
//! not seal either, so the server must allow unencrypted bodies), no LM/NTLMv1, no key exchange.

mod md4;

use std::fmt;

pub(crate) use md4::hmac_md5;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NEGOTIATE_UNICODE.
pub const FLAG_UNICODE: u32 = 0x0000_0001;
/// REQUEST_TARGET.
pub const FLAG_REQUEST_TARGET: u32 = 0x0000_0004;
/// NEGOTIATE_NTLM.
pub const FLAG_NTLM: u32 = 0x0000_0200;
/// NEGOTIATE_ALWAYS_SIGN.
pub const FLAG_ALWAYS_SIGN: u32 = 0x0000_8000;
/// TARGET_TYPE_SERVER.
pub const FLAG_TARGET_TYPE_SERVER: u32 = 0x0002_0000;
/// NEGOTIATE_EXTENDED_SESSIONSECURITY.
pub const FLAG_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
/// NEGOTIATE_TARGET_INFO.
pub const FLAG_TARGET_INFO: u32 = 0x0080_0000;
/// NEGOTIATE_128.
pub const FLAG_128: u32 = 0x2000_0000;
/// NEGOTIATE_KEY_EXCH: we never set it, and refuse a challenge that demands it.
pub const FLAG_KEY_EXCH: u32 = 0x4000_0000;
/// NEGOTIATE_56.
pub const FLAG_56: u32 = 0x8000_0000;
/// NEGOTIATE_LM_KEY: NTLMv1-era; refused.
pub const FLAG_LM_KEY: u32 = 0x0000_0080;

/// The flags our NEGOTIATE offers.
pub const CLIENT_FLAGS: u32 = FLAG_UNICODE
    | FLAG_REQUEST_TARGET
    | FLAG_NTLM
    | FLAG_ALWAYS_SIGN
    | FLAG_EXTENDED_SESSIONSECURITY
    | FLAG_TARGET_INFO
    | FLAG_128
    | FLAG_56;

/// AV pair ids used in TargetInfo.
const AV_EOL: u16 = 0;
const AV_NB_COMPUTER_NAME: u16 = 1;
const AV_NB_DOMAIN_NAME: u16 = 2;
const AV_DNS_COMPUTER_NAME: u16 = 3;
const AV_DNS_DOMAIN_NAME: u16 = 4;
const AV_TIMESTAMP: u16 = 7;

/// Windows FILETIME of the Unix epoch.
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

/// Why an NTLM message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtlmError {
    /// Too short, wrong signature, wrong type, or a field pointing outside the message.
    #[error("malformed NTLM {message} message: {reason}")]
    Malformed {
        /// Which message (NEGOTIATE, CHALLENGE, AUTHENTICATE).
        message: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The server asked for something only NTLMv1 or key exchange would give.
    #[error("the server's NTLM challenge asks for {0}, which is not supported (NTLMv2 only)")]
    Unsupported(&'static str),
}

fn malformed(message: &'static str, reason: impl Into<String>) -> NtlmError {
    NtlmError::Malformed {
        message,
        reason: reason.into(),
    }
}

/// UTF-16LE bytes, as NTLM carries every string when UNICODE is negotiated.
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn from_utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| {
            let mut b = [0u8; 2];
            b.copy_from_slice(c);
            u16::from_le_bytes(b)
        })
        .collect();
    String::from_utf16_lossy(&units)
}

fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    Some(u32::from_le_bytes(a))
}

/// Reads the (len, maxlen, offset) field at `at` and returns the bytes it points to.
fn var_field<'a>(
    buf: &'a [u8],
    at: usize,
    message: &'static str,
    name: &str,
) -> Result<&'a [u8], NtlmError> {
    let len = u16_at(buf, at).ok_or_else(|| malformed(message, format!("{name}: truncated")))?;
    let offset =
        u32_at(buf, at + 4).ok_or_else(|| malformed(message, format!("{name}: truncated")))?;
    let start = offset as usize;
    let end = start
        .checked_add(len as usize)
        .ok_or_else(|| malformed(message, format!("{name}: overflow")))?;
    buf.get(start..end)
        .ok_or_else(|| malformed(message, format!("{name}: points outside the message")))
}

fn check_header(buf: &[u8], kind: u32, message: &'static str) -> Result<(), NtlmError> {
    if buf.get(..8) != Some(SIGNATURE.as_slice()) {
        return Err(malformed(message, "no NTLMSSP signature"));
    }
    match u32_at(buf, 8) {
        Some(k) if k == kind => Ok(()),
        Some(k) => Err(malformed(
            message,
            format!("message type {k}, expected {kind}"),
        )),
        None => Err(malformed(message, "truncated")),
    }
}

/// Appends payload fields after a fixed header, filling in their (len, maxlen, offset) slots.
struct Builder {
    header: Vec<u8>,
    payload: Vec<u8>,
    header_len: usize,
}

impl Builder {
    fn new(kind: u32, header_len: usize) -> Self {
        let mut header = Vec::with_capacity(header_len);
        header.extend_from_slice(SIGNATURE);
        header.extend_from_slice(&kind.to_le_bytes());
        Self {
            header,
            payload: Vec::new(),
            header_len,
        }
    }

    fn field(&mut self, data: &[u8]) {
        let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
        let offset = u32::try_from(self.header_len + self.payload.len()).unwrap_or(u32::MAX);
        self.header.extend_from_slice(&len.to_le_bytes());
        self.header.extend_from_slice(&len.to_le_bytes());
        self.header.extend_from_slice(&offset.to_le_bytes());
        self.payload
            .extend_from_slice(data.get(..usize::from(len)).unwrap_or(data));
    }

    fn raw(&mut self, data: &[u8]) {
        self.header.extend_from_slice(data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.header.resize(self.header_len, 0);
        self.header.extend_from_slice(&self.payload);
        self.header
    }
}

/// The client's first message.
pub fn negotiate_message() -> Vec<u8> {
    let mut b = Builder::new(1, 32);
    b.raw(&CLIENT_FLAGS.to_le_bytes());
    b.field(&[]); // domain
    b.field(&[]); // workstation
    b.finish()
}

/// A parsed CHALLENGE.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Flags the server chose.
    pub flags: u32,
    /// The 8-byte server challenge.
    pub server_challenge: [u8; 8],
    /// TargetInfo as sent (AV pairs), copied into the NTLMv2 response.
    pub target_info: Vec<u8>,
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("flags", &format_args!("{:#010x}", self.flags))
            .field("target_info_len", &self.target_info.len())
            .finish()
    }
}

impl Challenge {
    /// Parses a CHALLENGE message; refuses what an NTLMv2-only client cannot answer.
    pub fn parse(buf: &[u8]) -> Result<Self, NtlmError> {
        const M: &str = "CHALLENGE";
        check_header(buf, 2, M)?;
        let flags = u32_at(buf, 20).ok_or_else(|| malformed(M, "truncated flags"))?;
        let mut server_challenge = [0u8; 8];
        server_challenge.copy_from_slice(
            buf.get(24..32)
                .ok_or_else(|| malformed(M, "truncated server challenge"))?,
        );
        let target_info = if flags & FLAG_TARGET_INFO != 0 || buf.len() >= 48 {
            var_field(buf, 40, M, "TargetInfo")?.to_vec()
        } else {
            Vec::new()
        };
        if flags & FLAG_KEY_EXCH != 0 {
            return Err(NtlmError::Unsupported("key exchange (NEGOTIATE_KEY_EXCH)"));
        }
        if flags & FLAG_LM_KEY != 0 {
            return Err(NtlmError::Unsupported("the LM session key (NTLMv1)"));
        }
        // Walk the AV pairs once so a truncated list is refused here, not used later.
        av_pairs(&target_info)?;
        Ok(Self {
            flags,
            server_challenge,
            target_info,
        })
    }

    /// The server's timestamp (MsvAvTimestamp), if it sent one.
    fn timestamp(&self) -> Option<[u8; 8]> {
        let pairs = av_pairs(&self.target_info).ok()?;
        pairs
            .into_iter()
            .find(|(id, _)| *id == AV_TIMESTAMP)
            .and_then(|(_, v)| v.try_into().ok())
    }

    /// Builds a CHALLENGE for the server side: `challenge`, the NetBIOS/DNS names and the time.
    pub fn build(server_challenge: [u8; 8], computer: &str, filetime: u64) -> Vec<u8> {
        let mut info = Vec::new();
        for (id, value) in [
            (AV_NB_DOMAIN_NAME, utf16le(computer)),
            (AV_NB_COMPUTER_NAME, utf16le(computer)),
            (AV_DNS_DOMAIN_NAME, utf16le(computer)),
            (AV_DNS_COMPUTER_NAME, utf16le(computer)),
            (AV_TIMESTAMP, filetime.to_le_bytes().to_vec()),
        ] {
            info.extend_from_slice(&id.to_le_bytes());
            info.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_le_bytes());
            info.extend_from_slice(&value);
        }
        info.extend_from_slice(&AV_EOL.to_le_bytes());
        info.extend_from_slice(&0u16.to_le_bytes());
        let flags = FLAG_UNICODE
            | FLAG_REQUEST_TARGET
            | FLAG_NTLM
            | FLAG_ALWAYS_SIGN
            | FLAG_TARGET_TYPE_SERVER
            | FLAG_EXTENDED_SESSIONSECURITY
            | FLAG_TARGET_INFO
            | FLAG_128
            | FLAG_56;
        let mut b = Builder::new(2, 48);
        b.field(&utf16le(computer)); // TargetName at 12
        b.raw(&flags.to_le_bytes()); // 20
        b.raw(&server_challenge); // 24
        b.raw(&[0u8; 8]); // 32 reserved
        b.field(&info); // 40 TargetInfo
        b.finish()
    }
}

/// Splits TargetInfo into (id, value) pairs up to MsvAvEOL.
fn av_pairs(info: &[u8]) -> Result<Vec<(u16, &[u8])>, NtlmError> {
    const M: &str = "CHALLENGE";
    let mut pairs = Vec::new();
    let mut at = 0usize;
    while at < info.len() {
        let id = u16_at(info, at).ok_or_else(|| malformed(M, "truncated AV pair"))?;
        let len = u16_at(info, at + 2).ok_or_else(|| malformed(M, "truncated AV pair"))?;
        if id == AV_EOL {
            return Ok(pairs);
        }
        let value = info
            .get(at + 4..at + 4 + usize::from(len))
            .ok_or_else(|| malformed(M, "AV pair runs past TargetInfo"))?;
        pairs.push((id, value));
        at += 4 + usize::from(len);
    }
    if info.is_empty() {
        Ok(pairs)
    } else {
        Err(malformed(M, "TargetInfo has no MsvAvEOL"))
    }
}

/// NTOWFv2: HMAC-MD5 keyed by the NT hash (MD4 of the UTF-16 password) over UPPER(user)+domain.
pub fn ntowf_v2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let nt_hash = md4::md4(&utf16le(password));
    let identity = utf16le(&format!("{}{domain}", user.to_uppercase()));
    hmac_md5(&nt_hash, &[&identity])
}

/// Splits `DOMAIN\user` (a plain `user` or `user@realm` has no separate domain), as Windows does.
pub fn split_user(username: &str) -> (&str, &str) {
    match username.split_once('\\') {
        Some((domain, user)) => (user, domain),
        None => (username, ""),
    }
}

/// The NTLMv2 "temp" blob: version, timestamp, client challenge, target info.
fn blob(timestamp: [u8; 8], client_challenge: [u8; 8], target_info: &[u8]) -> Vec<u8> {
    let mut temp = vec![1u8, 1, 0, 0, 0, 0, 0, 0];
    temp.extend_from_slice(&timestamp);
    temp.extend_from_slice(&client_challenge);
    temp.extend_from_slice(&[0u8; 4]);
    temp.extend_from_slice(target_info);
    temp.extend_from_slice(&[0u8; 4]);
    temp
}

/// The NTLMv2 response (NTProofStr followed by the blob).
pub fn ntlmv2_response(
    ntowf: &[u8; 16],
    server_challenge: &[u8; 8],
    client_challenge: [u8; 8],
    timestamp: [u8; 8],
    target_info: &[u8],
) -> Vec<u8> {
    let temp = blob(timestamp, client_challenge, target_info);
    let proof = hmac_md5(ntowf, &[server_challenge, &temp]);
    let mut out = proof.to_vec();
    out.extend_from_slice(&temp);
    out
}

/// Now as a Windows FILETIME (100 ns ticks since 1601).
pub fn filetime_now() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    FILETIME_UNIX_EPOCH + u64::try_from(since_epoch.as_nanos() / 100).unwrap_or(0)
}

/// The client's AUTHENTICATE answering `challenge` for `username` (`DOMAIN\user` or `user`).
pub fn authenticate_message(
    challenge: &Challenge,
    username: &str,
    password: &str,
    client_challenge: [u8; 8],
) -> Vec<u8> {
    let (user, domain) = split_user(username);
    let timestamp = challenge
        .timestamp()
        .unwrap_or_else(|| filetime_now().to_le_bytes());
    let ntowf = ntowf_v2(password, user, domain);
    let nt = ntlmv2_response(
        &ntowf,
        &challenge.server_challenge,
        client_challenge,
        timestamp,
        &challenge.target_info,
    );
    // With a server timestamp the LM response must be zeros (MS-NLMP 3.1.5.1.2).
    let lm = [0u8; 24];
    let flags = challenge.flags & (CLIENT_FLAGS | FLAG_TARGET_TYPE_SERVER);
    let mut b = Builder::new(3, 64);
    b.field(&lm); // 12
    b.field(&nt); // 20
    b.field(&utf16le(domain)); // 28
    b.field(&utf16le(user)); // 36
    b.field(&[]); // 44 workstation
    b.field(&[]); // 52 encrypted random session key
    b.raw(&flags.to_le_bytes()); // 60
    b.finish()
}

/// What a server learns from an AUTHENTICATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticate {
    /// User name as sent.
    pub user: String,
    /// Domain as sent (may be empty).
    pub domain: String,
    nt_response: Vec<u8>,
}

impl Authenticate {
    /// Parses an AUTHENTICATE message.
    pub fn parse(buf: &[u8]) -> Result<Self, NtlmError> {
        const M: &str = "AUTHENTICATE";
        check_header(buf, 3, M)?;
        let nt_response = var_field(buf, 20, M, "NtChallengeResponse")?.to_vec();
        let domain = from_utf16le(var_field(buf, 28, M, "DomainName")?);
        let user = from_utf16le(var_field(buf, 36, M, "UserName")?);
        if nt_response.len() < 16 + 28 {
            return Err(malformed(
                M,
                format!(
                    "NtChallengeResponse of {} bytes is not an NTLMv2 response",
                    nt_response.len()
                ),
            ));
        }
        Ok(Self {
            user,
            domain,
            nt_response,
        })
    }

    /// True when the response proves knowledge of `password` for the challenge we sent.
    pub fn verify(&self, password: &str, server_challenge: &[u8; 8]) -> bool {
        let (Some(proof), Some(temp)) = (self.nt_response.get(..16), self.nt_response.get(16..))
        else {
            return false;
        };
        let ntowf = ntowf_v2(password, &self.user, &self.domain);
        let expected = hmac_md5(&ntowf, &[server_challenge, temp]);
        // Not secret-dependent timing in any way that matters for a test server.
        expected.as_slice() == proof
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// MS-NLMP 4.2.4: User "User", domain "Domain", password "Password".
    #[test]
    fn ntowf_v2_matches_ms_nlmp_example() {
        assert_eq!(
            hex(&ntowf_v2("Password", "User", "Domain")),
            "0c868a403bfd7a93a3001ef22ef02e3f"
        );
    }

    /// MS-NLMP 4.2.4.2.2: NTProofStr for the example's server challenge, client challenge, time 0
    /// and TargetInfo (NetBIOS domain "Domain", computer "Server").
    #[test]
    fn ntproofstr_matches_ms_nlmp_example() {
        let mut info = Vec::new();
        for (id, value) in [(2u16, utf16le("Domain")), (1u16, utf16le("Server"))] {
            info.extend_from_slice(&id.to_le_bytes());
            info.extend_from_slice(&(value.len() as u16).to_le_bytes());
            info.extend_from_slice(&value);
        }
        info.extend_from_slice(&[0, 0, 0, 0]);
        let ntowf = ntowf_v2("Password", "User", "Domain");
        let response = ntlmv2_response(
            &ntowf,
            &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
            [0xaa; 8],
            [0; 8],
            &info,
        );
        assert_eq!(hex(&response[..16]), "68cd0ab851e51c96aabc927bebef6a1c");
    }

    #[test]
    fn round_trip_verifies_only_the_right_password() {
        let challenge_bytes = Challenge::build([7; 8], "WIN-SIM", filetime_now());
        let challenge = Challenge::parse(&challenge_bytes).unwrap();
        let auth = authenticate_message(&challenge, "WIN-SIM\\Administrator", "s3cret", [9; 8]);
        let parsed = Authenticate::parse(&auth).unwrap();
        assert_eq!(parsed.user, "Administrator");
        assert_eq!(parsed.domain, "WIN-SIM");
        assert!(parsed.verify("s3cret", &[7; 8]));
        assert!(!parsed.verify("wrong", &[7; 8]));
        assert!(!parsed.verify("s3cret", &[8; 8]));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for junk in [
            &b""[..],
            b"NTLMSSP\0",
            b"NTLMSSP\0\x02\0\0\0",
            b"garbage garbage garbage garbage garbage garbage garbage",
            &[0xff; 300],
        ] {
            assert!(Challenge::parse(junk).is_err());
            assert!(Authenticate::parse(junk).is_err());
        }
        // A challenge whose TargetInfo points past the end.
        let mut c = Challenge::build([1; 8], "X", 0);
        c[44] = 0xff;
        assert!(Challenge::parse(&c).is_err());
        // Key exchange demanded.
        let mut c = Challenge::build([1; 8], "X", 0);
        c[23] |= 0x40;
        assert!(matches!(
            Challenge::parse(&c),
            Err(NtlmError::Unsupported(_))
        ));
    }
}
