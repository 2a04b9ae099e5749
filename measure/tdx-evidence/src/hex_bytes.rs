//! Fixed- and variable-length byte strings that serialize as lower-case hex.

use core::fmt;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `N` bytes shown and (de)serialized as lower-case hex; deserialization also
/// takes an optional `0x` prefix and upper-case digits, and checks the length.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HexBytes<const N: usize>(pub [u8; N]);

/// A 48-byte measurement register (MRTD, RTMRs, MRSEAM, ...).
pub type Measurement = HexBytes<48>;

impl<const N: usize> HexBytes<N> {
    /// Parses `N` bytes of hex (optional `0x` prefix, surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let body = text.trim();
        let body = body.strip_prefix("0x").unwrap_or(body);
        let mut out = [0u8; N];
        hex::decode_to_slice(body, &mut out).map_err(|e| {
            format!(
                "expected {N} bytes ({} hex digits), got {:?}: {e}",
                N.saturating_mul(2),
                shorten(body)
            )
        })?;
        Ok(Self(out))
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; N] {
        &self.0
    }
}

fn shorten(s: &str) -> String {
    if s.len() > 24 {
        format!("{}…", s.chars().take(24).collect::<String>())
    } else {
        s.to_string()
    }
}

impl<const N: usize> From<[u8; N]> for HexBytes<N> {
    fn from(bytes: [u8; N]) -> Self {
        Self(bytes)
    }
}

impl<const N: usize> fmt::Display for HexBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl<const N: usize> fmt::Debug for HexBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HexBytes({})", self.to_hex())
    }
}

impl<const N: usize> Serialize for HexBytes<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de, const N: usize> Deserialize<'de> for HexBytes<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A byte string of any length shown and serialized as lower-case hex.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct HexVec(pub Vec<u8>);

impl fmt::Display for HexVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl fmt::Debug for HexVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HexVec({})", hex::encode(&self.0))
    }
}

impl Serialize for HexVec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_length_check() {
        let h = HexBytes::<2>::from_hex("0xAB01").unwrap();
        assert_eq!(h.0, [0xab, 0x01]);
        assert_eq!(serde_json::to_string(&h).unwrap(), "\"ab01\"");
        let back: HexBytes<2> = serde_json::from_str("\"ab01\"").unwrap();
        assert_eq!(back, h);
        assert!(HexBytes::<2>::from_hex("ab").is_err());
        assert!(HexBytes::<2>::from_hex("ab0102").is_err());
        assert!(HexBytes::<2>::from_hex("zz01").is_err());
    }
}
