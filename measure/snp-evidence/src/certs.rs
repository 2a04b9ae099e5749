//! AMD certificates: decoding, product detection, trust roots and the
//! verified VCEK/VLEK → ASK/ASVK → ARK chain.
//!
//! ```text
//!   ARK-<Product>  (RSA-4096, self-signed, RSASSA-PSS/SHA-384)  ← pinned: must equal a trust root
//!       │ signs
//!   SEV-<Product> (ASK)        or   SEV-VLEK-<Product> (ASVK)
//!       │ signs                          │ signs
//!   SEV-VCEK  (ECDSA P-384, per chip+TCB)   SEV-VLEK (ECDSA P-384, per cloud provider+TCB)
//!       │ signs (ECDSA P-384/SHA-384)
//!   attestation report bytes 0..0x2A0
//! ```
//!
//! The product and signer kind come from the VCEK/VLEK **issuer** common name
//! ("SEV-Milan" → Milan VCEK, "SEV-VLEK-Genoa" → Genoa VLEK). Every CA
//! certificate supplied must name the same product, its ARK must be
//! byte-identical to the trusted ARK of that product, every issuer name must
//! equal its issuer's subject name, and the signatures ARK → ASK/ASVK →
//! VCEK/VLEK are checked with the `sev` crate's RSASSA-PSS verification
//! (`Verifiable for (&Certificate, &Certificate)`), link by link so that the
//! failing link is named. The ARK's self-signature is a property of the
//! trust anchor: checked when custom roots are built (with sev's
//! `ca::Chain` verification), and for the embedded AMD roots by this crate's
//! tests. Validity
//! periods are checked per report, at the verification time
//! ([`VerifiedChain::verify_report`]), so a chain verified once can be cached.

use std::time::{SystemTime, UNIX_EPOCH};

use der::asn1::ObjectIdentifier;
use der::{Decode, DecodePem, Encode, Reader, SliceReader};
use serde::{Deserialize, Serialize};
use sev::certs::snp::Verifiable;

use crate::SnpError;
use crate::hexser;

/// An AMD EPYC product line with SEV-SNP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Product {
    /// 3rd generation EPYC (family 19h, models 00h-0Fh).
    #[serde(alias = "milan")]
    Milan,
    /// 4th generation EPYC (family 19h, models 10h-1Fh and A0h-AFh).
    #[serde(alias = "genoa")]
    Genoa,
    /// 5th generation EPYC (family 1Ah, models 00h-11h).
    #[serde(alias = "turin")]
    Turin,
}

impl Product {
    /// All products with embedded AMD roots.
    pub const ALL: [Product; 3] = [Product::Milan, Product::Genoa, Product::Turin];

    /// The name used in AMD certificate common names ("Milan", ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Milan => "Milan",
            Self::Genoa => "Genoa",
            Self::Turin => "Turin",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which kind of key signed the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SignerKind {
    /// Versioned Chip Endorsement Key: per chip and TCB, issued by the ASK.
    #[serde(rename = "VCEK")]
    Vcek,
    /// Versioned Loaded Endorsement Key: per cloud provider and TCB, issued by the ASVK.
    #[serde(rename = "VLEK")]
    Vlek,
}

impl SignerKind {
    /// The role of the end-entity certificate.
    pub fn role(self) -> CertRole {
        match self {
            Self::Vcek => CertRole::Vcek,
            Self::Vlek => CertRole::Vlek,
        }
    }

    /// The role of the intermediate CA that issues this kind of key.
    pub fn issuer_role(self) -> CertRole {
        match self {
            Self::Vcek => CertRole::Ask,
            Self::Vlek => CertRole::Asvk,
        }
    }
}

/// The role of a certificate in an AMD chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CertRole {
    /// AMD Root Key.
    #[serde(rename = "ARK")]
    Ark,
    /// AMD SEV Signing Key (issues VCEKs).
    #[serde(rename = "ASK")]
    Ask,
    /// AMD SEV VLEK Signing Key (issues VLEKs).
    #[serde(rename = "ASVK")]
    Asvk,
    /// Versioned Chip Endorsement Key.
    #[serde(rename = "VCEK")]
    Vcek,
    /// Versioned Loaded Endorsement Key.
    #[serde(rename = "VLEK")]
    Vlek,
    /// The VCEK or VLEK before its issuer has been identified.
    #[serde(rename = "VCEK/VLEK")]
    Vek,
    /// A certificate of the supplied CA chain not yet identified.
    #[serde(rename = "CA")]
    Ca,
}

