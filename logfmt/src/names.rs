//! QEMU's spelling of the QAPI enum values stored inside INPUT events and of
//! the shutdown causes. The log stores plain numbers; these tables (from
//! QEMU's `qapi/ui.json` and `qapi/run-state.json`, values only ever
//! appended) turn them into the names a QEMU user knows, e.g. for `dump`.

use crate::event::ShutdownCause;

/// `QKeyCode`, in QAPI order (162 values as of QEMU 10.0).
pub const QKEYCODE: &[&str] = &[
    "unmapped",
    "shift",
    "shift_r",
    "alt",
    "alt_r",
    "ctrl",
    "ctrl_r",
    "menu",
    "esc",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "0",
    "minus",
    "equal",
    "backspace",
    "tab",
    "q",
    "w",
    "e",
    "r",
    "t",
    "y",
    "u",
    "i",
    "o",
    "p",
    "bracket_left",
    "bracket_right",
    "ret",
    "a",
    "s",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "semicolon",
    "apostrophe",
    "grave_accent",
    "backslash",
    "z",
    "x",
    "c",
    "v",
    "b",
    "n",
    "m",
    "comma",
    "dot",
    "slash",
    "asterisk",
    "spc",
    "caps_lock",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "f6",
    "f7",
    "f8",
    "f9",
    "f10",
    "num_lock",
    "scroll_lock",
    "kp_divide",
    "kp_multiply",
    "kp_subtract",
    "kp_add",
    "kp_enter",
    "kp_decimal",
    "sysrq",
    "kp_0",
    "kp_1",
    "kp_2",
    "kp_3",
    "kp_4",
    "kp_5",
    "kp_6",
    "kp_7",
    "kp_8",
    "kp_9",
    "less",
    "f11",
    "f12",
    "print",
    "home",
    "pgup",
    "pgdn",
    "end",
    "left",
    "up",
    "down",
    "right",
    "insert",
    "delete",
    "stop",
    "again",
    "props",
    "undo",
    "front",
    "copy",
    "open",
    "paste",
    "find",
    "cut",
    "lf",
    "help",
    "meta_l",
    "meta_r",
    "compose",
    "pause",
    "ro",
    "hiragana",
    "henkan",
    "yen",
    "muhenkan",
    "katakanahiragana",
    "kp_comma",
    "kp_equals",
    "power",
    "sleep",
    "wake",
    "audionext",
    "audioprev",
    "audiostop",
    "audioplay",
    "audiomute",
    "volumeup",
    "volumedown",
    "mediaselect",
    "mail",
    "calculator",
    "computer",
    "ac_home",
    "ac_back",
    "ac_forward",
    "ac_refresh",
    "ac_bookmarks",
    "lang1",
    "lang2",
    "f13",
    "f14",
    "f15",
    "f16",
    "f17",
    "f18",
    "f19",
    "f20",
    "f21",
    "f22",
    "f23",
    "f24",
];

/// `InputButton` (10 values as of QEMU 8.1).
pub const INPUT_BUTTON: &[&str] = &[
    "left",
    "middle",
    "right",
    "wheel-up",
    "wheel-down",
    "side",
    "extra",
    "wheel-left",
    "wheel-right",
    "touch",
];

/// `InputAxis`.
pub const INPUT_AXIS: &[&str] = &["x", "y"];

/// `InputMultiTouchType` (QEMU 8.1+).
pub const INPUT_MULTI_TOUCH_TYPE: &[&str] = &["begin", "update", "end", "cancel", "data"];

/// `InputEventKind`, the u32 that opens an INPUT payload.
pub const INPUT_EVENT_KIND: &[&str] = &["key", "btn", "rel", "abs", "mtt"];

/// `ShutdownCause`, QAPI spelling.
pub const SHUTDOWN_CAUSE: &[&str] = &[
    "none",
    "host-error",
    "host-qmp-quit",
    "host-qmp-system-reset",
    "host-signal",
    "host-ui",
    "guest-shutdown",
    "guest-reset",
    "guest-panic",
    "subsystem-reset",
    "snapshot-load",
];

fn lookup(table: &'static [&'static str], n: u32) -> Option<&'static str> {
    table.get(n as usize).copied()
}

/// The QKeyCode name, or None for a value newer than this table.
pub fn qkeycode(n: u32) -> Option<&'static str> {
    lookup(QKEYCODE, n)
}

/// The InputButton name.
pub fn input_button(n: u32) -> Option<&'static str> {
    lookup(INPUT_BUTTON, n)
}

/// The InputAxis name.
pub fn input_axis(n: u32) -> Option<&'static str> {
    lookup(INPUT_AXIS, n)
}

/// The InputMultiTouchType name.
pub fn multi_touch_type(n: u32) -> Option<&'static str> {
    lookup(INPUT_MULTI_TOUCH_TYPE, n)
}

/// The QAPI name of a shutdown cause, e.g. `"host-signal"`.
pub fn shutdown_cause(c: ShutdownCause) -> &'static str {
    SHUTDOWN_CAUSE[c as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(QKEYCODE.len(), 162);
        // The spec's real sample: qcode 36 is `a`.
        assert_eq!(qkeycode(36), Some("a"));
        assert_eq!(qkeycode(162), None);
        assert_eq!(input_button(9), Some("touch"));
        assert_eq!(input_axis(1), Some("y"));
        assert_eq!(multi_touch_type(4), Some("data"));
        assert_eq!(shutdown_cause(ShutdownCause::HostSignal), "host-signal");
    }
}
