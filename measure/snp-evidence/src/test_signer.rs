//! **Test only**: a fake AMD key chain and a report signer.
//!
//! Compiled for this crate's tests and with the `test-signer` feature (off
//! by default; never enable it in a production build). It mints an ARK and
//! ASK/ASVK (RSA, RSASSA-PSS/SHA-384 with a 48-byte salt, as AMD's — but
//! 2048-bit to keep tests fast) and VCEK/VLEK certificates (ECDSA P-384)
//! carrying the AMD hwID and TCB extensions, and signs reports with the
//! VCEK/VLEK key. Such chains verify only against [`TestCa::trust_roots`]
//! ([`TrustRoots::custom`]), never against the embedded AMD roots.
//!
//! Certificates are assembled field by field with `x509-cert` types rather
//! than its `builder` feature, because the builder only adds extensions
//! whose OID is a type-level constant, and the test cases need arbitrary
//! (also missing or malformed) AMD extensions.
//!
//! All keys derive from caller-given seeds, so the chains are reproducible.
//! Functions here panic on internal errors (this is test tooling).

use std::str::FromStr;
use std::time::Duration;

use der::asn1::{BitString, GeneralizedTime, Ia5StringRef, ObjectIdentifier, OctetString};
use der::{Decode, Encode, EncodePem};
use p384::ecdsa::signature::Signer;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{DynSignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use crate::certs::oid;
use crate::report::{REPORT_LEN, SIGNED_LEN};
use crate::{Product, SignerKind, TrustRoots};

/// Bits of RSA test keys (AMD uses 4096; 2048 keeps key generation fast).
pub const TEST_RSA_BITS: usize = 2048;

/// 2000-01-01T00:00:00Z.
pub const Y2000: u64 = 946_684_800;
/// 2099-01-01T00:00:00Z.
pub const Y2099: u64 = 4_070_908_800;

/// The organization (O=) of test certificates unless chosen otherwise.
pub const AMD_ORGANIZATION: &str = "Advanced Micro Devices";

/// A test ARK and ASK (or ASVK) for one product.
pub struct TestCa {
    /// The product named in the certificates.
    pub product: Product,
    /// Whether the intermediate is an ASK (issues VCEKs) or ASVK (VLEKs).
    pub kind: SignerKind,
    organization: String,
    /// `None` for a CA loaded without its ARK key ([`TestCa::from_pem`]).
    ark_key: Option<rsa::RsaPrivateKey>,
    ark: Certificate,
    inter_key: rsa::RsaPrivateKey,
    inter: Certificate,
}

fn amd_name(cn: &str, organization: &str) -> Name {
    Name::from_str(&format!(
        "CN={cn},O={organization},ST=CA,L=Santa Clara,C=US,OU=Engineering"
    ))
    .expect("valid test name")
}

fn intermediate_cn(product: Product, kind: SignerKind) -> String {
    match kind {
        SignerKind::Vcek => format!("SEV-{product}"),
        SignerKind::Vlek => format!("SEV-VLEK-{product}"),
    }
}

fn spki_der(k: &rsa::RsaPrivateKey) -> Vec<u8> {
    k.to_public_key()
        .to_public_key_der()
        .expect("spki der")
        .into_vec()
}

fn time(unix: u64) -> Time {
    Time::GeneralTime(
        GeneralizedTime::from_unix_duration(Duration::from_secs(unix)).expect("time in range"),
    )
}

fn rsa_sign(key: &rsa::RsaPrivateKey, tbs: TbsCertificate, rng: &mut StdRng) -> Certificate {
    let signer = rsa::pss::SigningKey::<sha2::Sha384>::new(key.clone());
    let der = tbs.to_der().expect("encode tbs");
    let sig = signer.sign_with_rng(rng, &der);
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: signer.signature_algorithm_identifier().expect("pss alg id"),
        signature: BitString::from_bytes(&sig.to_bytes()).expect("bit string"),
    }
}