impl std::fmt::Display for CertRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ark => "ARK",
            Self::Ask => "ASK",
            Self::Asvk => "ASVK",
            Self::Vcek => "VCEK",
            Self::Vlek => "VLEK",
            Self::Vek => "VCEK/VLEK",
            Self::Ca => "CA chain",
        })
    }
}

/// Which trust roots verified a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustRootKind {
    /// AMD's ARKs embedded from the `sev` crate.
    Amd,
    /// Caller-supplied roots (test chains only).
    Custom,
}

impl TrustRootKind {
    /// The label printed by the CLI: "amd (embedded)" or "custom (test only)".
    pub fn label(self) -> &'static str {
        match self {
            Self::Amd => "amd (embedded)",
            Self::Custom => "custom (test only)",
        }
    }
}

impl std::fmt::Display for TrustRootKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for TrustRootKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// A decoded certificate, kept both as `x509-cert` (names, validity,
/// extensions) and as the `sev` crate's type (signature verification).
#[derive(Clone)]
pub(crate) struct Cert {
    x509: x509_cert::Certificate,
    sev: sev::certs::snp::Certificate,
    der: Vec<u8>,
}

impl Cert {
    fn from_x509(x509: x509_cert::Certificate, role: CertRole) -> Result<Self, SnpError> {
        let der = x509.to_der().map_err(|e| SnpError::CertificateParse {
            role,
            reason: format!("cannot re-encode: {e}"),
        })?;
        Ok(Self {
            sev: x509.clone().into(),
            x509,
            der,
        })
    }

    pub(crate) fn subject_cn(&self) -> String {
        common_name(&self.x509.tbs_certificate.subject).unwrap_or_default()
    }

    fn issuer_cn(&self) -> String {
        common_name(&self.x509.tbs_certificate.issuer).unwrap_or_default()
    }
}

/// Decodes one certificate, DER or PEM.
pub(crate) fn decode_cert(bytes: &[u8], role: CertRole) -> Result<Cert, SnpError> {
    let x509 = if looks_like_pem(bytes) {
        let blocks = pem_blocks(bytes);
        match blocks.as_slice() {
            [one] => x509_cert::Certificate::from_pem(one),
            [] => {
                return Err(SnpError::CertificateParse {
                    role,
                    reason: "no PEM CERTIFICATE block".into(),
                });
            }
            more => {
                return Err(SnpError::CertificateParse {
                    role,
                    reason: format!("expected one certificate, found {} PEM blocks", more.len()),
                });
            }
        }
    } else {
        x509_cert::Certificate::from_der(bytes)
    }
    .map_err(|e| SnpError::CertificateParse {
        role,
        reason: e.to_string(),
    })?;
    Cert::from_x509(x509, role)
}

/// Decodes a stack of certificates: PEM blocks, or concatenated DER.
pub(crate) fn decode_cert_stack(bytes: &[u8], role: CertRole) -> Result<Vec<Cert>, SnpError> {
    let err = |reason: String| SnpError::CertificateParse { role, reason };
    let mut out = Vec::new();
    if looks_like_pem(bytes) {
        for block in pem_blocks(bytes) {
            let c = x509_cert::Certificate::from_pem(block).map_err(|e| err(e.to_string()))?;
            out.push(Cert::from_x509(c, role)?);
        }
    } else {
        let mut reader = SliceReader::new(bytes).map_err(|e| err(e.to_string()))?;
        while !reader.is_finished() {
            let c = x509_cert::Certificate::decode(&mut reader).map_err(|e| err(e.to_string()))?;
            out.push(Cert::from_x509(c, role)?);
        }
    }
    if out.is_empty() {
        return Err(err("no certificate found".into()));
    }
    Ok(out)
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes[start..].starts_with(b"-----BEGIN")
}

/// Splits PEM text into `-----BEGIN CERTIFICATE-----` … `-----END CERTIFICATE-----`
/// blocks. Hand-written because `x509_cert::Certificate::load_pem_chain`
/// (0.2.5) underflows (`input.len() - 1`) and so panics on empty input.
fn pem_blocks(bytes: &[u8]) -> Vec<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = bytes;
    while let Some(b) = find(rest, BEGIN) {
        let from_begin = &rest[b..];
        let Some(e) = find(from_begin, END) else {
            // An unterminated block: hand it to the PEM decoder for its error.
            blocks.push(from_begin);
            break;
        };
        let end = e.saturating_add(END.len()).min(from_begin.len());
        blocks.push(&from_begin[..end]);
        rest = &from_begin[end..];
    }
    blocks
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// The first common name of a distinguished name, if it is a string.
fn common_name(name: &x509_cert::name::Name) -> Option<String> {
    name_attribute(name, OID_CN)
}

