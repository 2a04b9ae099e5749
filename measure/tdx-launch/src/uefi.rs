//! UEFI structures TDVF measures: `UEFI_VARIABLE_DATA` and the UiApp load option.

use crate::bytes::{Cursor, utf16le};
use crate::guid::{Guid, OVMF_DXEFV, UI_APP_FILE};

/// `UEFI_VARIABLE_DATA` (TCG PC Client PFP): the event data of variable events.
///
/// | field | size |
/// |---|---|
/// | VariableName (vendor GUID) | 16 |
/// | UnicodeNameLength (characters) | 8 |
/// | VariableDataLength | 8 |
/// | UnicodeName (UTF-16LE, no NUL) | 2·n |
/// | VariableData | m |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UefiVariableData {
    /// Vendor GUID.
    pub vendor: Guid,
    /// Variable name.
    pub name: String,
    /// Variable contents (empty for an absent variable).
    pub data: Vec<u8>,
}

impl UefiVariableData {
    /// The on-disk encoding.
    pub fn encode(&self) -> Vec<u8> {
        let name = utf16le(&self.name);
        let mut out = Vec::with_capacity(32 + name.len() + self.data.len());
        out.extend_from_slice(self.vendor.bytes());
        out.extend_from_slice(&(self.name.encode_utf16().count() as u64).to_le_bytes());
        out.extend_from_slice(&(self.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&name);
        out.extend_from_slice(&self.data);
        out
    }

    /// Decodes event data; `None` when lengths disagree with the buffer.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut c = Cursor::new(bytes, 0);
        let vendor = Guid(c.take(16).ok()?.try_into().ok()?);
        let name_len = u64::from_le_bytes(c.take(8).ok()?.try_into().ok()?);
        let data_len = u64::from_le_bytes(c.take(8).ok()?.try_into().ok()?);
        let name_bytes = c
            .take(usize::try_from(name_len).ok()?.checked_mul(2)?)
            .ok()?;
        let data = c.take(usize::try_from(data_len).ok()?).ok()?;
        if c.remaining() != 0 {
            return None;
        }
        let units: Vec<u16> = name_bytes
            .chunks_exact(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect();
        Some(Self {
            vendor,
            name: String::from_utf16(&units).ok()?,
            data: data.to_vec(),
        })
    }
}

/// `LOAD_OPTION_ACTIVE | LOAD_OPTION_HIDDEN | LOAD_OPTION_CATEGORY_APP`.
const UI_APP_ATTRIBUTES: u32 = 0x0000_0001 | 0x0000_0008 | 0x0000_0100;

/// The `Boot0000` load option edk2's BDS registers for the boot manager menu
/// (UiApp) in OVMF: `EFI_LOAD_OPTION` with description "UiApp" and the device
/// path `Fv(7cb8bdc9-…)/FvFile(462caa21-…)`.
pub fn ovmf_ui_app_load_option() -> Vec<u8> {
    let mut path = Vec::with_capacity(44);
    // MEDIA_DEVICE_PATH / MEDIA_PIWG_FW_VOL_DP
    path.extend_from_slice(&[0x04, 0x07, 20, 0]);
    path.extend_from_slice(OVMF_DXEFV.bytes());
    // MEDIA_DEVICE_PATH / MEDIA_PIWG_FW_FILE_DP
    path.extend_from_slice(&[0x04, 0x06, 20, 0]);
    path.extend_from_slice(UI_APP_FILE.bytes());
    // END_DEVICE_PATH_TYPE / END_ENTIRE_DEVICE_PATH_SUBTYPE
    path.extend_from_slice(&[0x7f, 0xff, 4, 0]);
    let mut out = Vec::new();
    out.extend_from_slice(&UI_APP_ATTRIBUTES.to_le_bytes());
    out.extend_from_slice(&(path.len() as u16).to_le_bytes());
    out.extend_from_slice(&utf16le("UiApp\0"));
    out.extend_from_slice(&path);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guid::EFI_GLOBAL_VARIABLE;

    #[test]
    fn variable_data_round_trips() {
        let v = UefiVariableData {
            vendor: EFI_GLOBAL_VARIABLE,
            name: "SecureBoot".into(),
            data: vec![],
        };
        let e = v.encode();
        assert_eq!(e.len(), 32 + 20);
        assert_eq!(UefiVariableData::decode(&e), Some(v));
        assert_eq!(UefiVariableData::decode(&e[..e.len() - 1]), None);
    }

    #[test]
    fn ui_app_option_layout() {
        let o = ovmf_ui_app_load_option();
        assert_eq!(&o[..4], &[0x09, 0x01, 0, 0]);
        assert_eq!(&o[4..6], &[0x2c, 0]);
        assert_eq!(o.len(), 6 + 12 + 44);
    }
}