fn tbs(
    issuer: Name,
    subject: Name,
    spki_der: &[u8],
    signer: &rsa::RsaPrivateKey,
    validity: (u64, u64),
    extensions: Vec<Extension>,
) -> TbsCertificate {
    let alg = rsa::pss::SigningKey::<sha2::Sha384>::new(signer.clone())
        .signature_algorithm_identifier()
        .expect("pss alg id");
    TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&[0x01]).expect("serial"),
        signature: alg,
        issuer,
        validity: Validity {
            not_before: time(validity.0),
            not_after: time(validity.1),
        },
        subject,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(spki_der).expect("spki"),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: if extensions.is_empty() {
            None
        } else {
            Some(extensions)
        },
    }
}

impl TestCa {
    /// Generates an ARK and an ASK (`kind` VCEK) or ASVK (`kind` VLEK) for
    /// `product`, valid 2000..2099, from `seed`.
    pub fn new(product: Product, kind: SignerKind, seed: u64) -> Self {
        Self::with_organization(product, kind, seed, AMD_ORGANIZATION)
    }

    /// As [`TestCa::new`], with `organization` as the certificates' O= (the
    /// subject common names stay AMD's, which is what the verifier reads).
    pub fn with_organization(
        product: Product,
        kind: SignerKind,
        seed: u64,
        organization: &str,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let ark_key = rsa::RsaPrivateKey::new(&mut rng, TEST_RSA_BITS).expect("rsa keygen");
        let inter_key = rsa::RsaPrivateKey::new(&mut rng, TEST_RSA_BITS).expect("rsa keygen");
        let ark_name = amd_name(&format!("ARK-{product}"), organization);
        let ark_tbs = tbs(
            ark_name.clone(),
            ark_name.clone(),
            &spki_der(&ark_key),
            &ark_key,
            (Y2000, Y2099),
            vec![],
        );
        let ark = rsa_sign(&ark_key, ark_tbs, &mut rng);
        let inter_tbs = tbs(
            ark_name,
            amd_name(&intermediate_cn(product, kind), organization),
            &spki_der(&inter_key),
            &ark_key,
            (Y2000, Y2099),
            vec![],
        );
        let inter = rsa_sign(&ark_key, inter_tbs, &mut rng);
        Self {
            product,
            kind,
            organization: organization.to_owned(),
            ark_key: Some(ark_key),
            ark,
            inter_key,
            inter,
        }
    }

    /// An intermediate of `kind` (ASK or ASVK) with its own key from `seed`,
    /// issued by this CA's ARK: with [`TestCa::new`] it makes the two halves
    /// of one product's ARK → {ASK, ASVK} tree.
    ///
    /// Panics for a CA loaded without its ARK key.
    pub fn sibling(&self, kind: SignerKind, seed: u64) -> Self {
        let ark_key = self.ark_key.as_ref().expect("a sibling needs the ARK key");
        let mut rng = StdRng::seed_from_u64(seed);
        let inter_key = rsa::RsaPrivateKey::new(&mut rng, TEST_RSA_BITS).expect("rsa keygen");
        let inter_tbs = tbs(
            self.ark.tbs_certificate.subject.clone(),
            amd_name(&intermediate_cn(self.product, kind), &self.organization),
            &spki_der(&inter_key),
            ark_key,
            (Y2000, Y2099),
            vec![],
        );
        let inter = rsa_sign(ark_key, inter_tbs, &mut rng);
        Self {
            product: self.product,
            kind,
            organization: self.organization.clone(),
            ark_key: Some(ark_key.clone()),
            ark: self.ark.clone(),
            inter_key,
            inter,
        }
    }

