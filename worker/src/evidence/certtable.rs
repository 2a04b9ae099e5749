//! The SEV-SNP certificate table: what the host hands the guest beside an
//! extended report (`SNP_GET_EXT_REPORT` on `/dev/sev-guest`, and the
//! configfs-tsm `auxblob` of an SNP guest), from the GHCB specification
//! (section 4.1.8.1, MSG_REPORT_REQ):
//!
//! ```text
//! table  = entry* zero-entry data
//! entry  = guid:[u8; 16] offset:u32le length:u32le     (24 bytes)
//! offset = from the start of the table; the zero entry (all 24 bytes 0) ends the list
//! ```
//!
//! GUIDs are in RFC 4122 byte order (as the `sev` crate and AMD's tools
//! read them): ARK `c0b406a4-a803-4952-9743-3fb6014cd0ae`, ASK
//! `4ab7b379-bbac-4fe4-a02f-05aef327c782` (the ASVK when the VEK is a VLEK),
//! VCEK `63da758d-e664-4564-adc5-f4b93be8accd`, VLEK
//! `a8074bc2-a25a-483e-aae6-39c045a0b8a1`, CRL
//! `92f81bc3-5811-4d3d-97ff-d19f88dc67ea`.
//!
//! Written here rather than taken from `sev` because its parser walks raw
//! pointers until it meets a zero GUID, without bounds, and panics on a bad
//! GUID: the table comes from the untrusted host. This one is bounded: the
//! terminator must be inside the buffer, every entry's data must lie inside
//! it, and nothing panics on any bytes (unit and property tests).

use crate::evidence::EvidenceProviderError;

/// The kind of a certificate table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertKind {
    /// AMD root key.
    Ark,
    /// AMD SEV key (or the ASVK for VLEK chains).
    Ask,
    /// Versioned chip endorsement key.
    Vcek,
    /// Versioned loaded endorsement key.
    Vlek,
    /// Certificate revocation list.
    Crl,
    /// Anything else, by GUID.
    Other([u8; 16]),
}

/// GUIDs in table byte order.
const ARK: [u8; 16] = guid(
    0xc0b406a4,
    0xa803,
    0x4952,
    [0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae],
);
const ASK: [u8; 16] = guid(
    0x4ab7b379,
    0xbbac,
    0x4fe4,
    [0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82],
);
const VCEK: [u8; 16] = guid(
    0x63da758d,
    0xe664,
    0x4564,
    [0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd],
);
const VLEK: [u8; 16] = guid(
    0xa8074bc2,
    0xa25a,
    0x483e,
    [0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1],
);
const CRL: [u8; 16] = guid(
    0x92f81bc3,
    0x5811,
    0x4d3d,
    [0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea],
);

const fn guid(a: u32, b: u16, c: u16, d: [u8; 8]) -> [u8; 16] {
    let a = a.to_be_bytes();
    let b = b.to_be_bytes();
    let c = c.to_be_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6],
        d[7],
    ]
}

impl CertKind {
    /// The kind of a GUID.
    pub fn from_guid(g: [u8; 16]) -> Self {
        match g {
            ARK => CertKind::Ark,
            ASK => CertKind::Ask,
            VCEK => CertKind::Vcek,
            VLEK => CertKind::Vlek,
            CRL => CertKind::Crl,
            other => CertKind::Other(other),
        }
    }

    /// The GUID of a kind.
    pub fn guid(self) -> [u8; 16] {
        match self {
            CertKind::Ark => ARK,
            CertKind::Ask => ASK,
            CertKind::Vcek => VCEK,
            CertKind::Vlek => VLEK,
            CertKind::Crl => CRL,
            CertKind::Other(g) => g,
        }
    }
}

/// One entry of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertEntry {
    /// What it holds.
    pub kind: CertKind,
    /// The certificate (DER or PEM, as the host stored it).
    pub data: Vec<u8>,
}

