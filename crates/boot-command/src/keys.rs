//! The named keys of the language (`<enter>`, `<leftShift>`, ...) and the X11 keysyms Packer's VNC
//! driver sends for them, plus the rule that decides when a character is typed with Shift.

use std::fmt;

/// Declares the named keys once: variant, name as documented, keysym.
macro_rules! special_keys {
    ($($variant:ident = $name:literal => $keysym:literal),+ $(,)?) => {
        /// A key written by name between angle brackets. The variants are in the order the parser
        /// tries the names, which matters: Packer's grammar is an ordered choice, so `f10` is tried
        /// before `f1` and the bare `left`/`right` come after `leftAlt`, `rightShift` and the like.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SpecialKey {
            $(
                #[doc = concat!("`<", $name, ">`")]
                $variant,
            )+
        }

        impl SpecialKey {
            /// Every named key, in the parser's order.
            pub const ALL: &'static [SpecialKey] = &[$(SpecialKey::$variant),+];

            /// The name as Packer documents it (`pageUp`); the parser ignores case.
            pub fn name(self) -> &'static str {
                match self {
                    $(SpecialKey::$variant => $name,)+
                }
            }

            /// The X11 keysym Packer's VNC driver sends for the key.
            pub fn keysym(self) -> u32 {
                match self {
                    $(SpecialKey::$variant => $keysym,)+
                }
            }
        }
    };
}

special_keys! {
    Bs = "bs" => 0xFF08,
    Del = "del" => 0xFFFF,
    Enter = "enter" => 0xFF0D,
    Esc = "esc" => 0xFF1B,
    F10 = "f10" => 0xFFC7,
    F11 = "f11" => 0xFFC8,
    F12 = "f12" => 0xFFC9,
    F1 = "f1" => 0xFFBE,
    F2 = "f2" => 0xFFBF,
    F3 = "f3" => 0xFFC0,
    F4 = "f4" => 0xFFC1,
    F5 = "f5" => 0xFFC2,
    F6 = "f6" => 0xFFC3,
    F7 = "f7" => 0xFFC4,
    F8 = "f8" => 0xFFC5,
    F9 = "f9" => 0xFFC6,
    Return = "return" => 0xFF0D,
    Tab = "tab" => 0xFF09,
    Up = "up" => 0xFF52,
    Down = "down" => 0xFF54,
    // Packer sends the space character itself, not a function keysym.
    Spacebar = "spacebar" => 0x20,
    Insert = "insert" => 0xFF63,
    Home = "home" => 0xFF50,
    End = "end" => 0xFF57,
    PageUp = "pageUp" => 0xFF55,
    PageDown = "pageDown" => 0xFF56,
    LeftAlt = "leftAlt" => 0xFFE9,
    LeftCtrl = "leftCtrl" => 0xFFE3,
    LeftShift = "leftShift" => 0xFFE1,
    RightAlt = "rightAlt" => 0xFFEA,
    RightCtrl = "rightCtrl" => 0xFFE4,
    RightShift = "rightShift" => 0xFFE2,
    LeftSuper = "leftSuper" => 0xFFEB,
    RightSuper = "rightSuper" => 0xFFEC,
    // The macOS names: Command is sent as Alt and Option as Meta, as Packer does.
    LeftCommand = "leftCommand" => 0xFFE9,
    RightCommand = "rightCommand" => 0xFFEA,
    LeftOption = "leftOption" => 0xFFE7,
    RightOption = "rightOption" => 0xFFE8,
    Left = "left" => 0xFF51,
    Right = "right" => 0xFF53,
    Menu = "menu" => 0xFF67,
}

impl fmt::Display for SpecialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.name())
    }
}

/// The keysym of Shift_L, which the driver presses around characters that need Shift.
pub const SHIFT_KEYSYM: u32 = 0xFFE1;

/// ASCII symbols that a US keyboard types with Shift, so Packer holds Shift for them.
const SHIFTED_SYMBOLS: &str = "~!@#$%^&*()_+{}|:\"<>?";

/// Whether Packer's VNC driver wraps the character in Shift down/up: Unicode upper-case letters
/// (general category Lu, as Go's `unicode.IsUpper` sees it) and the shifted ASCII symbols.
pub fn needs_shift(c: char) -> bool {
    crate::upper::is_upper(c) || SHIFTED_SYMBOLS.contains(c)
}

/// The keysym Packer sends for a character: its code point, whatever it is. X11 defines keysyms
/// equal to the code point only for Latin-1; see [`has_latin1_keysym`].
pub fn char_keysym(c: char) -> u32 {
    u32::from(c)
}

/// Whether the character's code point is also the X11 keysym of a printable character (ASCII and
/// Latin-1 printables). Others (control characters, most of Unicode) reach the VNC server as
/// keysyms no keyboard sends, and are usually dropped.
pub fn has_latin1_keysym(c: char) -> bool {
    matches!(u32::from(c), 0x20..=0x7E | 0xA0..=0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_ignoring_case() {
        let mut seen = std::collections::BTreeSet::new();
        for k in SpecialKey::ALL {
            assert!(seen.insert(k.name().to_ascii_lowercase()), "{k}");
        }
        assert_eq!(SpecialKey::ALL.len(), 41);
    }

    #[test]
    fn longer_names_come_before_their_prefixes() {
        // An ordered choice commits to the first name that matches, so a name must never be
        // preceded by one of its own prefixes (or `<f10>` would parse as f1 and fail on `0`).
        let all = SpecialKey::ALL;
        for (i, a) in all.iter().enumerate() {
            for b in all.iter().skip(i + 1) {
                let (a, b) = (a.name().to_lowercase(), b.name().to_lowercase());
                assert!(!b.starts_with(&a), "{a} is tried before {b}");
            }
        }
    }

    #[test]
    fn shift_rules() {
        assert!(needs_shift('A') && needs_shift('É') && needs_shift('Ω'));
        assert!(needs_shift('?') && needs_shift('"') && needs_shift('<'));
        assert!(!needs_shift('a') && !needs_shift('1') && !needs_shift('/') && !needs_shift(' '));
        // Title case and "other upper-case" symbols are not category Lu.
        assert!(!needs_shift('ǅ') && !needs_shift('Ⓐ'));
    }
}
