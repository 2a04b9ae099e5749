//! EFI GUIDs in their on-disk (mixed-endian) byte order.

use core::fmt;

/// An EFI GUID stored as its 16 on-disk bytes (first three fields little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Builds a GUID from its textual fields, e.g. `Guid::new(0x96b582de, 0x1fb2, 0x45f7, [0xba, 0xea, ...])`.
    pub const fn new(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Self {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// The on-disk bytes.
    pub const fn bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// OVMF footer GUID table: `96b582de-1fb2-45f7-baea-a366c55a082d`.
pub const OVMF_TABLE_FOOTER: Guid = Guid::new(
    0x96b5_82de,
    0x1fb2,
    0x45f7,
    [0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d],
);
/// TDX metadata offset entry of the footer table: `e47a6535-984a-4798-865e-4685a7bf8ec2`.
pub const TDX_METADATA_OFFSET: Guid = Guid::new(
    0xe47a_6535,
    0x984a,
    0x4798,
    [0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2],
);
/// `EFI_GLOBAL_VARIABLE` vendor GUID: `8be4df61-93ca-11d2-aa0d-00e098032b8c`.
pub const EFI_GLOBAL_VARIABLE: Guid = Guid::new(
    0x8be4_df61,
    0x93ca,
    0x11d2,
    [0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c],
);
/// `EFI_IMAGE_SECURITY_DATABASE` vendor GUID (db, dbx): `d719b2cb-3d3a-4596-a3bc-dad00e67656f`.
pub const EFI_IMAGE_SECURITY_DATABASE: Guid = Guid::new(
    0xd719_b2cb,
    0x3d3a,
    0x4596,
    [0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
);
/// OVMF's DXE firmware volume name: `7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1`.
pub const OVMF_DXEFV: Guid = Guid::new(
    0x7cb8_bdc9,
    0xf8eb,
    0x4f34,
    [0xaa, 0xea, 0x3e, 0xe4, 0xaf, 0x65, 0x16, 0xa1],
);
/// edk2's UiApp (boot manager menu) file: `462caa21-7614-4503-836e-8ab6f4662331`.
pub const UI_APP_FILE: Guid = Guid::new(
    0x462c_aa21,
    0x7614,
    0x4503,
    [0x83, 0x6e, 0x8a, 0xb6, 0xf4, 0x66, 0x23, 0x31],
);
/// edk2's LZMA custom-decompress GUIDed section: `ee4e5898-3914-4259-9d6e-dc7bd79403cf`.
pub const LZMA_CUSTOM_DECOMPRESS: Guid = Guid::new(
    0xee4e_5898,
    0x3914,
    0x4259,
    [0x9d, 0x6e, 0xdc, 0x7b, 0xd7, 0x94, 0x03, 0xcf],
);
/// OvmfPkg `TdTcg2Dxe` driver file (EFI_CC_MEASUREMENT_PROTOCOL producer): `f062221e-c607-44c2-b0b4-c3886331d351`.
pub const TD_TCG2_DXE_FILE: Guid = Guid::new(
    0xf062_221e,
    0xc607,
    0x44c2,
    [0xb0, 0xb4, 0xc3, 0x88, 0x63, 0x31, 0xd3, 0x51],
);
/// `EFI_CC_MEASUREMENT_PROTOCOL`: `96751a3d-72f4-41a6-a794-ed5d0e67ae6b`.
pub const EFI_CC_MEASUREMENT_PROTOCOL: Guid = Guid::new(
    0x9675_1a3d,
    0x72f4,
    0x41a6,
    [0xa7, 0x94, 0xed, 0x5d, 0x0e, 0x67, 0xae, 0x6b],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_round_trips_textual_form() {
        assert_eq!(
            OVMF_TABLE_FOOTER.to_string(),
            "96b582de-1fb2-45f7-baea-a366c55a082d"
        );
        assert_eq!(OVMF_TABLE_FOOTER.0[..4], [0xde, 0x82, 0xb5, 0x96]);
    }
}