/// The first attribute `oid` of a distinguished name, if it is a string.
pub(crate) fn name_attribute(
    name: &x509_cert::name::Name,
    oid: ObjectIdentifier,
) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| any_string(&atv.value))
}

/// The text of a UTF8String, PrintableString or IA5String.
fn any_string(any: &der::Any) -> Option<String> {
    use der::{Tag, Tagged};
    match any.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
            std::str::from_utf8(any.value()).ok().map(str::to_owned)
        }
        _ => None,
    }
}

/// Classifies a CA certificate by its subject common name.
fn classify_ca(cn: &str) -> Option<(CertRole, Product)> {
    if let Some(p) = cn.strip_prefix("ARK-") {
        return Product::from_name(p).map(|p| (CertRole::Ark, p));
    }
    if let Some(p) = cn.strip_prefix("SEV-VLEK-") {
        return Product::from_name(p).map(|p| (CertRole::Asvk, p));
    }
    if let Some(p) = cn.strip_prefix("SEV-") {
        return Product::from_name(p).map(|p| (CertRole::Ask, p));
    }
    None
}

/// Product and signer kind from the VCEK/VLEK issuer common name.
pub(crate) fn classify_vek_issuer(cn: &str) -> Option<(SignerKind, Product)> {
    match classify_ca(cn)? {
        (CertRole::Ask, p) => Some((SignerKind::Vcek, p)),
        (CertRole::Asvk, p) => Some((SignerKind::Vlek, p)),
        _ => None,
    }
}

struct TrustAnchor {
    product: Product,
    ark: Cert,
    ask: Option<Cert>,
    asvk: Option<Cert>,
}

impl TrustAnchor {
    /// The ARK is self-signed and signs the ASK and the ASVK (sev's
    /// `ca::Chain` verification for the ASK, its `Verifiable` pair for the ASVK).
    fn verify(&self) -> Result<(), SnpError> {
        let sig_err = |signee: CertRole| {
            move |e: std::io::Error| SnpError::ChainSignature {
                signer: CertRole::Ark,
                signee,
                reason: e.to_string(),
            }
        };
        if self.ark.x509.tbs_certificate.issuer != self.ark.x509.tbs_certificate.subject {
            return Err(SnpError::ChainNameMismatch {
                child: CertRole::Ark,
                parent: CertRole::Ark,
            });
        }
        (&self.ark.sev, &self.ark.sev)
            .verify()
            .map_err(sig_err(CertRole::Ark))?;
        let named = |cert: &Cert, role: CertRole| {
            if cert.x509.tbs_certificate.issuer == self.ark.x509.tbs_certificate.subject {
                Ok(())
            } else {
                Err(SnpError::ChainNameMismatch {
                    child: role,
                    parent: CertRole::Ark,
                })
            }
        };
        if let Some(ask) = &self.ask {
            named(ask, CertRole::Ask)?;
            let chain = sev::certs::snp::ca::Chain {
                ark: self.ark.sev.clone(),
                ask: ask.sev.clone(),
            };
            (&chain).verify().map_err(sig_err(CertRole::Ask))?;
        }
        if let Some(asvk) = &self.asvk {
            named(asvk, CertRole::Asvk)?;
            (&self.ark.sev, &asvk.sev)
                .verify()
                .map_err(sig_err(CertRole::Asvk))?;
        }
        Ok(())
    }
}

