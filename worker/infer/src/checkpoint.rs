//! Canonical byte encoding of checkpoint data (model runs).
//!
//! A model checkpoint is a tensor: the input token ids (checkpoint 0), the
//! hidden states `[tokens, hidden]` after each encoder layer, or the pooled,
//! normalised embedding `[hidden]` (the last checkpoint). Its data is:
//!
//! ```text
//! offset  size        field
//! 0       1           version = 1
//! 1       1           element type: 1 = u32 (token ids), 2 = f32
//! 2       1           rank r, 1 ..= 4
//! 3       1           reserved, 0
//! 4       4·r         dimensions, u32 little-endian, each ≥ 1
//! 4+4r    4·∏dims     elements in row-major order, little-endian
//! ```
//!
//! The encoding is canonical: one byte string per value. Every NaN is
//! written as the quiet NaN `0x7fc00000` and the decoder refuses any other
//! NaN bit pattern, so a checkpoint hash never depends on NaN payloads
//! (which IEEE 754 leaves to the hardware). Decoding checks the length
//! before anything else and never panics: trailing bytes, a short body, a
//! zero or overflowing dimension, an unknown version or type are errors.

/// Format version written in byte 0.
pub const VERSION: u8 = 1;
/// The canonical NaN.
pub const CANONICAL_NAN: u32 = 0x7fc0_0000;
const MAX_RANK: usize = 4;

/// A decoded checkpoint tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Tensor {
    /// Token ids, rank 1.
    Tokens(Vec<u32>),
    /// f32 values with their shape (row-major).
    F32 {
        /// Dimensions, outermost first.
        shape: Vec<usize>,
        /// The values, `shape.iter().product()` of them.
        values: Vec<f32>,
    },
}

/// Why checkpoint data does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the header or the body needs.
    #[error("truncated: {needed} bytes needed, {found} found")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        found: usize,
    },
    /// Bytes after the body.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// Unknown version byte.
    #[error("unknown version {0}")]
    Version(u8),
    /// Unknown element type byte.
    #[error("unknown element type {0}")]
    ElementType(u8),
    /// Rank outside 1..=4, or token ids of rank other than 1.
    #[error("bad rank {0}")]
    Rank(u8),
    /// Reserved byte not zero.
    #[error("reserved byte is {0}, not 0")]
    Reserved(u8),
    /// A zero dimension or a shape whose size overflows.
    #[error("bad shape {0:?}")]
    Shape(Vec<u32>),
    /// A NaN other than the canonical one.
    #[error("non-canonical NaN 0x{bits:08x} at element {index}")]
    NonCanonicalNan {
        /// Its bits.
        bits: u32,
        /// Its position.
        index: usize,
    },
}

fn canonical_bits(v: f32) -> u32 {
    if v.is_nan() {
        CANONICAL_NAN
    } else {
        v.to_bits()
    }
}

fn header(out: &mut Vec<u8>, elem: u8, shape: &[usize]) {
    out.extend_from_slice(&[VERSION, elem, shape.len() as u8, 0]);
    for d in shape {
        out.extend_from_slice(&(*d as u32).to_le_bytes());
    }
}

/// Encodes token ids (rank 1).
pub fn encode_tokens(tokens: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 4 * tokens.len());
    header(&mut out, 1, &[tokens.len()]);
    for t in tokens {
        out.extend_from_slice(&t.to_le_bytes());
    }
    out
}

/// Encodes f32 values of the given shape. `shape` has 1..=4 dimensions, each
/// below 2³², whose product is `values.len()` (callers pass their own
/// buffers' shapes; this is checked in debug builds).
pub fn encode_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    debug_assert!((1..=MAX_RANK).contains(&shape.len()));
    debug_assert_eq!(shape.iter().product::<usize>(), values.len());
    let mut out = Vec::with_capacity(4 + 4 * shape.len() + 4 * values.len());
    header(&mut out, 2, shape);
    for v in values {
        out.extend_from_slice(&canonical_bits(*v).to_le_bytes());
    }
    out
}

