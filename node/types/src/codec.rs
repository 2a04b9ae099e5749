//! The one canonical binary encoding of everything hashed or signed.
//!
//! # Format
//! The encoding is [Borsh](https://borsh.io) 1.x, chosen because it is
//! deterministic by construction and length-prefixed everywhere:
//!
//! | type | encoding |
//! |---|---|
//! | `u8`..`u128`, `i128` | fixed-width little-endian |
//! | `[u8; N]` (digests, keys, signatures) | the N bytes |
//! | `Vec<T>` / byte strings | `u32` little-endian count, then the elements |
//! | `BTreeSet<T>` / `BTreeMap<K, V>` | `u32` count, then elements (pairs) in strictly ascending key order |
//! | `Option<T>` | `0x00`, or `0x01` then the value |
//! | enum | `u8` variant index (declaration order), then the fields |
//! | struct | the fields in declaration order |
//!
//! # Decoding rules (canonicality)
//! [`Canonical::decode`] accepts a byte string only if it is the encoding of
//! exactly one well-formed value, so `decode(b).encode() == b` for every
//! accepted `b` (a property test checks it):
//! - the input must not exceed the type's [`Canonical::MAX_ENCODED_LEN`]
//!   (checked before anything is allocated);
//! - every length prefix is checked against the bytes that remain; byte
//!   strings also against their own bound ([`BoundedBytes`]), before
//!   allocating; other vectors grow as elements are read (Borsh caps the
//!   pre-allocation at 4 KiB), so a hostile length prefix cannot allocate
//!   more than the input can fill;
//! - trailing bytes are rejected;
//! - booleans, option tags and enum tags outside their range are rejected;
//! - map and set keys must be strictly ascending (no duplicates, no
//!   reordering), which Borsh's `de_strict_order` feature enforces;
//! - type invariants (non-zero asset quantities, non-empty inputs, ...) are
//!   checked by [`Canonical::check`] after decoding.
//!
//! Nothing here panics on any input: the property tests feed random bytes,
//! truncations and bit flips, and `fuzz/` holds a cargo-fuzz target.

use crate::Error;
use borsh::io::{Error as IoError, ErrorKind, Read, Write};
use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

/// A value with one canonical encoding, a size bound and invariants.
pub trait Canonical: BorshSerialize + BorshDeserialize + Sized {
    /// Largest encoding [`Canonical::decode`] accepts, in bytes.
    const MAX_ENCODED_LEN: usize;

    /// Checks the invariants the encoding itself cannot express. Called by
    /// [`Canonical::decode`]; call it on values built in memory too.
    fn check(&self) -> Result<(), Error> {
        Ok(())
    }

    /// The canonical encoding.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the canonical encoding to `out`.
    fn encode_into(&self, out: &mut Vec<u8>) {
        // Writing to a `Vec` cannot fail, and no serializer of this crate
        // returns an error (every length was bounded at construction).
        self.serialize(out)
            .expect("encoding into a Vec<u8> is infallible");
    }

    /// Decodes a complete canonical encoding; see the module docs for the rules.
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > Self::MAX_ENCODED_LEN {
            return Err(Error::TooLarge {
                len: bytes.len(),
                max: Self::MAX_ENCODED_LEN,
            });
        }
        let value = borsh::from_slice::<Self>(bytes).map_err(|e| Error::Malformed {
            reason: e.to_string(),
        })?;
        value.check()?;
        Ok(value)
    }
}

/// Encodes any Borsh value (used for values without their own bound, such as
/// parts of a larger structure).
pub fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).expect("encoding into a Vec<u8> is infallible")
}

/// A byte string of at most `MAX` bytes.
///
/// Encoded as a Borsh `Vec<u8>` (`u32` length, then the bytes). Decoding
/// rejects a length above `MAX` before allocating anything.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BoundedBytes<const MAX: usize>(Vec<u8>);

impl<const MAX: usize> BoundedBytes<MAX> {
    /// The bound, in bytes.
    pub const MAX_LEN: usize = MAX;