/// Why a table does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertTableError {
    /// No all-zero entry before the end of the buffer.
    #[error("certificate table has no terminating entry within its {0} bytes")]
    Unterminated(usize),
    /// An entry's data lies outside the buffer.
    #[error("certificate table entry {index} points outside the table ({offset}+{length} > {len})")]
    OutOfBounds {
        /// Entry index.
        index: usize,
        /// Its offset.
        offset: u32,
        /// Its length.
        length: u32,
        /// The buffer length.
        len: usize,
    },
}

const ENTRY: usize = 24;

/// Parses a certificate table (an empty buffer is an empty table).
pub fn parse(table: &[u8]) -> Result<Vec<CertEntry>, CertTableError> {
    if table.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (index, raw) in table.chunks(ENTRY).enumerate() {
        if raw.len() < ENTRY {
            break;
        }
        if raw.iter().all(|b| *b == 0) {
            return Ok(out);
        }
        let mut g = [0u8; 16];
        g.copy_from_slice(&raw[..16]);
        let offset = u32::from_le_bytes([raw[16], raw[17], raw[18], raw[19]]);
        let length = u32::from_le_bytes([raw[20], raw[21], raw[22], raw[23]]);
        let oob = CertTableError::OutOfBounds {
            index,
            offset,
            length,
            len: table.len(),
        };
        let start = offset as usize;
        let end = start.checked_add(length as usize).ok_or(oob.clone())?;
        let data = table.get(start..end).ok_or(oob)?;
        out.push(CertEntry {
            kind: CertKind::from_guid(g),
            data: data.to_vec(),
        });
    }
    Err(CertTableError::Unterminated(table.len()))
}

/// Builds a table (for tests and the simulated host): entries, the zero
/// entry, then the data in order.
pub fn build(entries: &[CertEntry]) -> Vec<u8> {
    let header = (entries.len() + 1) * ENTRY;
    let mut table = Vec::new();
    let mut data = Vec::new();
    for e in entries {
        table.extend_from_slice(&e.kind.guid());
        table.extend_from_slice(&((header + data.len()) as u32).to_le_bytes());
        table.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        data.extend_from_slice(&e.data);
    }
    table.extend_from_slice(&[0; ENTRY]);
    table.extend_from_slice(&data);
    table
}

/// What a report needs from the table: the VEK and the chain above it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnpCerts {
    /// The VCEK or VLEK.
    pub vek: Option<Vec<u8>>,
    /// ASK (or ASVK) then ARK, when both are present in one encoding.
    pub chain: Option<Vec<u8>>,
}

fn is_pem(b: &[u8]) -> bool {
    b.trim_ascii_start().starts_with(b"-----BEGIN")
}

/// Picks the VEK (the VLEK when `key_info` says the report was signed with
/// one, else the VCEK) and the ASK+ARK chain from `entries`.
pub fn snp_certs(entries: &[CertEntry], vlek: bool) -> SnpCerts {
    let find = |k: CertKind| entries.iter().find(|e| e.kind == k).map(|e| e.data.clone());
    let vek = if vlek {
        find(CertKind::Vlek)
    } else {
        find(CertKind::Vcek)
    };
    // The chain field takes PEM or concatenated DER, not a mix: with a mix
    // (or a missing half) it is left out and the verifier uses the
    // intermediates embedded with its trusted roots.
    let chain = match (find(CertKind::Ask), find(CertKind::Ark)) {
        (Some(ask), Some(ark)) if is_pem(&ask) == is_pem(&ark) => {
            let mut c = ask;
            if is_pem(&c) && !c.ends_with(b"\n") {
                c.push(b'\n');
            }
            c.extend_from_slice(&ark);
            Some(c)
        }
        _ => None,
    };
    SnpCerts { vek, chain }
}

/// Whether an SNP report was signed with a VLEK (KEY_INFO bits 4:2 = 1).
pub fn report_uses_vlek(report: &[u8]) -> bool {
    // KEY_INFO (u32 LE) at offset 0x48 of the attestation report.
    report
        .get(0x48..0x4C)
        .map(|b| (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) >> 2) & 0x7 == 1)
        .unwrap_or(false)
}