/// AMD's ASVKs (the `SEV-VLEK-<Product>` CAs that issue VLEKs): product, PEM
/// and the SHA-256 of the PEM file, as published by AMD's key distribution
/// service. Public vendor certificates, committed as data under `roots/`; the
/// tests check each pin, that each ASVK is signed by the embedded ARK of its
/// product, and that the Milan one is byte-identical to go-sev-guest's copy in
/// the shared vectors.
pub const AMD_ASVKS: [(Product, &str, [u8; 32]); 3] = [
    // https://kdsintf.amd.com/vlek/v1/Milan/cert_chain (the ASVK of that chain;
    // copy from confidential-containers/trustee deps/verifier/src/snp/milan_ask_ark_asvk.pem)
    (
        Product::Milan,
        include_str!("../roots/milan_asvk.pem"),
        hex_literal("6c0c38ecb76c9f2b2d054f7d806fd5ccfec970599149ce0ed37b1f77fa409ab7"),
    ),
    // https://kdsintf.amd.com/vlek/v1/Genoa/cert_chain (trustee genoa_ask_ark_asvk.pem)
    (
        Product::Genoa,
        include_str!("../roots/genoa_asvk.pem"),
        hex_literal("9aca5d858c6a4e310e8f91251c6dcdad848e596684b73559ff2fb84cdcc18f1d"),
    ),
    // https://kdsintf.amd.com/vlek/v1/Turin/cert_chain (trustee turin_ask_ark_asvk.pem)
    (
        Product::Turin,
        include_str!("../roots/turin_asvk.pem"),
        hex_literal("408e14874c1406f08432ffc653f9c9bcffe35dce4926405915d77a278eb493f2"),
    ),
];

/// A 32-byte value from 64 hex digits, at compile time (a bad literal fails the build).
const fn hex_literal(text: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let b = text.as_bytes();
    assert!(b.len() == 64, "expected 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// The roots a chain must end in: AMD's embedded ARKs by default, or
/// caller-supplied ones for test chains.
pub struct TrustRoots {
    anchors: Vec<TrustAnchor>,
    kind: TrustRootKind,
}

impl std::fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRoots")
            .field("kind", &self.kind)
            .field("products", &self.products())
            .finish()
    }
}

impl Default for TrustRoots {
    fn default() -> Self {
        Self::amd()
    }
}

impl TrustRoots {
    /// AMD's ARK and ASK of Milan, Genoa and Turin, as embedded in the `sev`
    /// crate (`sev::certs::snp::builtin`), and AMD's ASVK of each (embedded
    /// here, [`AMD_ASVKS`]). The ASKs let a VCEK, and the ASVKs a VLEK, be
    /// verified without a supplied chain.
    pub fn amd() -> Self {
        use sev::certs::snp::builtin::{genoa, milan, turin};
        let pairs: [(Product, &[u8], &[u8]); 3] = [
            (Product::Milan, milan::ARK, milan::ASK),
            (Product::Genoa, genoa::ARK, genoa::ASK),
            (Product::Turin, turin::ARK, turin::ASK),
        ];
        let anchors = pairs
            .into_iter()
            .map(|(product, ark, ask)| {
                let asvk = AMD_ASVKS
                    .iter()
                    .find(|(p, _, _)| *p == product)
                    .map(|(_, pem, _)| pem.as_bytes());
                TrustAnchor {
                    product,
                    // The embedded PEMs are constants checked by this crate's
                    // tests (`embedded_roots_parse_and_match_vectors`,
                    // `embedded_asvks_are_pinned_and_signed_by_their_ark`).
                    ark: decode_cert(ark, CertRole::Ark).expect("embedded AMD ARK parses"),
                    ask: Some(decode_cert(ask, CertRole::Ask).expect("embedded AMD ASK parses")),
                    asvk: asvk
                        .map(|pem| decode_cert(pem, CertRole::Asvk).expect("embedded ASVK parses")),
                }
            })
            .collect();
        Self {
            anchors,
            kind: TrustRootKind::Amd,
        }
    }