    /// Wraps `bytes` if they fit the bound.
    pub fn new(bytes: Vec<u8>) -> Result<Self, Error> {
        if bytes.len() > MAX {
            return Err(Error::BytesTooLong {
                len: bytes.len(),
                max: MAX,
            });
        }
        Ok(Self(bytes))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Unwraps the bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl<const MAX: usize> TryFrom<Vec<u8>> for BoundedBytes<MAX> {
    type Error = Error;
    fn try_from(bytes: Vec<u8>) -> Result<Self, Error> {
        Self::new(bytes)
    }
}

impl<const MAX: usize> TryFrom<&[u8]> for BoundedBytes<MAX> {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self, Error> {
        Self::new(bytes.to_vec())
    }
}

impl<const MAX: usize> fmt::Debug for BoundedBytes<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl<const MAX: usize> BorshSerialize for BoundedBytes<MAX> {
    fn serialize<W: Write>(&self, writer: &mut W) -> borsh::io::Result<()> {
        let len = u32::try_from(self.0.len())
            .map_err(|_| IoError::new(ErrorKind::InvalidInput, "byte string longer than u32"))?;
        len.serialize(writer)?;
        writer.write_all(&self.0)
    }
}

impl<const MAX: usize> BorshDeserialize for BoundedBytes<MAX> {
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let len = u32::deserialize_reader(reader)?;
        let len = usize::try_from(len)
            .map_err(|_| IoError::new(ErrorKind::InvalidData, "length does not fit usize"))?;
        if len > MAX {
            return Err(IoError::new(
                ErrorKind::InvalidData,
                format!("byte string of {len} bytes exceeds its bound of {MAX}"),
            ));
        }
        let mut bytes = vec![0u8; len];
        reader.read_exact(&mut bytes)?;
        Ok(Self(bytes))
    }
}

/// A UTF-8 string of at most `MAX` bytes (names, locations, labels).
///
/// Encoded as a Borsh `String` (`u32` byte length, then the UTF-8 bytes).
/// Decoding rejects a length above `MAX` before allocating and rejects
/// invalid UTF-8.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BoundedString<const MAX: usize>(String);

impl<const MAX: usize> BoundedString<MAX> {
    /// The bound, in bytes.
    pub const MAX_LEN: usize = MAX;

    /// Wraps `text` if it fits the bound.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        if text.len() > MAX {
            return Err(Error::BytesTooLong {
                len: text.len(),
                max: MAX,
            });
        }
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const MAX: usize> fmt::Debug for BoundedString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const MAX: usize> fmt::Display for BoundedString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> TryFrom<&str> for BoundedString<MAX> {
    type Error = Error;
    fn try_from(text: &str) -> Result<Self, Error> {
        Self::new(text)
    }
}

impl<const MAX: usize> BorshSerialize for BoundedString<MAX> {
    fn serialize<W: Write>(&self, writer: &mut W) -> borsh::io::Result<()> {
        BoundedBytes::<MAX>::new(self.0.as_bytes().to_vec())
            .map_err(|e| IoError::new(ErrorKind::InvalidInput, e.to_string()))?
            .serialize(writer)
    }
}

impl<const MAX: usize> BorshDeserialize for BoundedString<MAX> {
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let bytes = BoundedBytes::<MAX>::deserialize_reader(reader)?;
        String::from_utf8(bytes.into_vec())
            .map(Self)
            .map_err(|_| IoError::new(ErrorKind::InvalidData, "string is not valid UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_bytes_rejects_long_prefix_before_allocating() {
        // Length prefix of 4 GiB - 1 with no bytes behind it.
        let bytes = [0xff, 0xff, 0xff, 0xff];
        let err = borsh::from_slice::<BoundedBytes<16>>(&bytes).unwrap_err();
        assert!(err.to_string().contains("exceeds its bound"), "{err}");
    }

    #[test]
    fn bounded_bytes_roundtrip_and_bound() {
        let b = BoundedBytes::<4>::new(vec![1, 2, 3]).unwrap();
        let enc = encode(&b);
        assert_eq!(enc, vec![3, 0, 0, 0, 1, 2, 3]);
        assert_eq!(borsh::from_slice::<BoundedBytes<4>>(&enc).unwrap(), b);
        assert!(BoundedBytes::<2>::new(vec![1, 2, 3]).is_err());
        // Truncated body.
        assert!(borsh::from_slice::<BoundedBytes<4>>(&enc[..5]).is_err());
    }

    #[test]
    fn bounded_string_checks_bound_and_utf8() {
        let s = BoundedString::<8>::new("héllo").unwrap();
        let enc = encode(&s);
        assert_eq!(borsh::from_slice::<BoundedString<8>>(&enc).unwrap(), s);
        assert!(BoundedString::<3>::new("four").is_err());
        assert!(borsh::from_slice::<BoundedString<3>>(&enc).is_err());
        let bad = [2u8, 0, 0, 0, 0xff, 0xfe];
        assert!(borsh::from_slice::<BoundedString<8>>(&bad).is_err());
    }
}
