//! The RFB ProtocolVersion message: `RFB xxx.yyy\n`, twelve bytes.

use crate::error::RfbError;
use crate::wire::escape;

/// Length of a ProtocolVersion message.
pub const VERSION_LEN: usize = 12;

/// A protocol version this implementation speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// RFB 3.3: the server picks the security type; no failure reasons.
    V3_3,
    /// RFB 3.7: the client picks; None has no SecurityResult.
    V3_7,
    /// RFB 3.8: the client picks; every type ends with a SecurityResult, failures carry a reason.
    V3_8,
}

impl Version {
    /// The twelve bytes that announce this version.
    pub fn banner(self) -> &'static [u8; VERSION_LEN] {
        match self {
            Version::V3_3 => b"RFB 003.003\n",
            Version::V3_7 => b"RFB 003.007\n",
            Version::V3_8 => b"RFB 003.008\n",
        }
    }

    /// `3.8` and so on.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V3_3 => "3.3",
            Version::V3_7 => "3.7",
            Version::V3_8 => "3.8",
        }
    }
}

/// A parsed ProtocolVersion message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announced {
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl Announced {
    /// Parses twelve bytes `RFB xxx.yyy\n` (three decimal digits each).
    pub fn parse(bytes: &[u8]) -> Result<Self, RfbError> {
        let not_rfb = || RfbError::NotRfb {
            got: escape(bytes, VERSION_LEN),
        };
        let rest = bytes.strip_prefix(b"RFB ").ok_or_else(not_rfb)?;
        let digits = |s: &[u8]| -> Option<u16> {
            if s.len() != 3 || !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            s.iter()
                .try_fold(0u16, |acc, d| Some(acc * 10 + u16::from(d - b'0')))
        };
        let major = rest.get(0..3).and_then(digits).ok_or_else(not_rfb)?;
        let minor = rest.get(4..7).and_then(digits).ok_or_else(not_rfb)?;
        if rest.get(3) != Some(&b'.') || rest.get(7) != Some(&b'\n') || rest.len() != 8 {
            return Err(not_rfb());
        }
        Ok(Self { major, minor })
    }

    /// The version a client answers with: the highest we speak that the server allows. Servers
    /// that announce a later major version (RealVNC's 4.x and 5.x) accept 3.8; 3.4–3.6 are
    /// spoken as 3.3 and 3.889 (Apple) as 3.8, as RFC 6143 §7.1.1 advises.
    pub fn client_choice(self) -> Result<Version, RfbError> {
        match (self.major, self.minor) {
            (3, 8..) => Ok(Version::V3_8),
            (3, 7) => Ok(Version::V3_7),
            (3, 3..=6) => Ok(Version::V3_3),
            (4.., _) => Ok(Version::V3_8),
            (major, minor) => Err(RfbError::UnknownVersion { major, minor }),
        }
    }

    /// The version a server speaks with a client that announced this one.
    pub fn server_choice(self) -> Result<Version, RfbError> {
        match (self.major, self.minor) {
            (3, 8..) => Ok(Version::V3_8),
            (3, 7) => Ok(Version::V3_7),
            (3, 3..=6) => Ok(Version::V3_3),
            (major, minor) => Err(RfbError::UnknownVersion { major, minor }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_chooses() {
        let v = |s: &[u8]| Announced::parse(s).and_then(Announced::client_choice);
        assert_eq!(v(b"RFB 003.008\n"), Ok(Version::V3_8));
        assert_eq!(v(b"RFB 003.889\n"), Ok(Version::V3_8));
        assert_eq!(v(b"RFB 003.007\n"), Ok(Version::V3_7));
        assert_eq!(v(b"RFB 003.005\n"), Ok(Version::V3_3));
        assert_eq!(v(b"RFB 003.003\n"), Ok(Version::V3_3));
        assert_eq!(v(b"RFB 005.000\n"), Ok(Version::V3_8));
        assert_eq!(
            v(b"RFB 002.000\n"),
            Err(RfbError::UnknownVersion { major: 2, minor: 0 })
        );
        assert_eq!(
            v(b"RFB 003.002\n"),
            Err(RfbError::UnknownVersion { major: 3, minor: 2 })
        );
        for bad in [
            &b"SSH-2.0-Open"[..],
            b"RFB 03.008\n\n",
            b"RFB 003.008\r",
            b"RFB 003-008\n",
            b"rfb 003.008\n",
            b"RFB 0x3.008\n",
        ] {
            assert!(matches!(v(bad), Err(RfbError::NotRfb { .. })), "{bad:?}");
        }
        for version in [Version::V3_3, Version::V3_7, Version::V3_8] {
            let a = Announced::parse(version.banner()).unwrap();
            assert_eq!(a.client_choice(), Ok(version));
            assert_eq!(a.server_choice(), Ok(version));
        }
        assert!(Announced::parse(b"RFB 004.001\n")
            .unwrap()
            .server_choice()
            .is_err());
    }
}