    /// A CA from its ARK and intermediate certificates (PEM) and the
    /// intermediate's private key (PKCS#8 PEM), e.g. as written by
    /// [`TestCa::ark_pem`], [`TestCa::intermediate_pem`] and
    /// [`TestCa::intermediate_key_pem`]: issuing VCEKs/VLEKs then needs no
    /// RSA key generation (slow in unoptimised builds). Product and kind come
    /// from the intermediate's common name. `None` if anything does not parse.
    pub fn from_pem(ark_pem: &str, inter_pem: &str, inter_key_pem: &str) -> Option<Self> {
        use der::DecodePem;
        use rsa::pkcs8::DecodePrivateKey;
        let ark = Certificate::from_pem(ark_pem).ok()?;
        let inter = Certificate::from_pem(inter_pem).ok()?;
        let inter_key = rsa::RsaPrivateKey::from_pkcs8_pem(inter_key_pem).ok()?;
        let cn = crate::certs::decode_cert(inter_pem.as_bytes(), crate::CertRole::Ca)
            .ok()?
            .subject_cn();
        let (kind, product) = crate::certs::classify_vek_issuer(&cn)?;
        let organization = crate::certs::name_attribute(
            &inter.tbs_certificate.subject,
            ObjectIdentifier::new_unwrap("2.5.4.10"),
        )
        .unwrap_or_default();
        Some(Self {
            product,
            kind,
            organization,
            ark_key: None,
            ark,
            inter_key,
            inter,
        })
    }

    /// The intermediate's private key, PKCS#8 PEM (test keys only).
    pub fn intermediate_key_pem(&self) -> String {
        use rsa::pkcs8::EncodePrivateKey;
        self.inter_key
            .to_pkcs8_pem(der::pem::LineEnding::LF)
            .expect("pkcs8 pem")
            .to_string()
    }

    /// The ARK, PEM.
    pub fn ark_pem(&self) -> String {
        self.ark.to_pem(der::pem::LineEnding::LF).expect("pem")
    }

    /// The ASK/ASVK, PEM.
    pub fn intermediate_pem(&self) -> String {
        self.inter.to_pem(der::pem::LineEnding::LF).expect("pem")
    }

    /// ASK/ASVK followed by ARK, as AMD's `cert_chain` files.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.intermediate_pem(), self.ark_pem())
    }

    /// Custom trust roots holding this ARK (and the ASK for VCEK chains).
    pub fn trust_roots(&self) -> TrustRoots {
        let pem = match self.kind {
            SignerKind::Vcek => format!("{}{}", self.ark_pem(), self.intermediate_pem()),
            SignerKind::Vlek => self.ark_pem(),
        };
        TrustRoots::custom(pem.as_bytes()).expect("test roots parse")
    }

    /// An ASK/ASVK re-issued with another validity period, signed by this ARK
    /// (same key and names), PEM.
    pub fn intermediate_pem_with_validity(&self, not_before: u64, not_after: u64) -> String {
        let mut tbs = self.inter.tbs_certificate.clone();
        tbs.validity = Validity {
            not_before: time(not_before),
            not_after: time(not_after),
        };
        let mut rng = StdRng::seed_from_u64(not_before ^ not_after);
        let ark_key = self.ark_key.as_ref().expect("re-issuing needs the ARK key");
        rsa_sign(ark_key, tbs, &mut rng)
            .to_pem(der::pem::LineEnding::LF)
            .expect("pem")
    }

    /// Issues a VCEK/VLEK (of this CA's kind) for `spec`.
    pub fn issue(&self, spec: &VekSpec) -> TestVek {
        let mut rng = StdRng::seed_from_u64(spec.key_seed);
        let key = p384::ecdsa::SigningKey::random(&mut rng);
        let spki = key
            .verifying_key()
            .to_public_key_der()
            .expect("ec spki")
            .into_vec();
        let subject = match self.kind {
            SignerKind::Vcek => "SEV-VCEK",
            SignerKind::Vlek => "SEV-VLEK",
        };
        let tbs = tbs(
            self.inter.tbs_certificate.subject.clone(),
            amd_name(subject, &self.organization),
            &spki,
            &self.inter_key,
            (spec.not_before, spec.not_after),
            spec.extensions(),
        );
        let cert = rsa_sign(&self.inter_key, tbs, &mut rng);
        TestVek {
            cert_der: cert.to_der().expect("der"),
            key,
        }
    }
}

