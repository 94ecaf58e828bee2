//! VNC authentication (security type 2): the server sends a 16-byte challenge, the client
//! answers with it DES-encrypted (ECB, two blocks) under a key made from the password.
//!
//! The key is the first eight bytes of the password, zero-padded, with the bits of every byte
//! reversed: the original VNC code fed DES its key in that bit order, and every server since has
//! kept it.

use des::cipher::{BlockCipherEncrypt, KeyInit};
use des::Des;

/// Length of the challenge and of the response.
pub const CHALLENGE_LEN: usize = 16;

/// The DES key for `password` (only its first 8 bytes count, as in every VNC server).
fn key(password: &[u8]) -> [u8; 8] {
    let mut k = [0u8; 8];
    for (slot, b) in k.iter_mut().zip(password.iter()) {
        *slot = b.reverse_bits();
    }
    k
}

/// The response to `challenge` for `password`.
pub fn response(password: &[u8], challenge: &[u8; CHALLENGE_LEN]) -> [u8; CHALLENGE_LEN] {
    let cipher = Des::new(&key(password).into());
    let mut out = [0u8; CHALLENGE_LEN];
    for (src, dst) in challenge.chunks_exact(8).zip(out.chunks_exact_mut(8)) {
        let mut block = [0u8; 8];
        block.copy_from_slice(src);
        let mut block = block.into();
        cipher.encrypt_block(&mut block);
        dst.copy_from_slice(block.as_slice());
    }
    out
}

/// Whether `answer` is the right response to `challenge` for `password`.
pub fn verify(password: &[u8], challenge: &[u8; CHALLENGE_LEN], answer: &[u8]) -> bool {
    let expected = response(password, challenge);
    // Not secret-timing critical (the challenge is single-use), but compare in full anyway.
    answer.len() == CHALLENGE_LEN
        && expected
            .iter()
            .zip(answer.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_openssl_des_ecb_with_the_bit_reversed_key() {
        // Computed with `openssl enc -des-ecb -K cea6c64ea62e0000 -nopad` (OpenSSL's legacy
        // provider): the key is "secret" padded to 8 bytes with every byte's bits reversed.
        assert_eq!(key(b"secret"), [0xce, 0xa6, 0xc6, 0x4e, 0xa6, 0x2e, 0, 0]);
        let got = response(b"secret", b"0123456789abcdef");
        let want = [
            0x75, 0x24, 0x40, 0xee, 0x2b, 0xfc, 0xc2, 0xa0, 0xd9, 0x01, 0x3f, 0xd2, 0x03, 0x71,
            0xe2, 0x3b,
        ];
        assert_eq!(got, want);
        assert!(verify(b"secret", b"0123456789abcdef", &want));
        assert!(!verify(b"secreT", b"0123456789abcdef", &want));
        assert!(!verify(b"secret", b"0123456789abcdef", &want[..15]));
        // Only the first eight bytes of a password count.
        assert_eq!(
            response(b"12345678", b"0123456789abcdef"),
            response(b"123456789xyz", b"0123456789abcdef")
        );
    }
}
