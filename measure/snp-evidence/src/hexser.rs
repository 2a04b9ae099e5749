//! Serde helpers: byte strings and bit fields are written as lowercase hex
//! strings (JSON numbers above 2^53 lose precision in many consumers).

use serde::Serializer;

/// Serializes bytes as a lowercase hex string.
pub(crate) fn bytes<S: Serializer, T: AsRef<[u8]>>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(value.as_ref()))
}

/// Serializes a `u64` bit field as `0x` + 16 hex digits.
pub(crate) fn u64_hex<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{value:016x}"))
}

/// Serializes an optional `u64` as `0x` + 16 hex digits, or null.
pub(crate) fn opt_u64_hex<S: Serializer>(value: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_str(&format!("0x{v:016x}")),
        None => s.serialize_none(),
    }
}

/// Deserialization of fixed-length hex strings (optional `0x` prefix).
pub(crate) mod de {
    use serde::de::{Deserialize, Deserializer, Error};

    /// Decodes one hex string of exactly `N` bytes.
    pub(crate) fn fixed<const N: usize>(text: &str) -> Result<[u8; N], String> {
        let body = text.trim();
        let body = body.strip_prefix("0x").unwrap_or(body);
        let bytes = hex::decode(body).map_err(|e| format!("{text:?} is not valid hex ({e})"))?;
        <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
            format!(
                "{text:?} has {} bytes, expected {N} ({} hex digits)",
                bytes.len(),
                2 * N
            )
        })
    }

    /// `Option<[u8; N]>` from an optional hex string.
    pub(crate) fn opt_fixed<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Option<[u8; N]>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| fixed::<N>(&s).map_err(D::Error::custom))
            .transpose()
    }

    /// `Vec<[u8; N]>` from a list of hex strings.
    pub(crate) fn vec_fixed<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Vec<[u8; N]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| fixed::<N>(s).map_err(D::Error::custom))
            .collect()
    }
}