    /// Caller-supplied roots, **for test chains only**: a PEM stack (or
    /// concatenated DER) of one or more ARKs, each optionally with its ASK
    /// and its ASVK. Products come from the subject names ("ARK-Milan",
    /// "SEV-Milan", "SEV-VLEK-Milan"); each ARK must be self-signed and sign
    /// the intermediates given with it.
    pub fn custom(certs: &[u8]) -> Result<Self, SnpError> {
        let mut anchors: Vec<TrustAnchor> = Vec::new();
        let mut intermediates = Vec::new();
        for cert in decode_cert_stack(certs, CertRole::Ark)? {
            let cn = cert.subject_cn();
            match classify_ca(&cn) {
                Some((CertRole::Ark, product)) => {
                    if anchors.iter().any(|a| a.product == product) {
                        return Err(SnpError::CertificateParse {
                            role: CertRole::Ark,
                            reason: format!("two trust-root ARKs for {product}"),
                        });
                    }
                    anchors.push(TrustAnchor {
                        product,
                        ark: cert,
                        ask: None,
                        asvk: None,
                    });
                }
                Some((role @ (CertRole::Ask | CertRole::Asvk), product)) => {
                    intermediates.push((role, product, cert));
                }
                _ => return Err(SnpError::UnrecognisedCaCertificate { subject_cn: cn }),
            }
        }
        for (role, product, cert) in intermediates {
            let anchor = anchors
                .iter_mut()
                .find(|a| a.product == product)
                .ok_or_else(|| SnpError::MissingCaCertificate {
                    role: CertRole::Ark,
                    reason: format!("trust-root {role} for {product} given without its ARK"),
                })?;
            let slot = if role == CertRole::Ask {
                &mut anchor.ask
            } else {
                &mut anchor.asvk
            };
            if slot.is_some() {
                return Err(SnpError::CertificateParse {
                    role,
                    reason: format!("two trust-root {role}s for {product}"),
                });
            }
            *slot = Some(cert);
        }
        if anchors.is_empty() {
            return Err(SnpError::MissingCaCertificate {
                role: CertRole::Ark,
                reason: "custom trust roots contain no ARK".into(),
            });
        }
        for anchor in &anchors {
            anchor.verify()?;
        }
        Ok(Self {
            anchors,
            kind: TrustRootKind::Custom,
        })
    }

    /// Embedded or custom.
    pub fn kind(&self) -> TrustRootKind {
        self.kind
    }

    /// The products these roots can verify.
    pub fn products(&self) -> Vec<Product> {
        self.anchors.iter().map(|a| a.product).collect()
    }

    fn anchor(&self, product: Product) -> Option<&TrustAnchor> {
        self.anchors.iter().find(|a| a.product == product)
    }
}

/// Validity period of one certificate of a verified chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertValidity {
    /// The certificate's role.
    pub role: CertRole,
    /// Subject common name.
    pub subject: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    #[serde(skip)]
    not_before_unix: i64,
    #[serde(skip)]
    not_after_unix: i64,
}

impl CertValidity {
    fn of(cert: &Cert, role: CertRole) -> Result<Self, SnpError> {
        let v = &cert.x509.tbs_certificate.validity;
        let unix = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).map_err(|_| SnpError::CertificateParse {
                role,
                reason: "validity time out of range".into(),
            })
        };
        Ok(Self {
            role,
            subject: cert.subject_cn(),
            not_before: v.not_before.to_date_time().to_string(),
            not_after: v.not_after.to_date_time().to_string(),
            not_before_unix: unix(v.not_before)?,
            not_after_unix: unix(v.not_after)?,
        })
    }

    /// Checks `at` (Unix seconds) against the period; both ends inclusive (RFC 5280).
    pub fn check(&self, at: i64) -> Result<(), SnpError> {
        if at < self.not_before_unix {
            return Err(SnpError::CertificateNotYetValid {
                role: self.role,
                not_before: self.not_before.clone(),
                at,
            });
        }
        if at > self.not_after_unix {
            return Err(SnpError::CertificateExpired {
                role: self.role,
                not_after: self.not_after.clone(),
                at,
            });
        }
        Ok(())
    }
}

/// The TCB a VCEK/VLEK was issued for (its 1.3.6.1.4.1.3704.1.3.x extensions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CertTcb {
    /// blSPL (.3.1).
    pub bootloader: Option<u8>,
    /// teeSPL (.3.2).
    pub tee: Option<u8>,
    /// snpSPL (.3.3).
    pub snp: Option<u8>,
    /// ucodeSPL (.3.8).
    pub microcode: Option<u8>,
    /// fmcSPL (.3.9, Turin).
    pub fmc: Option<u8>,
}

/// Claims about the VCEK/VLEK certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VekClaims {
    /// VCEK or VLEK.
    pub kind: SignerKind,
    /// Serial number (hex).
    #[serde(serialize_with = "hexser::bytes")]
    pub serial: Vec<u8>,
    /// Issuer common name ("SEV-Milan", "SEV-VLEK-Genoa", ...).
    pub issuer: String,
    /// productName extension (1.3.6.1.4.1.3704.1.2), e.g. "Milan-B0".
    pub product_name: Option<String>,
    /// hwID extension (1.3.6.1.4.1.3704.1.4, VCEK only; 8 bytes on Turin).
    #[serde(serialize_with = "opt_bytes")]
    pub hw_id: Option<Vec<u8>>,
    /// cspID extension (1.3.6.1.4.1.3704.1.5, VLEK only).
    pub csp_id: Option<String>,
    /// The TCB the key was issued for.
    pub tcb: CertTcb,
    /// SHA-384 of the DER certificate (hex), to identify it.
    #[serde(serialize_with = "hexser::bytes")]
    pub sha384: [u8; 48],
}

