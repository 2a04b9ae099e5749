//! A test-only DCAP chain and quote signer (feature `test-signer`, and unit tests).
//!
//! Real quotes cannot be re-signed, so the checks that need a quote that is
//! validly signed yet wrong (a debug TD, a revoked PCK certificate, a TCB status
//! or advisory the policy refuses) are exercised with a chain built here:
//!
//! ```text
//!  Aether Test SGX Root CA (self-signed, P-256)
//!   ├── root CA CRL
//!   ├── Aether Test SGX TCB Signing ── signs TCB info and QE identity JSON
//!   └── Aether Test SGX PCK Platform CA ── PCK CRL (optionally revoking the PCK leaf)
//!        └── Aether Test SGX PCK Certificate (Intel SGX extension 1.2.840.113741.1.13.1:
//!             PPID, TCB (16 SGX components, PCESVN, CPUSVN), PCEID, FMSPC, SGX type)
//!             └── signs the QE report, whose REPORTDATA binds the attestation key
//!                  └── attestation key signs header ‖ TD report body (quote v4)
//! ```
//!
//! Every key is a P-256 key derived from a seed and every signature is
//! deterministic (RFC 6979), so [`TestChain::from_seed`] gives the same
//! certificates, collateral and quotes byte for byte on every run;
//! [`TestChain::generate`] draws a random seed.
//!
//! Nothing here is reachable from a production build: the module exists only
//! under `cfg(test)` or the off-by-default `test-signer` feature, and a verifier
//! only trusts this chain when given its root with [`crate::Verifier::with_trust_root`].

use dcap_qvl::TcbStatus;
use p256::ecdsa::signature::Signer as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension, DnType,
    IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, RevokedCertParams, SerialNumber, date_time_ymd,
};
use ring::rand::SecureRandom;
use sha2::{Digest, Sha256};

/// FMSPC of the test platform.
pub const TEST_FMSPC: [u8; 6] = [0x00, 0xa0, 0x6f, 0x00, 0x00, 0x00];
/// CPU SVN in the test PCK certificate.
pub const TEST_CPU_SVN: [u8; 16] = [4, 4, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
/// PCE SVN in the test PCK certificate and quote header.
pub const TEST_PCE_SVN: u16 = 13;
/// MRSIGNER of the test quoting enclave (and of its QE identity).
pub const TEST_QE_MRSIGNER: [u8; 32] = [0x5a; 32];
/// Serial number of the test PCK leaf certificate.
pub const TEST_PCK_SERIAL: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x01];

/// OID of the Intel SGX extension.
const SGX_EXT: [u64; 7] = [1, 2, 840, 113741, 1, 13, 1];

/// A calendar date (year, month, day).
pub type Ymd = (i32, u8, u8);

/// Choices made when generating a test chain.
#[derive(Debug, Clone)]
pub struct TestChainOptions {
    /// Start of every certificate's validity; default 2020-01-01.
    pub not_before: Ymd,
    /// End of the CA and TCB signing certificates' validity; default 2040-01-01.
    pub not_after: Ymd,
    /// End of the PCK leaf's validity; default 2040-01-01.
    pub pck_not_after: Ymd,
    /// Put the Intel SGX extension in the PCK leaf (default true).
    pub sgx_extension: bool,
}

impl Default for TestChainOptions {
    fn default() -> Self {
        Self {
            not_before: (2020, 1, 1),
            not_after: (2040, 1, 1),
            pck_not_after: (2040, 1, 1),
            sgx_extension: true,
        }
    }
}

/// Collateral choices of a test chain.
#[derive(Debug, Clone)]
pub struct TestCollateral {
    /// Status of the single platform TCB level.
    pub tcb_status: TcbStatus,
    /// Advisory ids of that level.
    pub advisory_ids: Vec<String>,
    /// List the PCK leaf in the PCK CRL.
    pub revoke_pck: bool,
    /// TCB info / QE identity `issueDate`.
    pub issue_date: String,
    /// TCB info / QE identity `nextUpdate`.
    pub next_update: String,
    /// FMSPC written in the TCB info.
    pub fmspc: [u8; 6],
    /// QE identity `id` (`TD_QE` for TDX).
    pub qe_identity_id: String,
    /// QE identity `isvprodid` (the test QE's is 2).
    pub qe_isvprodid: u16,
    /// `thisUpdate` of both CRLs (and the PCK revocation date).
    pub crl_this_update: Ymd,
    /// `nextUpdate` of both CRLs.
    pub crl_next_update: Ymd,
}