/// What goes into a test VCEK/VLEK.
#[derive(Debug, Clone)]
pub struct VekSpec {
    /// hwID extension value (64 bytes; 8 on Turin); `None` omits it.
    pub hw_id: Option<Vec<u8>>,
    /// blSPL, teeSPL, snpSPL, ucodeSPL, fmcSPL; `None` omits the extension.
    pub tcb: [Option<u8>; 5],
    /// productName extension.
    pub product_name: Option<String>,
    /// notBefore, Unix seconds.
    pub not_before: u64,
    /// notAfter, Unix seconds.
    pub not_after: u64,
    /// Seed of the P-384 key.
    pub key_seed: u64,
}

impl VekSpec {
    /// A VCEK for `chip_id` (first 8 bytes on Turin) and the TCB of `tcb`
    /// (bootloader, tee, snp, microcode, fmc), valid 2000..2099.
    pub fn vcek(product: Product, chip_id: &[u8; 64], tcb: [u8; 5]) -> Self {
        let hw = if product == Product::Turin {
            chip_id[..8].to_vec()
        } else {
            chip_id.to_vec()
        };
        Self {
            hw_id: Some(hw),
            tcb: [
                Some(tcb[0]),
                Some(tcb[1]),
                Some(tcb[2]),
                Some(tcb[3]),
                (product == Product::Turin).then_some(tcb[4]),
            ],
            product_name: Some(product.name().to_owned()),
            not_before: Y2000,
            not_after: Y2099,
            key_seed: 7,
        }
    }

    fn extensions(&self) -> Vec<Extension> {
        let ext = |id: &str, value: Vec<u8>| Extension {
            extn_id: ObjectIdentifier::new_unwrap(id),
            critical: false,
            extn_value: OctetString::new(value).expect("octet string"),
        };
        let mut out = Vec::new();
        if let Some(name) = &self.product_name {
            let ia5 = Ia5StringRef::new(name).expect("ascii product name");
            out.push(ext(oid::PRODUCT_NAME, ia5.to_der().expect("der")));
        }
        let oids = [
            oid::BL_SPL,
            oid::TEE_SPL,
            oid::SNP_SPL,
            oid::UCODE_SPL,
            oid::FMC_SPL,
        ];
        for (id, value) in oids.into_iter().zip(self.tcb) {
            if let Some(v) = value {
                out.push(ext(id, v.to_der().expect("der")));
            }
        }
        if let Some(hw) = &self.hw_id {
            out.push(ext(oid::HW_ID, hw.clone()));
        }
        out
    }
}

/// A test VCEK/VLEK certificate and its private key.
pub struct TestVek {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    key: p384::ecdsa::SigningKey,
}

impl TestVek {
    /// A VCEK/VLEK issued earlier by [`TestCa::issue`] with `key_seed`
    /// ([`VekSpec::key_seed`]): the certificate as given, the key derived
    /// again from the seed (no CA key needed).
    pub fn from_key_seed(cert_der: Vec<u8>, key_seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(key_seed);
        Self {
            cert_der,
            key: p384::ecdsa::SigningKey::random(&mut rng),
        }
    }

    /// Signs `report` in place: ECDSA P-384/SHA-384 over bytes 0..0x2A0,
    /// R and S written little-endian into the 72-byte fields at 0x2A0/0x2E8.
    pub fn sign(&self, report: &mut [u8; REPORT_LEN]) {
        let sig: p384::ecdsa::Signature = self.key.sign(&report[..SIGNED_LEN]);
        let (r, s) = sig.split_bytes();
        report[0x2A0..0x330].fill(0);
        for (i, b) in r.iter().rev().enumerate() {
            report[0x2A0 + i] = *b;
        }
        for (i, b) in s.iter().rev().enumerate() {
            report[0x2E8 + i] = *b;
        }
    }
}

