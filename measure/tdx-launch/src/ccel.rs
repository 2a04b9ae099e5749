//! The ACPI CCEL table (Confidential Computing Event Log, ACPI 6.5 §5.2.34).
//!
//! | offset | field | |
//! |---|---|---|
//! | 0 | ACPI header (36 B) | signature "CCEL" |
//! | 36 | CC type (u8) | 1 = SEV, 2 = TDX |
//! | 37 | CC subtype (u8) | |
//! | 38 | reserved (u16) | |
//! | 40 | LAML (u64) | log area minimum length |
//! | 48 | LASA (u64) | log area start address |

use crate::bytes::{array, u32_at, u64_at};
use crate::error::{Error, Result};
use serde::Serialize;

/// The decoded CCEL table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CcelTable {
    /// Table revision.
    pub revision: u8,
    /// OEM ID (6 characters).
    pub oem_id: String,
    /// OEM table ID (8 characters).
    pub oem_table_id: String,
    /// CC type (2 = Intel TDX).
    pub cc_type: u8,
    /// CC subtype.
    pub cc_subtype: u8,
    /// Log area minimum length.
    pub laml: u64,
    /// Log area start address.
    pub lasa: u64,
}

impl CcelTable {
    /// Decodes and checks (length, checksum) a CCEL table.
    pub fn parse(b: &[u8]) -> Result<Self> {
        let sig: [u8; 4] = array(b, 0).ok_or_else(|| {
            Error::CcelTable(format!("{} bytes, shorter than an ACPI header", b.len()))
        })?;
        if &sig != b"CCEL" {
            return Err(Error::CcelTable(format!(
                "signature {:?}, expected \"CCEL\"",
                String::from_utf8_lossy(&sig)
            )));
        }
        let len = u32_at(b, 4).unwrap_or(0) as usize;
        if len < 56 || len > b.len() {
            return Err(Error::CcelTable(format!(
                "table length {len}, need 56..={}",
                b.len()
            )));
        }
        let table = &b[..len];
        let sum = table.iter().fold(0u8, |a, x| a.wrapping_add(*x));
        if sum != 0 {
            return Err(Error::CcelTable(format!(
                "checksum mismatch (byte sum {sum:#04x})"
            )));
        }
        let text =
            |r: std::ops::Range<usize>| String::from_utf8_lossy(&table[r]).trim_end().to_string();
        Ok(Self {
            revision: table[8],
            oem_id: text(10..16),
            oem_table_id: text(16..24),
            cc_type: table[36],
            cc_subtype: table[37],
            laml: u64_at(table, 40).unwrap_or(0),
            lasa: u64_at(table, 48).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_checksum_and_signature() {
        let mut t = vec![0u8; 56];
        t[..4].copy_from_slice(b"CCEL");
        t[4] = 56;
        t[36] = 2;
        t[40..48].copy_from_slice(&0x4_0000u64.to_le_bytes());
        let sum = t.iter().fold(0u8, |a, x| a.wrapping_add(*x));
        t[9] = 0u8.wrapping_sub(sum);
        let c = CcelTable::parse(&t).unwrap();
        assert_eq!((c.cc_type, c.laml), (2, 0x4_0000));
        t[37] = 1;
        assert!(
            CcelTable::parse(&t)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        t[0] = b'X';
        assert!(CcelTable::parse(&t).is_err());
        assert!(CcelTable::parse(&t[..10]).is_err());
    }
}