impl Default for TestCollateral {
    fn default() -> Self {
        Self {
            tcb_status: TcbStatus::UpToDate,
            advisory_ids: Vec::new(),
            revoke_pck: false,
            issue_date: "2025-01-01T00:00:00Z".into(),
            next_update: "2035-01-01T00:00:00Z".into(),
            fmspc: TEST_FMSPC,
            qe_identity_id: "TD_QE".into(),
            qe_isvprodid: 2,
            crl_this_update: (2025, 1, 1),
            crl_next_update: (2035, 1, 1),
        }
    }
}

/// TD report fields of a test quote.
#[derive(Debug, Clone)]
pub struct TestTdReport {
    /// TEE_TCB_SVN (byte 1, the module version, 0: the TCB info's TDX components apply).
    pub tee_tcb_svn: [u8; 16],
    /// TD attributes (default: SEPT_VE_DISABLE only).
    pub td_attributes: [u8; 8],
    /// MRSEAM.
    pub mrseam: [u8; 48],
    /// MRSIGNERSEAM (the TCB info expects zero, Intel's module signer).
    pub mrsignerseam: [u8; 48],
    /// MRTD.
    pub mrtd: [u8; 48],
    /// MRCONFIGID (default zero).
    pub mrconfigid: [u8; 48],
    /// RTMR0..3.
    pub rtmr: [[u8; 48]; 4],
    /// REPORTDATA.
    pub report_data: [u8; 64],
}

impl Default for TestTdReport {
    fn default() -> Self {
        let mut tee_tcb_svn = [0u8; 16];
        tee_tcb_svn[0] = 3;
        Self {
            tee_tcb_svn,
            td_attributes: [0, 0, 0, 0x10, 0, 0, 0, 0],
            mrseam: [0x5e; 48],
            mrsignerseam: [0; 48],
            mrtd: [0xa1; 48],
            mrconfigid: [0; 48],
            rtmr: [[0xb0; 48], [0xb1; 48], [0xb2; 48], [0; 48]],
            report_data: [0xdd; 64],
        }
    }
}

/// A generated test DCAP chain with its private keys.
pub struct TestChain {
    root_key: TestKey,
    root_params: CertificateParams,
    root_der: Vec<u8>,
    pck_ca_key: TestKey,
    pck_ca_params: CertificateParams,
    pck_ca_pem: String,
    tcb_signer: TestKey,
    tcb_signer_pem: String,
    pck_leaf_pem: String,
    pck_key: TestKey,
    attestation_key: TestKey,
}

impl std::fmt::Debug for TestChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestChain").finish_non_exhaustive()
    }
}

/// A P-256 key derived from a seed, signing deterministically (RFC 6979):
/// rcgen's own key pairs sign with ring, whose ECDSA nonces are random, so
/// their certificates would differ on every run.
struct TestKey {
    key: p256::ecdsa::SigningKey,
    /// Uncompressed SEC1 public point (0x04 ‖ x ‖ y).
    public: Vec<u8>,
}

impl TestKey {
    /// The key of `label` in the chain of `seed`: SHA-256(domain ‖ seed ‖
    /// label ‖ counter) as the scalar, the first counter that gives a valid one.
    fn derive(seed: &[u8; 32], label: &str) -> Self {
        for counter in 0u32.. {
            let scalar = Sha256::new()
                .chain_update(b"aether-tdx-test-chain-v1")
                .chain_update(seed)
                .chain_update(label.as_bytes())
                .chain_update(counter.to_be_bytes())
                .finalize();
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&scalar) {
                let public = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
                return Self { key, public };
            }
        }
        unreachable!("a valid P-256 scalar is found within a few counters")
    }

    /// Raw `r ‖ s` (64 bytes), as DCAP quotes and collateral carry signatures.
    fn sign_raw(&self, msg: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = self.key.sign(msg);
        sig.to_bytes().to_vec()
    }
}