/// The fields of an unsigned test report, written at the ABI offsets.
#[derive(Debug, Clone)]
pub struct ReportSpec {
    /// VERSION.
    pub version: u32,
    /// GUEST_SVN.
    pub guest_svn: u32,
    /// POLICY.
    pub policy: u64,
    /// VMPL.
    pub vmpl: u32,
    /// SIGNATURE_ALGO.
    pub sig_algo: u32,
    /// KEY_INFO.
    pub key_info: u32,
    /// PLATFORM_INFO.
    pub platform_info: u64,
    /// CURRENT_TCB, REPORTED_TCB, COMMITTED_TCB and LAUNCH_TCB (raw bytes).
    pub tcb: [u8; 8],
    /// REPORT_DATA.
    pub report_data: [u8; 64],
    /// MEASUREMENT.
    pub measurement: [u8; 48],
    /// HOST_DATA.
    pub host_data: [u8; 32],
    /// CPUID family, model, stepping (written for version >= 3).
    pub cpuid: (u8, u8, u8),
    /// CHIP_ID.
    pub chip_id: [u8; 64],
}

impl ReportSpec {
    /// A plausible report for `product` (v2 on Milan/Genoa, v5 on Turin),
    /// guest policy 0x30000 (SMT allowed, no debug), VMPL 0, TCB of `tcb`
    /// (bootloader, tee, snp, microcode, fmc).
    pub fn new(product: Product, tcb: [u8; 5]) -> Self {
        let mut chip_id = [0u8; 64];
        for (i, b) in chip_id.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let (version, cpuid, tcb_bytes) = match product {
            Product::Turin => {
                chip_id[8..].fill(0);
                (
                    5,
                    (0x1A, 0x11, 0),
                    [tcb[4], tcb[0], tcb[1], tcb[2], 0, 0, 0, tcb[3]],
                )
            }
            Product::Genoa => (
                2,
                (0x19, 0x11, 1),
                [tcb[0], tcb[1], 0, 0, 0, 0, tcb[2], tcb[3]],
            ),
            Product::Milan => (
                2,
                (0x19, 0x01, 1),
                [tcb[0], tcb[1], 0, 0, 0, 0, tcb[2], tcb[3]],
            ),
        };
        Self {
            version,
            guest_svn: 1,
            policy: 0x30000,
            vmpl: 0,
            sig_algo: 1,
            key_info: 0,
            platform_info: 1,
            tcb: tcb_bytes,
            report_data: [0x5A; 64],
            measurement: [0x4D; 48],
            host_data: [0u8; 32],
            cpuid,
            chip_id,
        }
    }

    /// The unsigned report bytes.
    pub fn to_bytes(&self) -> [u8; REPORT_LEN] {
        let mut r = [0u8; REPORT_LEN];
        let mut put = |off: usize, bytes: &[u8]| r[off..off + bytes.len()].copy_from_slice(bytes);
        put(0x00, &self.version.to_le_bytes());
        put(0x04, &self.guest_svn.to_le_bytes());
        put(0x08, &self.policy.to_le_bytes());
        put(0x30, &self.vmpl.to_le_bytes());
        put(0x34, &self.sig_algo.to_le_bytes());
        put(0x38, &self.tcb);
        put(0x40, &self.platform_info.to_le_bytes());
        put(0x48, &self.key_info.to_le_bytes());
        put(0x50, &self.report_data);
        put(0x90, &self.measurement);
        put(0xC0, &self.host_data);
        put(0x180, &self.tcb);
        if self.version >= 3 {
            put(0x188, &[self.cpuid.0, self.cpuid.1, self.cpuid.2]);
        }
        put(0x1A0, &self.chip_id);
        put(0x1E0, &self.tcb);
        put(0x1E8, &[3, 55, 1]);
        put(0x1EC, &[3, 55, 1]);
        put(0x1F0, &self.tcb);
        r
    }

    /// The report signed by `vek`.
    pub fn signed_by(&self, vek: &TestVek) -> [u8; REPORT_LEN] {
        let mut r = self.to_bytes();
        vek.sign(&mut r);
        r
    }
}