fn opt_bytes<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => hexser::bytes(b, s),
        None => s.serialize_none(),
    }
}

/// Claims about the verified certificate chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainClaims {
    /// The VCEK/VLEK.
    pub vek: VekClaims,
    /// Validity of VCEK/VLEK, ASK/ASVK and ARK, in that order.
    pub validity: Vec<CertValidity>,
    /// Where the ASK/ASVK came from: "supplied" or "embedded".
    pub intermediate_source: &'static str,
}

const AMD_OID_PREFIX: &str = "1.3.6.1.4.1.3704.1.";
/// OIDs of the VCEK/VLEK extensions used by the checks.
pub(crate) mod oid {
    /// productName.
    pub const PRODUCT_NAME: &str = "1.3.6.1.4.1.3704.1.2";
    /// blSPL.
    pub const BL_SPL: &str = "1.3.6.1.4.1.3704.1.3.1";
    /// teeSPL.
    pub const TEE_SPL: &str = "1.3.6.1.4.1.3704.1.3.2";
    /// snpSPL.
    pub const SNP_SPL: &str = "1.3.6.1.4.1.3704.1.3.3";
    /// ucodeSPL.
    pub const UCODE_SPL: &str = "1.3.6.1.4.1.3704.1.3.8";
    /// fmcSPL.
    pub const FMC_SPL: &str = "1.3.6.1.4.1.3704.1.3.9";
    /// hwID.
    pub const HW_ID: &str = "1.3.6.1.4.1.3704.1.4";
    /// cspID.
    pub const CSP_ID: &str = "1.3.6.1.4.1.3704.1.5";
}

/// A VCEK/VLEK whose chain to a trusted ARK has been verified (signatures,
/// names, root pin, product). Time-independent, so it can be cached and
/// reused for every report signed by the same key; validity periods are
/// checked by [`VerifiedChain::verify_report`] at each verification time.
pub struct VerifiedChain {
    pub(crate) product: Product,
    pub(crate) signer: SignerKind,
    pub(crate) trust_root: TrustRootKind,
    pub(crate) key: p384::ecdsa::VerifyingKey,
    pub(crate) claims: ChainClaims,
}

impl std::fmt::Debug for VerifiedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedChain")
            .field("product", &self.product)
            .field("signer", &self.signer)
            .field("trust_root", &self.trust_root)
            .finish_non_exhaustive()
    }
}

