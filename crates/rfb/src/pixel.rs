//! The 16-byte PIXEL_FORMAT structure: only its size per pixel matters to us (to skip raw
//! rectangles and to fill them on the server side).

use crate::error::RfbError;
use crate::wire::{u16_at, u8_at};

/// Length of a PIXEL_FORMAT on the wire.
pub const PIXEL_FORMAT_LEN: usize = 16;

/// A pixel format as RFB describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelFormat {
    /// Bits per pixel: 8, 16 or 32.
    pub bits_per_pixel: u8,
    /// Useful bits per pixel.
    pub depth: u8,
    /// Multi-byte pixels are big-endian.
    pub big_endian: bool,
    /// True colour (else colour-mapped).
    pub true_colour: bool,
    /// Maximum red value.
    pub red_max: u16,
    /// Maximum green value.
    pub green_max: u16,
    /// Maximum blue value.
    pub blue_max: u16,
    /// Red shift.
    pub red_shift: u8,
    /// Green shift.
    pub green_shift: u8,
    /// Blue shift.
    pub blue_shift: u8,
}

impl PixelFormat {
    /// 32 bits per pixel, depth 24, little-endian true colour (what most servers offer).
    pub const RGB888: PixelFormat = PixelFormat {
        bits_per_pixel: 32,
        depth: 24,
        big_endian: false,
        true_colour: true,
        red_max: 255,
        green_max: 255,
        blue_max: 255,
        red_shift: 16,
        green_shift: 8,
        blue_shift: 0,
    };

    /// Parses the 16 bytes; bits per pixel other than 8, 16 and 32 are malformed.
    pub fn parse(b: &[u8]) -> Result<Self, RfbError> {
        let short = || RfbError::Malformed {
            what: "PIXEL_FORMAT",
            detail: format!("{} bytes, need {PIXEL_FORMAT_LEN}", b.len()),
        };
        if b.len() < PIXEL_FORMAT_LEN {
            return Err(short());
        }
        let byte = |at| u8_at(b, at).ok_or_else(short);
        let word = |at| u16_at(b, at).ok_or_else(short);
        let pf = PixelFormat {
            bits_per_pixel: byte(0)?,
            depth: byte(1)?,
            big_endian: byte(2)? != 0,
            true_colour: byte(3)? != 0,
            red_max: word(4)?,
            green_max: word(6)?,
            blue_max: word(8)?,
            red_shift: byte(10)?,
            green_shift: byte(11)?,
            blue_shift: byte(12)?,
        };
        if !matches!(pf.bits_per_pixel, 8 | 16 | 32) {
            return Err(RfbError::Malformed {
                what: "PIXEL_FORMAT",
                detail: format!(
                    "{} bits per pixel (RFB allows 8, 16 and 32)",
                    pf.bits_per_pixel
                ),
            });
        }
        Ok(pf)
    }

    /// The 16 bytes on the wire.
    pub fn encode(&self) -> [u8; PIXEL_FORMAT_LEN] {
        let r = self.red_max.to_be_bytes();
        let g = self.green_max.to_be_bytes();
        let bl = self.blue_max.to_be_bytes();
        [
            self.bits_per_pixel,
            self.depth,
            u8::from(self.big_endian),
            u8::from(self.true_colour),
            r[0],
            r[1],
            g[0],
            g[1],
            bl[0],
            bl[1],
            self.red_shift,
            self.green_shift,
            self.blue_shift,
            0,
            0,
            0,
        ]
    }

    /// Bytes per pixel (1, 2 or 4).
    pub fn bytes_per_pixel(&self) -> u64 {
        u64::from(self.bits_per_pixel / 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_odd_sizes() {
        let b = PixelFormat::RGB888.encode();
        assert_eq!(PixelFormat::parse(&b), Ok(PixelFormat::RGB888));
        let mut odd = b;
        odd[0] = 24;
        assert!(matches!(
            PixelFormat::parse(&odd),
            Err(RfbError::Malformed { .. })
        ));
        assert!(PixelFormat::parse(&b[..15]).is_err());
    }
}