impl Tensor {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Tensor::Tokens(t) => encode_tokens(t),
            Tensor::F32 { shape, values } => encode_f32(shape, values),
        }
    }

    /// Decodes canonical checkpoint data (see the module docs).
    pub fn decode(bytes: &[u8]) -> Result<Tensor, DecodeError> {
        let truncated = |needed| DecodeError::Truncated {
            needed,
            found: bytes.len(),
        };
        let [version, elem, rank, reserved] = *bytes.first_chunk::<4>().ok_or(truncated(4))?;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        if elem != 1 && elem != 2 {
            return Err(DecodeError::ElementType(elem));
        }
        if rank == 0 || rank as usize > MAX_RANK || (elem == 1 && rank != 1) {
            return Err(DecodeError::Rank(rank));
        }
        if reserved != 0 {
            return Err(DecodeError::Reserved(reserved));
        }
        let body = 4 + 4 * rank as usize;
        let dims: Vec<u32> = bytes
            .get(4..body)
            .ok_or(truncated(body))?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let count = dims
            .iter()
            .try_fold(1usize, |acc, d| {
                (*d != 0).then_some(())?;
                acc.checked_mul(*d as usize)
            })
            .filter(|n| n.checked_mul(4).and_then(|b| b.checked_add(body)).is_some())
            .ok_or_else(|| DecodeError::Shape(dims.clone()))?;
        let needed = body + 4 * count;
        if bytes.len() < needed {
            return Err(truncated(needed));
        }
        if bytes.len() > needed {
            return Err(DecodeError::Trailing(bytes.len() - needed));
        }
        let words = bytes[body..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        if elem == 1 {
            return Ok(Tensor::Tokens(words.collect()));
        }
        let mut values = Vec::with_capacity(count);
        for (index, bits) in words.enumerate() {
            let v = f32::from_bits(bits);
            if v.is_nan() && bits != CANONICAL_NAN {
                return Err(DecodeError::NonCanonicalNan { bits, index });
            }
            values.push(v);
        }
        Ok(Tensor::F32 {
            shape: dims.iter().map(|d| *d as usize).collect(),
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_layout() {
        let t = Tensor::F32 {
            shape: vec![2, 3],
            values: vec![1.0, -0.0, f32::INFINITY, 3.5, f32::MIN_POSITIVE, -2.0],
        };
        let bytes = t.encode();
        assert_eq!(&bytes[..12], &[1, 2, 2, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(&bytes[12..16], &1.0f32.to_le_bytes());
        assert_eq!(Tensor::decode(&bytes).unwrap(), t);
        let tok = Tensor::Tokens(vec![101, 7592, 102]);
        assert_eq!(Tensor::decode(&tok.encode()).unwrap(), tok);
    }

    #[test]
    fn nans_are_canonical() {
        let payload = f32::from_bits(0x7fc0_1234);
        let neg = f32::from_bits(0xffc0_0000);
        let a = encode_f32(&[2], &[payload, neg]);
        let b = encode_f32(&[2], &[f32::NAN, f32::NAN]);
        assert_eq!(a, b);
        let mut bad = b.clone();
        bad[8..12].copy_from_slice(&0x7fc0_0001u32.to_le_bytes());
        assert!(matches!(
            Tensor::decode(&bad),
            Err(DecodeError::NonCanonicalNan { index: 0, .. })
        ));
    }

    #[test]
    fn each_check_rejects() {
        let good = encode_f32(&[2], &[1.0, 2.0]);
        let with = |i: usize, b: u8| {
            let mut v = good.clone();
            v[i] = b;
            Tensor::decode(&v)
        };
        assert_eq!(with(0, 2), Err(DecodeError::Version(2)));
        assert_eq!(with(1, 3), Err(DecodeError::ElementType(3)));
        assert_eq!(with(2, 0), Err(DecodeError::Rank(0)));
        assert_eq!(with(2, 5), Err(DecodeError::Rank(5)));
        assert_eq!(with(3, 1), Err(DecodeError::Reserved(1)));
        assert_eq!(with(4, 0), Err(DecodeError::Shape(vec![0])));
        assert!(matches!(with(4, 3), Err(DecodeError::Truncated { .. })));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(Tensor::decode(&long), Err(DecodeError::Trailing(1)));
        assert!(matches!(
            Tensor::decode(&good[..3]),
            Err(DecodeError::Truncated { .. })
        ));
        let huge = [
            1u8, 2, 4, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
            255, 255,
        ];
        assert!(matches!(Tensor::decode(&huge), Err(DecodeError::Shape(_))));
        let tokens_rank2 = [1u8, 1, 2, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(Tensor::decode(&tokens_rank2), Err(DecodeError::Rank(2)));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(t) = Tensor::decode(&bytes) {
                prop_assert_eq!(t.encode(), bytes);
            }
        }

        #[test]
        fn decode_never_panics_on_headers(head in proptest::array::uniform8(any::<u8>()), body in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut bytes = vec![1, head[0] % 3, head[1] % 3, 0];
            bytes.extend_from_slice(&head[2..]);
            bytes.extend_from_slice(&body);
            if let Ok(t) = Tensor::decode(&bytes) {
                prop_assert_eq!(t.encode(), bytes);
            }
        }
    }
}