impl VerifiedChain {
    /// Decodes the VCEK/VLEK (DER or PEM) and the optional CA chain (PEM
    /// stack or concatenated DER: ASK/ASVK and/or ARK, any order), and
    /// verifies the chain up to a trusted ARK.
    ///
    /// `vek` may also be a bundle, "VCEK (or VLEK) then ASK (or ASVK) then
    /// ARK" as AMD's key distribution service and cloud metadata services hand
    /// it out (PEM stack or concatenated DER): the first certificate is the
    /// VCEK/VLEK and the others join `ca_chain` (a certificate given in both,
    /// byte for byte, counts once). Without a supplied ASK (ASVK) a VCEK (VLEK)
    /// is verified with the intermediate embedded with the roots.
    pub fn new(vek: &[u8], ca_chain: Option<&[u8]>, roots: &TrustRoots) -> Result<Self, SnpError> {
        let mut bundle = decode_cert_stack(vek, CertRole::Vek)?.into_iter();
        let vek = bundle.next().ok_or(SnpError::CertificateParse {
            role: CertRole::Vek,
            reason: "no certificate found".into(),
        })?;
        let mut supplied: Vec<Cert> = bundle.collect();
        if let Some(bytes) = ca_chain {
            for cert in decode_cert_stack(bytes, CertRole::Ca)? {
                if !supplied.iter().any(|c| c.der == cert.der) {
                    supplied.push(cert);
                }
            }
        }
        let issuer_cn = vek.issuer_cn();
        let (signer, product) =
            classify_vek_issuer(&issuer_cn).ok_or(SnpError::UnknownProduct { issuer_cn })?;
        let vek_role = signer.role();
        let inter_role = signer.issuer_role();

        // Sort the supplied CA certificates; all must be for the VEK's product.
        let mut sup_ark: Option<Cert> = None;
        let mut sup_inter: Option<Cert> = None;
        for cert in supplied {
            let cn = cert.subject_cn();
            let (role, ca_product) =
                classify_ca(&cn).ok_or_else(|| SnpError::UnrecognisedCaCertificate {
                    subject_cn: cn.clone(),
                })?;
            if ca_product != product {
                return Err(SnpError::ChainProductMismatch {
                    vek_role,
                    vek_product: product,
                    ca_role: role,
                    ca_product,
                });
            }
            let slot = match role {
                CertRole::Ark => &mut sup_ark,
                r if r == inter_role => &mut sup_inter,
                // An ASK next to a VLEK (or an ASVK next to a VCEK) is not
                // part of this chain; it is ignored, like any bundle extra.
                _ => continue,
            };
            if slot.is_some() {
                return Err(SnpError::UnrecognisedCaCertificate {
                    subject_cn: format!("{cn} (given twice)"),
                });
            }
            *slot = Some(cert);
        }

        let anchor = roots
            .anchor(product)
            .ok_or_else(|| SnpError::UntrustedRoot {
                product,
                trust_root: format!("{}: no ARK for {product}", roots.kind),
            })?;
        let ark = match sup_ark {
            Some(ark) if ark.der != anchor.ark.der => {
                return Err(SnpError::UntrustedRoot {
                    product,
                    trust_root: roots.kind.label().to_owned(),
                });
            }
            _ => &anchor.ark,
        };
        let (inter, intermediate_source) = match (&sup_inter, signer) {
            (Some(c), _) => (c, "supplied"),
            (None, SignerKind::Vcek) => match &anchor.ask {
                Some(ask) => (ask, "embedded"),
                None => {
                    return Err(SnpError::MissingCaCertificate {
                        role: CertRole::Ask,
                        reason: format!("no ASK for {product} supplied or in the trust roots"),
                    });
                }
            },
            (None, SignerKind::Vlek) => match &anchor.asvk {
                Some(asvk) => (asvk, "embedded"),
                None => {
                    return Err(SnpError::MissingCaCertificate {
                        role: CertRole::Asvk,
                        reason: format!(
                            "no SEV-VLEK-{product} ASVK supplied or in the trust roots"
                        ),
                    });
                }
            },
        };

        // Names: each issuer equals its issuer certificate's subject.
        let names = [
            (&vek, vek_role, inter, inter_role),
            (inter, inter_role, ark, CertRole::Ark),
        ];
        for (child, child_role, parent, parent_role) in names {
            if child.x509.tbs_certificate.issuer != parent.x509.tbs_certificate.subject {
                return Err(SnpError::ChainNameMismatch {
                    child: child_role,
                    parent: parent_role,
                });
            }
        }

        // Signatures, with the sev crate's RSASSA-PSS/SHA-384 verification.
        // The ARK is byte-identical to a trust anchor, whose self-signature
        // was checked when the roots were built (custom) or by this crate's
        // tests (embedded), so the chain starts at ARK → ASK/ASVK.
        let links = [
            (ark, CertRole::Ark, inter, inter_role),
            (inter, inter_role, &vek, vek_role),
        ];
        for (signer_cert, signer_role, signee, signee_role) in links {
            (&signer_cert.sev, &signee.sev)
                .verify()
                .map_err(|e| SnpError::ChainSignature {
                    signer: signer_role,
                    signee: signee_role,
                    reason: e.to_string(),
                })?;
        }

        let key = vek_key(&vek, vek_role)?;
        let vek_claims = vek_claims(&vek, signer, vek_role)?;
        let validity = vec![
            CertValidity::of(&vek, vek_role)?,
            CertValidity::of(inter, inter_role)?,
            CertValidity::of(ark, CertRole::Ark)?,
        ];
        Ok(Self {
            product,
            signer,
            trust_root: roots.kind,
            key,
            claims: ChainClaims {
                vek: vek_claims,
                validity,
                intermediate_source,
            },
        })
    }

    /// The product named by the chain.
    pub fn product(&self) -> Product {
        self.product
    }

    /// VCEK or VLEK.
    pub fn signer(&self) -> SignerKind {
        self.signer
    }

    /// Which trust roots verified the chain.
    pub fn trust_root(&self) -> TrustRootKind {
        self.trust_root
    }

    /// Claims about the chain.
    pub fn claims(&self) -> &ChainClaims {
        &self.claims
    }