/// The SEV-SNP evidence of `report` with certificates from the host's
/// table, or from `fallback` (a configured VCEK/VLEK) when the table has no
/// VEK of the report's kind.
pub fn snp_evidence(
    provider: &'static str,
    report: Vec<u8>,
    table: &[CertEntry],
    fallback: Option<&crate::evidence::collateral::Source>,
) -> Result<aether_evidence::Evidence, EvidenceProviderError> {
    let vlek = report_uses_vlek(&report);
    let certs = snp_certs(table, vlek);
    let kind = if vlek { "VLEK" } else { "VCEK" };
    let vek = match (certs.vek, fallback) {
        (Some(v), _) => v,
        (None, Some(src)) => src.fetch().map_err(|reason| EvidenceProviderError::Collateral {
            provider,
            reason: format!("the host's certificate table has no {kind}, and the configured one failed: {reason}"),
        })?,
        (None, None) => {
            return Err(EvidenceProviderError::Collateral {
                provider,
                reason: format!(
                    "the host's certificate table has no {kind}: set --snp-vek FILE|URL (AMD KDS \
                     https://kdsintf.amd.com/vcek/v1/<product>/<hwid>?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=.. \
                     for a VCEK, or the cloud's metadata service), or have the host load its certificates \
                     (snphost import / SNP_SET_EXT_CONFIG)"
                ),
            });
        }
    };
    Ok(aether_evidence::Evidence::Snp {
        report,
        vek,
        chain: certs.chain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn guids_are_the_documented_ones() {
        use sev::firmware::host::CertType;
        for (kind, theirs, text) in [
            (
                CertKind::Ark,
                CertType::ARK,
                "c0b406a4-a803-4952-9743-3fb6014cd0ae",
            ),
            (
                CertKind::Ask,
                CertType::ASK,
                "4ab7b379-bbac-4fe4-a02f-05aef327c782",
            ),
            (
                CertKind::Vcek,
                CertType::VCEK,
                "63da758d-e664-4564-adc5-f4b93be8accd",
            ),
            (
                CertKind::Vlek,
                CertType::VLEK,
                "a8074bc2-a25a-483e-aae6-39c045a0b8a1",
            ),
            (
                CertKind::Crl,
                CertType::CRL,
                "92f81bc3-5811-4d3d-97ff-d19f88dc67ea",
            ),
        ] {
            assert_eq!(theirs.to_string(), text, "the sev crate's spelling");
            assert_eq!(hex::encode(kind.guid()), text.replace('-', ""));
            assert_eq!(CertKind::from_guid(kind.guid()), kind);
        }
    }

    #[test]
    fn parses_a_table_as_the_host_lays_it_out() {
        let entries = vec![
            CertEntry {
                kind: CertKind::Vcek,
                data: b"vcek-der".to_vec(),
            },
            CertEntry {
                kind: CertKind::Ask,
                data: b"ask".to_vec(),
            },
            CertEntry {
                kind: CertKind::Ark,
                data: b"ark".to_vec(),
            },
            CertEntry {
                kind: CertKind::Other([9; 16]),
                data: vec![],
            },
        ];
        let mut table = build(&entries);
        // The kernel hands out whole pages: zero padding after the data.
        table.resize(4096, 0);
        assert_eq!(parse(&table).unwrap(), entries);
        let c = snp_certs(&entries, false);
        assert_eq!(c.vek.as_deref(), Some(&b"vcek-der"[..]));
        assert_eq!(c.chain.as_deref(), Some(&b"askark"[..]));
        assert_eq!(snp_certs(&entries, true).vek, None, "no VLEK in the table");
        assert_eq!(parse(&[]).unwrap(), vec![]);
    }

    #[test]
    fn table_built_by_the_sev_crate_parses() {
        // The sev crate's own encoder (what a host tool writes with it).
        let table = sev::firmware::host::CertTableEntry::cert_table_to_vec_bytes(&[
            sev::firmware::host::CertTableEntry::new(
                sev::firmware::host::CertType::VLEK,
                b"vlek".to_vec(),
            ),
            sev::firmware::host::CertTableEntry::new(
                sev::firmware::host::CertType::ARK,
                b"ark!".to_vec(),
            ),
        ])
        .unwrap();
        let parsed = parse(&table).unwrap();
        assert_eq!(
            parsed,
            vec![
                CertEntry {
                    kind: CertKind::Vlek,
                    data: b"vlek".to_vec()
                },
                CertEntry {
                    kind: CertKind::Ark,
                    data: b"ark!".to_vec()
                },
            ]
        );
    }

    #[test]
    fn refuses_tables_that_point_outside_or_never_end() {
        let mut t = build(&[CertEntry {
            kind: CertKind::Vcek,
            data: vec![1; 10],
        }]);
        let len = t.len();
        // Length one past the end.
        t[20..24].copy_from_slice(&11u32.to_le_bytes());
        assert!(matches!(
            parse(&t),
            Err(CertTableError::OutOfBounds { index: 0, .. })
        ));
        // Offset near u32::MAX: no overflow, out of bounds.
        t[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&t), Err(CertTableError::OutOfBounds { .. })));
        // No terminator: the zero entry removed.
        let mut only_entry = CertKind::Vcek.guid().to_vec();
        only_entry.extend_from_slice(&[0; 8]); // offset 0, length 0: in bounds
        assert_eq!(parse(&only_entry), Err(CertTableError::Unterminated(24)));
        // A trailing partial entry is not a terminator either.
        only_entry.extend_from_slice(&[0; 6]);
        assert_eq!(parse(&only_entry), Err(CertTableError::Unterminated(30)));
        assert!(len > 48);
    }

    #[test]
    fn mixed_encodings_leave_the_chain_out_and_pem_is_joined() {
        let pem = |s: &str| {
            format!("-----BEGIN CERTIFICATE-----\n{s}\n-----END CERTIFICATE-----").into_bytes()
        };
        let e = |k, d: Vec<u8>| CertEntry { kind: k, data: d };
        let mixed = [
            e(CertKind::Vcek, vec![0x30]),
            e(CertKind::Ask, pem("a")),
            e(CertKind::Ark, vec![0x30, 1]),
        ];
        assert_eq!(snp_certs(&mixed, false).chain, None);
        let both = [e(CertKind::Ask, pem("a")), e(CertKind::Ark, pem("b"))];
        let chain = String::from_utf8(snp_certs(&both, false).chain.unwrap()).unwrap();
        assert_eq!(
            chain.matches("-----BEGIN CERTIFICATE-----").count(),
            2,
            "{chain}"
        );
        assert!(chain.contains("-----\n-----BEGIN"), "{chain}");
        let no_ark = [e(CertKind::Ask, vec![0x30])];
        assert_eq!(snp_certs(&no_ark, false).chain, None);
    }

    #[test]
    fn key_info_selects_the_vek() {
        let mut report = vec![0u8; 1184];
        assert!(!report_uses_vlek(&report));
        report[0x48] = 1 << 2;
        assert!(report_uses_vlek(&report));
        assert!(!report_uses_vlek(&report[..10]));
    }

    proptest! {
        #[test]
        fn never_panics(b in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(entries) = parse(&b) {
                prop_assert!(entries.iter().map(|e| e.data.len()).sum::<usize>() <= b.len() * entries.len().max(1));
            }
        }

        #[test]
        fn build_then_parse(datas in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..50), 0..6)) {
            let entries: Vec<CertEntry> = datas
                .into_iter()
                .enumerate()
                .map(|(i, data)| CertEntry { kind: CertKind::Other([i as u8 + 1; 16]), data })
                .collect();
            prop_assert_eq!(parse(&build(&entries)).unwrap(), entries);
        }
    }
}
