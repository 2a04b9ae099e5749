//! Little-endian field access with bounds checks.
//!
//! Hand-written rather than pulled from a crate: the formats here (OVMF footer,
//! TDX metadata, TCG2 logs, setup headers) are a few fixed-offset
//! little-endian fields, and every access must be a checked slice so that no
//! attacker-controlled offset can panic. Four tiny functions are clearer than a
//! general codec.

/// `N` bytes at `offset`, or `None` when out of range (overflow-safe).
pub(crate) fn array<const N: usize>(data: &[u8], offset: usize) -> Option<[u8; N]> {
    let end = offset.checked_add(N)?;
    data.get(offset..end)?.try_into().ok()
}

/// Little-endian `u16` at `offset`.
pub(crate) fn u16_at(data: &[u8], offset: usize) -> Option<u16> {
    array::<2>(data, offset).map(u16::from_le_bytes)
}

/// Little-endian `u32` at `offset`.
pub(crate) fn u32_at(data: &[u8], offset: usize) -> Option<u32> {
    array::<4>(data, offset).map(u32::from_le_bytes)
}

/// Little-endian `u64` at `offset`.
pub(crate) fn u64_at(data: &[u8], offset: usize) -> Option<u64> {
    array::<8>(data, offset).map(u64::from_le_bytes)
}

/// UTF-16LE encoding of `s` (no terminator).
pub(crate) fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A byte-slice cursor that reports how far it got, for length-checked decoding.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self { data, pos }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// Takes `n` bytes or returns `(needed, available)`.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], (usize, usize)> {
        let have = self.remaining();
        if n > have {
            return Err((n, have));
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.data[start..self.pos])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, (usize, usize)> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, (usize, usize)> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_reads_are_none() {
        let d = [1u8, 2, 3, 4, 5];
        assert_eq!(u32_at(&d, 1), Some(0x0504_0302));
        assert_eq!(u32_at(&d, 2), None);
        assert_eq!(u64_at(&d, usize::MAX), None);
        let mut c = Cursor::new(&d, 4);
        assert_eq!(c.u16(), Err((2, 1)));
        assert_eq!(c.take(1), Ok(&[5u8][..]));
    }
}
