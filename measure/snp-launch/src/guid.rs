//! GUIDs as they appear in firmware: the 16-byte little-endian ("mixed
//! endian") encoding of RFC 4122 UUIDs used by UEFI, with the canonical text
//! form for display.

use std::fmt;

/// A GUID in its on-disk UEFI byte order (Python's `uuid.UUID(...).bytes_le`):
/// the first three groups little-endian, the last two as written.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Parses the canonical text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`
    /// at compile time. Used for the GUID constants of this crate; a malformed
    /// literal is a compile error, never a run-time panic.
    pub const fn from_canonical(text: &str) -> Guid {
        let s = text.as_bytes();
        assert!(s.len() == 36, "GUID text must be 36 characters");
        assert!(s[8] == b'-' && s[13] == b'-' && s[18] == b'-' && s[23] == b'-');
        // Big-endian bytes as written, skipping the dashes.
        let mut be = [0u8; 16];
        let mut i = 0;
        let mut out = 0;
        while i < 36 {
            if s[i] == b'-' {
                i += 1;
                continue;
            }
            be[out] = (hex_value(s[i]) << 4) | hex_value(s[i + 1]);
            out += 1;
            i += 2;
        }
        // Swap the first three groups to little endian.
        let le = [
            be[3], be[2], be[1], be[0], be[5], be[4], be[7], be[6], be[8], be[9], be[10], be[11],
            be[12], be[13], be[14], be[15],
        ];
        Guid(le)
    }

    /// The 16 bytes in firmware order.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

const fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("GUID text must be hexadecimal"),
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9]
        )?;
        for byte in &b[10..] {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_le_matches_python_uuid() {
        // uuid.UUID("96b582de-1fb2-45f7-baea-a366c55a082d").bytes_le.hex()
        let g = Guid::from_canonical("96b582de-1fb2-45f7-baea-a366c55a082d");
        assert_eq!(hex::encode(g.0), "de82b596b21ff745baeaa366c55a082d");
        assert_eq!(g.to_string(), "96b582de-1fb2-45f7-baea-a366c55a082d");
        let upper = Guid::from_canonical("96B582DE-1FB2-45F7-BAEA-A366C55A082D");
        assert_eq!(upper, g);
    }
}