    /// Checks every certificate's validity period at `at` (Unix seconds).
    pub fn check_validity(&self, at: i64) -> Result<(), SnpError> {
        self.claims.validity.iter().try_for_each(|v| v.check(at))
    }
}

/// Converts a verification time to Unix seconds (negative before 1970).
pub(crate) fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

fn vek_key(vek: &Cert, role: CertRole) -> Result<p384::ecdsa::VerifyingKey, SnpError> {
    let spki = &vek.x509.tbs_certificate.subject_public_key_info;
    let err = |reason: String| SnpError::VekKey { role, reason };
    if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
        return Err(err(format!(
            "algorithm {} is not id-ecPublicKey",
            spki.algorithm.oid
        )));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if curve != Some(OID_SECP384R1) {
        return Err(err("curve is not secp384r1 (P-384)".into()));
    }
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| err("public key bit string has unused bits".into()))?;
    p384::ecdsa::VerifyingKey::from_sec1_bytes(bits).map_err(|e| err(format!("invalid point: {e}")))
}

fn vek_claims(vek: &Cert, kind: SignerKind, role: CertRole) -> Result<VekClaims, SnpError> {
    let mut claims = VekClaims {
        kind,
        serial: vek.x509.tbs_certificate.serial_number.as_bytes().to_vec(),
        issuer: vek.issuer_cn(),
        product_name: None,
        hw_id: None,
        csp_id: None,
        tcb: CertTcb::default(),
        sha384: {
            use sha2::Digest;
            sha2::Sha384::digest(&vek.der).into()
        },
    };
    let mut seen: Vec<String> = Vec::new();
    for ext in vek.x509.tbs_certificate.extensions.iter().flatten() {
        let id = ext.extn_id.to_string();
        if !id.starts_with(AMD_OID_PREFIX) {
            continue;
        }
        if seen.contains(&id) {
            return Err(SnpError::CertificateParse {
                role,
                reason: format!("extension {id} appears twice"),
            });
        }
        let value = ext.extn_value.as_bytes();
        let spl = |name: &'static str, check: &'static str| {
            u8::from_der(value)
                .map(Some)
                .map_err(|e| SnpError::CertificateExtension {
                    role,
                    oid: static_oid(&id),
                    name,
                    reason: format!("not a DER INTEGER 0..=255: {e}"),
                    check,
                })
        };
        const TCB: &str = "reported_tcb_matches_cert";
        match id.as_str() {
            oid::BL_SPL => claims.tcb.bootloader = spl("blSPL", TCB)?,
            oid::TEE_SPL => claims.tcb.tee = spl("teeSPL", TCB)?,
            oid::SNP_SPL => claims.tcb.snp = spl("snpSPL", TCB)?,
            oid::UCODE_SPL => claims.tcb.microcode = spl("ucodeSPL", TCB)?,
            oid::FMC_SPL => claims.tcb.fmc = spl("fmcSPL", TCB)?,
            oid::HW_ID => claims.hw_id = Some(value.to_vec()),
            oid::PRODUCT_NAME => claims.product_name = der_text(value),
            oid::CSP_ID => claims.csp_id = der_text(value),
            _ => {}
        }
        seen.push(id);
    }
    Ok(claims)
}

fn static_oid(id: &str) -> &'static str {
    [
        oid::BL_SPL,
        oid::TEE_SPL,
        oid::SNP_SPL,
        oid::UCODE_SPL,
        oid::FMC_SPL,
        oid::HW_ID,
    ]
    .into_iter()
    .find(|o| *o == id)
    .unwrap_or("1.3.6.1.4.1.3704.1")
}

/// Text of a DER-encoded IA5String/UTF8String/PrintableString, else hex.
fn der_text(value: &[u8]) -> Option<String> {
    match der::Any::from_der(value) {
        Ok(any) => any_string(&any).or_else(|| Some(hex::encode(value))),
        Err(_) => Some(hex::encode(value)),
    }
}

#[cfg(test)]
impl Cert {
    /// Whether two certificates have the same DER encoding.
    pub(crate) fn same_der(&self, other: &Cert) -> bool {
        self.der == other.der
    }

    /// The DER encoding.
    pub(crate) fn der_for_test(&self) -> Vec<u8> {
        self.der.clone()
    }
}

#[cfg(test)]
impl TrustRoots {
    /// Verifies every anchor (ARK self-signature, ARK → ASK).
    pub(crate) fn verify_all(&self) -> Result<(), SnpError> {
        self.anchors.iter().try_for_each(TrustAnchor::verify)
    }
}