impl rcgen::PublicKeyData for TestKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for TestKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let sig: p256::ecdsa::Signature = self.key.sign(msg);
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

fn name(cn: &str) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "Aether Test");
    dn
}

fn ymd((y, m, d): Ymd) -> time::OffsetDateTime {
    date_time_ymd(y, m, d)
}

fn params(cn: &str, serial: &[u8], ca: bool, opts: &TestChainOptions) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.serial_number = Some(SerialNumber::from_slice(serial));
    p.not_before = ymd(opts.not_before);
    p.not_after = ymd(opts.not_after);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
    }
    p
}

/// A DER TLV (tag, definite length, content).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// OID body of `1.2.840.113741.1.13.1[.sub…]`.
fn sgx_oid(sub: &[u8]) -> Vec<u8> {
    let mut body = vec![0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01];
    body.extend_from_slice(sub);
    tlv(0x06, &body)
}

fn entry(oid: Vec<u8>, value: Vec<u8>) -> Vec<u8> {
    tlv(0x30, &[oid, value].concat())
}

/// DER INTEGER of a small non-negative value.
fn der_uint(v: u16) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut content: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
    if content.first().is_none_or(|&b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

/// The Intel SGX extension value of a PCK certificate (what dcap-qvl reads).
fn sgx_extension() -> Vec<u8> {
    let mut tcb = Vec::new();
    for (i, svn) in TEST_CPU_SVN.iter().enumerate() {
        tcb.extend(entry(
            sgx_oid(&[0x02, i as u8 + 1]),
            der_uint(u16::from(*svn)),
        ));
    }
    tcb.extend(entry(sgx_oid(&[0x02, 0x11]), der_uint(TEST_PCE_SVN)));
    tcb.extend(entry(sgx_oid(&[0x02, 0x12]), tlv(0x04, &TEST_CPU_SVN)));
    let content = [
        entry(sgx_oid(&[0x01]), tlv(0x04, &[0x77; 16])),
        entry(sgx_oid(&[0x02]), tlv(0x30, &tcb)),
        entry(sgx_oid(&[0x03]), tlv(0x04, &[0, 0])),
        entry(sgx_oid(&[0x04]), tlv(0x04, &TEST_FMSPC)),
        entry(sgx_oid(&[0x05]), tlv(0x0a, &[0])),
    ]
    .concat();
    tlv(0x30, &content)
}

fn pem_of(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

impl TestChain {
    /// Generates fresh keys and certificates (valid 2020-01-01..2040-01-01).
    pub fn generate() -> Self {
        Self::generate_with(&TestChainOptions::default())
    }

    /// Generates a chain with `opts` and a random seed.
    pub fn generate_with(opts: &TestChainOptions) -> Self {
        let mut seed = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut seed)
            .expect("system randomness");
        Self::from_seed(&seed, opts)
    }

    /// The chain of `seed`: the same keys, certificates, collateral and quotes
    /// on every run.
    pub fn from_seed(seed: &[u8; 32], opts: &TestChainOptions) -> Self {
        let root_key = TestKey::derive(seed, "root");
        let root_params = params("Aether Test SGX Root CA", &[0x01], true, opts);
        let root_der = root_params
            .self_signed(&root_key)
            .expect("root")
            .der()
            .to_vec();
        let root_issuer = Issuer::from_params(&root_params, &root_key);

        let pck_ca_key = TestKey::derive(seed, "pck-ca");
        let pck_ca_params = params("Aether Test SGX PCK Platform CA", &[0x02], true, opts);
        let pck_ca_pem = pem_of(
            pck_ca_params
                .signed_by(&pck_ca_key, &root_issuer)
                .expect("PCK CA")
                .der(),
        );

        let tcb_signer = TestKey::derive(seed, "tcb-signer");
        let tcb_params = params("Aether Test SGX TCB Signing", &[0x03], false, opts);
        let tcb_signer_pem = pem_of(
            tcb_params
                .signed_by(&tcb_signer, &root_issuer)
                .expect("TCB signer")
                .der(),
        );

        let pck_key = TestKey::derive(seed, "pck");
        let mut leaf = params(
            "Aether Test SGX PCK Certificate",
            &TEST_PCK_SERIAL,
            false,
            opts,
        );
        leaf.not_after = ymd(opts.pck_not_after);
        if opts.sgx_extension {
            let mut ext = CustomExtension::from_oid_content(&SGX_EXT, sgx_extension());
            ext.set_criticality(false);
            leaf.custom_extensions = vec![ext];
        }
        let pck_ca_issuer = Issuer::from_params(&pck_ca_params, &pck_ca_key);
        let pck_leaf_pem = pem_of(
            leaf.signed_by(&pck_key, &pck_ca_issuer)
                .expect("PCK leaf")
                .der(),
        );
        Self {
            tcb_signer,
            pck_key,
            root_key,
            root_params,
            root_der,
            pck_ca_key,
            pck_ca_params,
            pck_ca_pem,
            tcb_signer_pem,
            pck_leaf_pem,
            attestation_key: TestKey::derive(seed, "attestation"),
        }
    }

    /// The root CA certificate (DER).
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The root CA certificate (PEM).
    pub fn root_pem(&self) -> String {
        pem_of(&self.root_der)
    }

    fn crl(
        &self,
        issuer: Issuer<'_, &TestKey>,
        revoked: &[&[u8]],
        opts: &TestCollateral,
    ) -> Vec<u8> {
        CertificateRevocationListParams {
            this_update: ymd(opts.crl_this_update),
            next_update: ymd(opts.crl_next_update),
            crl_number: SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: ymd(opts.crl_this_update),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .expect("CRL")
        .der()
        .to_vec()
    }

    /// Collateral in dcap-qvl's `QuoteCollateralV3` JSON form.
    pub fn collateral_json(&self, opts: &TestCollateral) -> String {
        let comps = |svns: &[u8]| {
            serde_json::Value::Array(
                svns.iter()
                    .map(|s| serde_json::json!({ "svn": s }))
                    .collect(),
            )
        };
        let mut tdx = [0u8; 16];
        tdx[0] = 2;
        let tcb_info = serde_json::json!({
            "id": "TDX", "version": 3,
            "issueDate": opts.issue_date, "nextUpdate": opts.next_update,
            "fmspc": hex::encode_upper(opts.fmspc), "pceId": "0000", "tcbType": 0,
            "tcbEvaluationDataNumber": 17,
            "tdxModule": {
                "mrsigner": "00".repeat(48), "attributes": "0000000000000000",
                "attributesMask": "FFFFFFFFFFFFFFFF"
            },
            "tcbLevels": [{
                "tcb": { "sgxtcbcomponents": comps(&TEST_CPU_SVN), "pcesvn": TEST_PCE_SVN,
                         "tdxtcbcomponents": comps(&tdx) },
                "tcbDate": "2024-03-13T00:00:00Z",
                "tcbStatus": opts.tcb_status,
                "advisoryIDs": opts.advisory_ids,
            }]
        })
        .to_string();
        let qe_identity = serde_json::json!({
            "id": opts.qe_identity_id, "version": 2,
            "issueDate": opts.issue_date, "nextUpdate": opts.next_update,
            "tcbEvaluationDataNumber": 17,
            "miscselect": "00000000", "miscselectMask": "FFFFFFFF",
            "attributes": "11000000000000000000000000000000",
            "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
            "mrsigner": hex::encode_upper(TEST_QE_MRSIGNER), "isvprodid": opts.qe_isvprodid,
            "tcbLevels": [{ "tcb": { "isvsvn": 4 }, "tcbDate": "2024-03-13T00:00:00Z", "tcbStatus": "UpToDate" }]
        })
        .to_string();
        let root_issuer = Issuer::from_params(&self.root_params, &self.root_key);
        let pck_ca_issuer = Issuer::from_params(&self.pck_ca_params, &self.pck_ca_key);
        let revoked: Vec<&[u8]> = if opts.revoke_pck {
            vec![&TEST_PCK_SERIAL[..]]
        } else {
            Vec::new()
        };
        let signing_chain = format!("{}{}", self.tcb_signer_pem, self.root_pem());
        serde_json::json!({
            "pck_crl_issuer_chain": format!("{}{}", self.pck_ca_pem, self.root_pem()),
            "root_ca_crl": hex::encode(self.crl(root_issuer, &[], opts)),
            "pck_crl": hex::encode(self.crl(pck_ca_issuer, &revoked, opts)),
            "tcb_info_issuer_chain": signing_chain,
            "tcb_info_signature": hex::encode(self.tcb_signer.sign_raw(tcb_info.as_bytes())),
            "tcb_info": tcb_info,
            "qe_identity_issuer_chain": signing_chain,
            "qe_identity_signature": hex::encode(self.tcb_signer.sign_raw(qe_identity.as_bytes())),
            "qe_identity": qe_identity,
        })
        .to_string()
    }

    /// A v4 TDX quote with `report`, signed through this chain.
    pub fn quote(&self, report: &TestTdReport) -> Vec<u8> {
        let mut q = Vec::with_capacity(5000);
        // Header.
        q.extend(4u16.to_le_bytes());
        q.extend(2u16.to_le_bytes());
        q.extend(0x81u32.to_le_bytes());
        q.extend(0u16.to_le_bytes()); // QE SVN
        q.extend(TEST_PCE_SVN.to_le_bytes());
        q.extend(dcap_qvl::INTEL_QE_VENDOR_ID);
        q.extend([0x42u8; 20]);
        // TD report body (TDX 1.0).
        q.extend(report.tee_tcb_svn);
        q.extend(report.mrseam);
        q.extend(report.mrsignerseam);
        q.extend([0u8; 8]); // SEAMATTRIBUTES
        q.extend(report.td_attributes);
        q.extend(0x0000_0000_0006_02e7u64.to_le_bytes()); // XFAM
        q.extend(report.mrtd);
        q.extend(report.mrconfigid);
        q.extend([0u8; 48 * 2]); // MROWNER, MROWNERCONFIG
        for r in &report.rtmr {
            q.extend(r);
        }
        q.extend(report.report_data);
        let signed_len = q.len();

        let att_key = self
            .attestation_key
            .public
            .get(1..65)
            .expect("uncompressed P-256 point");
        let qe_auth = [0x0a_u8; 32];
        // QE report (SGX enclave report of the TD quoting enclave).
        let mut qe = Vec::with_capacity(384);
        qe.extend([0u8; 16]); // CPUSVN
        qe.extend(0u32.to_le_bytes()); // MISCSELECT
        qe.extend([0u8; 28]);
        qe.extend([0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // ATTRIBUTES
        qe.extend([0x3e; 32]); // MRENCLAVE
        qe.extend([0u8; 32]);
        qe.extend(TEST_QE_MRSIGNER);
        qe.extend([0u8; 96]);
        qe.extend(2u16.to_le_bytes()); // ISVPRODID
        qe.extend(4u16.to_le_bytes()); // ISVSVN
        qe.extend([0u8; 60]);
        let binding: [u8; 32] = Sha256::digest([att_key, &qe_auth[..]].concat()).into();
        qe.extend(binding);
        qe.extend([0u8; 32]);
        let qe_sig = self.pck_key.sign_raw(&qe);

        let chain = format!(
            "{}{}{}",
            self.pck_leaf_pem,
            self.pck_ca_pem,
            self.root_pem()
        );
        let mut cert_body = Vec::new();
        cert_body.extend(&qe);
        cert_body.extend(&qe_sig);
        cert_body.extend(32u16.to_le_bytes());
        cert_body.extend(qe_auth);
        cert_body.extend(5u16.to_le_bytes());
        cert_body.extend(
            u32::try_from(chain.len())
                .expect("small chain")
                .to_le_bytes(),
        );
        cert_body.extend(chain.as_bytes());

        let quote_sig = self.attestation_key.sign_raw(&q[..signed_len]);
        let mut auth = Vec::new();
        auth.extend(quote_sig);
        auth.extend(att_key);
        auth.extend(6u16.to_le_bytes());
        auth.extend(u32::try_from(cert_body.len()).expect("small").to_le_bytes());
        auth.extend(cert_body);
        q.extend(u32::try_from(auth.len()).expect("small").to_le_bytes());
        q.extend(auth);
        q
    }
}
