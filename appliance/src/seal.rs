//! Sealing keys: a 32-byte key the payload uses to encrypt its state at rest,
//! derived from the TEE so that only the same image on the same platform can
//! recompute it.
//!
//! | TEE | root | what binds the key |
//! |---|---|---|
//! | SEV-SNP | `SNP_GET_DERIVED_KEY` on `/dev/sev-guest`, root VCEK | launch measurement + guest policy (fields 3 and 0 of `GUEST_FIELD_SELECT`), VMPL 0 |
//! | TDX | none | TDX has no hardware key-derivation instruction for guests: a stable key needs a key broker that checks a quote (later issue), so the key is **ephemeral** |
//! | none (plain QEMU) | none | **ephemeral** (random per boot); said on the console |
//!
//! The hardware access sits behind [`HardwareKeySource`]; the selection and
//! the derivation ([`derive`]) are pure and tested with a fake source. The
//! payload never sees the hardware root key: it gets
//! `SHA-256("aether-seal-v1" || 0 || purpose || 0 || root)`.

use sha2::{Digest, Sha256};

/// Which TEE the guest runs in, as seen from its device nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tee {
    /// `/dev/sev-guest` exists.
    Snp,
    /// `/dev/tdx_guest` exists.
    Tdx,
    /// Neither.
    None,
}

/// Detects the TEE from the presence of its guest device.
pub fn detect(sev_guest_present: bool, tdx_guest_present: bool) -> Tee {
    match (sev_guest_present, tdx_guest_present) {
        (true, _) => Tee::Snp,
        (false, true) => Tee::Tdx,
        _ => Tee::None,
    }
}

/// A source of a hardware-bound 32-byte root key.
pub trait HardwareKeySource {
    /// Human-readable name for the console.
    fn name(&self) -> &'static str;
    /// Fetches the root key from the hardware.
    fn root_key(&mut self) -> Result<[u8; 32], String>;
}

/// Where the sealing key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Derived from a hardware root: stable across boots of the same image.
    Hardware(&'static str),
    /// Random for this boot only, with the reason.
    Ephemeral(String),
}

/// The key handed to the payload.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingKey {
    /// The key.
    pub key: [u8; 32],
    /// Its origin.
    pub origin: KeyOrigin,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Domain-separated derivation of a purpose key from a root key.
pub fn derive(purpose: &str, root: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"aether-seal-v1\0");
    h.update(purpose.as_bytes());
    h.update([0]);
    h.update(root);
    h.finalize().into()
}

/// Chooses the sealing key: the hardware source's when there is one and it
/// answers, otherwise `random` with the reason it is ephemeral.
pub fn sealing_key(
    tee: Tee,
    source: Option<&mut dyn HardwareKeySource>,
    purpose: &str,
    random: [u8; 32],
) -> SealingKey {
    let reason = match (tee, source) {
        (_, Some(src)) => match src.root_key() {
            Ok(root) => {
                return SealingKey {
                    key: derive(purpose, &root),
                    origin: KeyOrigin::Hardware(src.name()),
                };
            }
            Err(e) => format!("{} failed: {e}", src.name()),
        },
        (Tee::Snp, None) => "SEV-SNP guest device present but no key source configured".into(),
        (Tee::Tdx, None) => {
            "TDX offers guests no hardware sealing key (a key broker is needed)".into()
        }
        (Tee::None, None) => "no TEE guest device (plain VM)".into(),
    };
    SealingKey {
        key: random,
        origin: KeyOrigin::Ephemeral(reason),
    }
}

/// `SNP_GET_DERIVED_KEY` through `/dev/sev-guest` (the `sev` crate's safe API).
#[derive(Debug, Default)]
pub struct SnpGuestDevice;

impl HardwareKeySource for SnpGuestDevice {
    fn name(&self) -> &'static str {
        "SEV-SNP derived key (VCEK root, measurement + policy)"
    }

    fn root_key(&mut self) -> Result<[u8; 32], String> {
        use sev::firmware::guest::{DerivedKey, Firmware, GuestFieldSelect};
        let mut fw = Firmware::open().map_err(|e| format!("open /dev/sev-guest: {e}"))?;
        let mut fields = GuestFieldSelect::default();
        fields.set_guest_policy(true);
        fields.set_measurement(true);
        // Root VCEK (false), VMPL 0, guest SVN 0, TCB 0; message version 1
        // works on every SNP firmware (version 2 needs a mitigation vector).
        let request = DerivedKey::new(false, fields, 0, 0, 0, None);
        fw.get_derived_key(Some(1), request)
            .map_err(|e| format!("SNP_GET_DERIVED_KEY: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Result<[u8; 32], String>);
    impl HardwareKeySource for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn root_key(&mut self) -> Result<[u8; 32], String> {
            self.0.clone()
        }
    }

    #[test]
    fn detection() {
        assert_eq!(detect(true, false), Tee::Snp);
        assert_eq!(detect(false, true), Tee::Tdx);
        assert_eq!(detect(false, false), Tee::None);
    }

    #[test]
    fn hardware_key_is_derived_not_exposed() {
        let mut src = Fake(Ok([7; 32]));
        let k = sealing_key(Tee::Snp, Some(&mut src), "node", [1; 32]);
        assert_eq!(k.origin, KeyOrigin::Hardware("fake"));
        assert_ne!(k.key, [7; 32]);
        assert_eq!(k.key, derive("node", &[7; 32]));
        assert_ne!(derive("node", &[7; 32]), derive("worker", &[7; 32]));
        assert!(!format!("{k:?}").contains("key:"));
    }

    #[test]
    fn falls_back_to_ephemeral_with_reason() {
        let mut src = Fake(Err("firmware error".into()));
        let k = sealing_key(Tee::Snp, Some(&mut src), "node", [1; 32]);
        assert_eq!(k.key, [1; 32]);
        assert!(matches!(k.origin, KeyOrigin::Ephemeral(ref r) if r.contains("firmware error")));
        let k = sealing_key(Tee::Tdx, None, "node", [2; 32]);
        assert!(matches!(k.origin, KeyOrigin::Ephemeral(ref r) if r.contains("TDX")));
        let k = sealing_key(Tee::None, None, "node", [3; 32]);
        assert!(matches!(k.origin, KeyOrigin::Ephemeral(ref r) if r.contains("plain VM")));
    }
}
