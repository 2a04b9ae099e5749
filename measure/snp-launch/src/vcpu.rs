//! vCPU signatures: the CPUID `Fn0000_0001_EAX` value (family, model,
//! stepping) that QEMU puts in RDX of the initial vCPU state, and the named
//! CPU models of QEMU's `builtin_x86_defs` that `sev-snp-measure` knows.

use std::fmt;

/// Computes the 32-bit CPUID signature from family, model and stepping
/// (AMD CPUID specification #25481, `Fn0000_0001_EAX`).
///
/// The arithmetic is `sev-snp-measure`'s (`vcpu_types.cpu_sig`) on Python
/// integers (here any `i128`), and the result is taken modulo 2^64 as it is
/// when stored in the 64-bit RDX field: out-of-range or negative inputs give
/// the same value as the reference tool, not an error.
pub fn cpu_sig(family: i128, model: i128, stepping: i128) -> u64 {
    let (family_low, family_high) = if family > 0xf {
        (0xf, (family - 0xf) & 0xff)
    } else {
        (family, 0)
    };
    let model_low = model & 0xf;
    let model_high = (model >> 4) & 0xf;
    let stepping_low = stepping & 0xf;
    let sig = (family_high << 20)
        | (model_high << 16)
        | family_low.wrapping_shl(8)
        | (model_low << 4)
        | stepping_low;
    sig as u64
}

/// The named CPU models (`--vcpu-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the variants are QEMU's model names, listed in `CpuType::name`
pub enum CpuType {
    Epyc,
    EpycV1,
    EpycV2,
    EpycIbpb,
    EpycV3,
    EpycV4,
    EpycRome,
    EpycRomeV1,
    EpycRomeV2,
    EpycRomeV3,
    EpycMilan,
    EpycMilanV1,
    EpycMilanV2,
    EpycGenoa,
    EpycGenoaV1,
    EpycTurin,
}

impl CpuType {
    /// Every model, in the reference tool's order.
    pub const ALL: [CpuType; 16] = [
        CpuType::Epyc,
        CpuType::EpycV1,
        CpuType::EpycV2,
        CpuType::EpycIbpb,
        CpuType::EpycV3,
        CpuType::EpycV4,
        CpuType::EpycRome,
        CpuType::EpycRomeV1,
        CpuType::EpycRomeV2,
        CpuType::EpycRomeV3,
        CpuType::EpycMilan,
        CpuType::EpycMilanV1,
        CpuType::EpycMilanV2,
        CpuType::EpycGenoa,
        CpuType::EpycGenoaV1,
        CpuType::EpycTurin,
    ];

    /// QEMU's name of the model (`EPYC-Milan-v2`, ...).
    pub fn name(self) -> &'static str {
        match self {
            CpuType::Epyc => "EPYC",
            CpuType::EpycV1 => "EPYC-v1",
            CpuType::EpycV2 => "EPYC-v2",
            CpuType::EpycIbpb => "EPYC-IBPB",
            CpuType::EpycV3 => "EPYC-v3",
            CpuType::EpycV4 => "EPYC-v4",
            CpuType::EpycRome => "EPYC-Rome",
            CpuType::EpycRomeV1 => "EPYC-Rome-v1",
            CpuType::EpycRomeV2 => "EPYC-Rome-v2",
            CpuType::EpycRomeV3 => "EPYC-Rome-v3",
            CpuType::EpycMilan => "EPYC-Milan",
            CpuType::EpycMilanV1 => "EPYC-Milan-v1",
            CpuType::EpycMilanV2 => "EPYC-Milan-v2",
            CpuType::EpycGenoa => "EPYC-Genoa",
            CpuType::EpycGenoaV1 => "EPYC-Genoa-v1",
            CpuType::EpycTurin => "EPYC-Turin",
        }
    }

    /// The model for an exact (case-sensitive) QEMU name.
    pub fn from_name(name: &str) -> Option<CpuType> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// (family, model, stepping) of the model.
    pub fn family_model_stepping(self) -> (u8, u8, u8) {
        match self {
            CpuType::Epyc
            | CpuType::EpycV1
            | CpuType::EpycV2
            | CpuType::EpycIbpb
            | CpuType::EpycV3
            | CpuType::EpycV4 => (23, 1, 2),
            CpuType::EpycRome | CpuType::EpycRomeV1 | CpuType::EpycRomeV2 | CpuType::EpycRomeV3 => {
                (23, 49, 0)
            }
            CpuType::EpycMilan | CpuType::EpycMilanV1 | CpuType::EpycMilanV2 => (25, 1, 1),
            CpuType::EpycGenoa | CpuType::EpycGenoaV1 => (25, 17, 0),
            CpuType::EpycTurin => (26, 0, 0),
        }
    }

    /// The model's CPUID signature.
    pub fn signature(self) -> u64 {
        let (f, m, s) = self.family_model_stepping();
        cpu_sig(f.into(), m.into(), s.into())
    }
}

impl fmt::Display for CpuType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_signatures() {
        assert_eq!(CpuType::EpycV4.signature(), 0x800f12);
        assert_eq!(CpuType::EpycRome.signature(), 0x830f10);
        assert_eq!(CpuType::EpycMilan.signature(), 0xa00f11);
        assert_eq!(CpuType::EpycGenoa.signature(), 0xa10f10);
        assert_eq!(CpuType::EpycTurin.signature(), 0xb00f00);
        for t in CpuType::ALL {
            assert_eq!(CpuType::from_name(t.name()), Some(t));
        }
        assert_eq!(CpuType::from_name("epyc"), None);
    }

    #[test]
    fn out_of_range_inputs_wrap_like_python() {
        // Python: cpu_sig(-5, 0, 0) == -1280, stored as 2^64 - 1280 in RDX.
        assert_eq!(cpu_sig(-5, 0, 0), (-1280i64) as u64);
        assert_eq!(cpu_sig(i128::MIN, i128::MAX, -1), 0xf00ff);
        // Python: cpu_sig(300, -1, 17) == 0x1df0ff1
        assert_eq!(cpu_sig(300, -1, 17), 0x1df0ff1);
    }
}
