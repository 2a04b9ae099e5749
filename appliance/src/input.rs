//! The ACPI power button, read from the kernel's evdev devices.
//!
//! A cloud's "stop" (and QEMU's `system_powerdown`) presses the VM's ACPI
//! power button. With no userspace listening the kernel does nothing, and the
//! host kills the VM after its timeout. The init watches every
//! `/dev/input/event*` device for a `KEY_POWER` press and then shuts down as
//! on `SIGTERM`: the payload gets `SIGTERM` and time to close its database.
//!
//! The evdev record (`struct input_event` on x86-64) is 24 bytes:
//! `struct timeval` (two 64-bit fields), `u16 type`, `u16 code`, `i32 value`,
//! native-endian.

/// Size of one `struct input_event` on x86-64.
pub const EVENT_SIZE: usize = 24;
/// `EV_KEY`: a key or button changed state.
pub const EV_KEY: u16 = 0x01;
/// `KEY_POWER`.
pub const KEY_POWER: u16 = 116;

/// One evdev record's type, code and value (the timestamp is not needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputEvent {
    /// Event type (`EV_*`).
    pub kind: u16,
    /// Event code (`KEY_*` for `EV_KEY`).
    pub code: u16,
    /// Value: 1 press, 0 release, 2 autorepeat for keys.
    pub value: i32,
}

impl InputEvent {
    /// Decodes one record (any 24 bytes are a record).
    pub fn decode(raw: &[u8; EVENT_SIZE]) -> Self {
        InputEvent {
            kind: u16::from_ne_bytes([raw[16], raw[17]]),
            code: u16::from_ne_bytes([raw[18], raw[19]]),
            value: i32::from_ne_bytes([raw[20], raw[21], raw[22], raw[23]]),
        }
    }

    /// True for a press of the power button.
    pub fn is_power_press(&self) -> bool {
        self.kind == EV_KEY && self.code == KEY_POWER && self.value == 1
    }
}

/// True when a `/dev/input` entry name is an evdev device (`event<N>`).
pub fn is_event_device(name: &str) -> bool {
    name.strip_prefix("event")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(kind: u16, code: u16, value: i32) -> [u8; EVENT_SIZE] {
        let mut r = [0u8; EVENT_SIZE];
        r[..8].copy_from_slice(&1_700_000_000i64.to_ne_bytes());
        r[8..16].copy_from_slice(&123_456i64.to_ne_bytes());
        r[16..18].copy_from_slice(&kind.to_ne_bytes());
        r[18..20].copy_from_slice(&code.to_ne_bytes());
        r[20..].copy_from_slice(&value.to_ne_bytes());
        r
    }

    #[test]
    fn power_press_is_recognised() {
        let e = InputEvent::decode(&record(EV_KEY, KEY_POWER, 1));
        assert_eq!(
            e,
            InputEvent {
                kind: EV_KEY,
                code: KEY_POWER,
                value: 1
            }
        );
        assert!(e.is_power_press());
    }

    #[test]
    fn release_repeat_other_keys_and_sync_are_not_presses() {
        for (kind, code, value) in [
            (EV_KEY, KEY_POWER, 0),
            (EV_KEY, KEY_POWER, 2),
            (EV_KEY, 115, 1),
            (0, 0, 0),
            (0x04, KEY_POWER, 1),
        ] {
            assert!(!InputEvent::decode(&record(kind, code, value)).is_power_press());
        }
    }

    #[test]
    fn event_device_names() {
        assert!(is_event_device("event0"));
        assert!(is_event_device("event12"));
        for n in ["event", "mice", "event1a", "js0", "by-path"] {
            assert!(!is_event_device(n), "{n}");
        }
    }

    proptest! {
        #[test]
        fn decode_reads_the_fields_back(kind: u16, code: u16, value: i32, t: [u8; 16]) {
            let mut r = record(kind, code, value);
            r[..16].copy_from_slice(&t);
            let e = InputEvent::decode(&r);
            prop_assert_eq!((e.kind, e.code, e.value), (kind, code, value));
        }
    }
}
