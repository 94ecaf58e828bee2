//! X11 keysyms (the key numbers RFB KeyEvents carry) and a readable rendering of what was typed,
//! using the names Packer's `boot_command` uses for special keys, so a template's CI can
//! compare what a VM received with what its `boot_command` says.

/// BackSpace.
pub const BACKSPACE: u32 = 0xff08;
/// Tab.
pub const TAB: u32 = 0xff09;
/// Return (Enter).
pub const RETURN: u32 = 0xff0d;
/// Escape.
pub const ESCAPE: u32 = 0xff1b;
/// Delete.
pub const DELETE: u32 = 0xffff;
/// Left Shift.
pub const SHIFT_L: u32 = 0xffe1;
/// Right Shift.
pub const SHIFT_R: u32 = 0xffe2;
/// Left Control.
pub const CONTROL_L: u32 = 0xffe3;
/// Right Control.
pub const CONTROL_R: u32 = 0xffe4;
/// Left Alt.
pub const ALT_L: u32 = 0xffe9;
/// Right Alt.
pub const ALT_R: u32 = 0xffea;
/// Left Super (Windows key).
pub const SUPER_L: u32 = 0xffeb;
/// Right Super.
pub const SUPER_R: u32 = 0xffec;
/// F1; F2..F12 follow consecutively.
pub const F1: u32 = 0xffbe;

/// Packer's name for a special key, without the angle brackets.
pub fn special_name(keysym: u32) -> Option<&'static str> {
    Some(match keysym {
        BACKSPACE => "bs",
        TAB => "tab",
        RETURN | 0xff8d => "enter",
        ESCAPE => "esc",
        DELETE => "del",
        0xff50 => "home",
        0xff51 => "left",
        0xff52 => "up",
        0xff53 => "right",
        0xff54 => "down",
        0xff55 => "pageUp",
        0xff56 => "pageDown",
        0xff57 => "end",
        0xff63 => "insert",
        0xff67 => "menu",
        SHIFT_L => "leftShift",
        SHIFT_R => "rightShift",
        CONTROL_L => "leftCtrl",
        CONTROL_R => "rightCtrl",
        ALT_L => "leftAlt",
        ALT_R => "rightAlt",
        SUPER_L => "leftSuper",
        SUPER_R => "rightSuper",
        0xffbe => "f1",
        0xffbf => "f2",
        0xffc0 => "f3",
        0xffc1 => "f4",
        0xffc2 => "f5",
        0xffc3 => "f6",
        0xffc4 => "f7",
        0xffc5 => "f8",
        0xffc6 => "f9",
        0xffc7 => "f10",
        0xffc8 => "f11",
        0xffc9 => "f12",
        _ => return None,
    })
}

/// The character a keysym types: Latin-1 keysyms are their own code points, Unicode keysyms
/// are `0x0100_0000 + code point`.
pub fn char_of(keysym: u32) -> Option<char> {
    match keysym {
        0x20..=0x7e | 0xa0..=0xff => char::from_u32(keysym),
        0x0100_0000..=0x0110_ffff => char::from_u32(keysym - 0x0100_0000),
        _ => None,
    }
}

/// Shift keys change which keysym a letter sends, so they add nothing to the text.
fn is_shift(keysym: u32) -> bool {
    matches!(keysym, SHIFT_L | SHIFT_R)
}

/// Control, Alt and Super change what a key means, so the text shows them.
fn is_modifier(keysym: u32) -> bool {
    matches!(
        keysym,
        CONTROL_L | CONTROL_R | ALT_L | ALT_R | SUPER_L | SUPER_R
    )
}

/// Renders key events as text: every key press of a printable key as its character, other keys
/// as `<name>` (`<enter>`, `<f2>`, `<0xff61>` for keys without a name), Control/Alt/Super as
/// `<leftCtrlOn>`…`<leftCtrlOff>` around what they modify; Shift presses and all releases of
/// ordinary keys add nothing. `<` typed as a character stays `<`.
pub fn render(events: impl IntoIterator<Item = (u32, bool)>) -> String {
    let mut out = String::new();
    for (keysym, down) in events {
        if is_shift(keysym) {
            continue;
        }
        if is_modifier(keysym) {
            let name = special_name(keysym).unwrap_or("modifier");
            out.push('<');
            out.push_str(name);
            out.push_str(if down { "On>" } else { "Off>" });
            continue;
        }
        if !down {
            continue;
        }
        match (char_of(keysym), special_name(keysym)) {
            (Some(c), _) => out.push(c),
            (None, Some(name)) => {
                out.push('<');
                out.push_str(name);
                out.push('>');
            }
            (None, None) => out.push_str(&format!("<{keysym:#06x}>")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tap(k: u32) -> [(u32, bool); 2] {
        [(k, true), (k, false)]
    }

    #[test]
    fn renders_what_a_boot_command_typed() {
        let mut ev = Vec::new();
        for c in "linux ks=".chars() {
            ev.extend(tap(c as u32));
        }
        // Shift held around an uppercase letter, as Packer's VNC driver sends it.
        ev.push((SHIFT_L, true));
        ev.extend(tap('K' as u32));
        ev.push((SHIFT_L, false));
        ev.extend(tap(RETURN));
        ev.push((CONTROL_L, true));
        ev.extend(tap('c' as u32));
        ev.push((CONTROL_L, false));
        ev.extend(tap(0xffc0));
        ev.extend(tap(0x0100_20ac)); // €
        ev.extend(tap(0xfe03)); // ISO_Level3_Shift: no name
        assert_eq!(
            render(ev),
            "linux ks=K<enter><leftCtrlOn>c<leftCtrlOff><f3>€<0xfe03>"
        );
    }
}
