//! The checks applied to a report once its chain is verified, and the
//! verified claim set.

use std::time::SystemTime;

use p384::ecdsa::signature::Verifier;
use serde::Serialize;

use crate::certs::{ChainClaims, unix_seconds};
use crate::report::{ReportClaims, SnpReport, TcbComponent, TcbLayout};
use crate::{Policy, Product, SignerKind, SnpError, TrustRootKind, TrustRoots, VerifiedChain};

/// A report that passed every check: what the verifier now vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedSnpReport {
    /// The product named by the verified certificate chain.
    pub product: Product,
    /// Which key signed the report.
    pub signer: SignerKind,
    /// Which trust roots the chain ends in.
    pub trust_root: TrustRootKind,
    /// The verification time (Unix seconds).
    pub verified_at: i64,
    /// The certificate chain.
    pub certificates: ChainClaims,
    /// Every report field.
    #[serde(flatten)]
    pub report: ReportClaims,
}

/// Verifies a report end to end: decodes the report and certificates,
/// verifies the chain to `roots`, then every check of [`VerifiedChain::verify_report`].
///
/// `vek` is the VCEK/VLEK (DER or PEM); `ca_chain` an optional PEM stack
/// (or concatenated DER) of ASK/ASVK and ARK.
pub fn verify(
    report: &[u8],
    vek: &[u8],
    ca_chain: Option<&[u8]>,
    roots: &TrustRoots,
    policy: &Policy,
    at: SystemTime,
) -> Result<VerifiedSnpReport, SnpError> {
    let report = SnpReport::parse(report)?;
    let chain = VerifiedChain::new(vek, ca_chain, roots)?;
    chain.verify_parsed(&report, policy, at)
}

impl VerifiedChain {
    /// Verifies a report signed by this chain's VCEK/VLEK at time `at` against `policy`.
    pub fn verify_report(
        &self,
        report: &[u8],
        policy: &Policy,
        at: SystemTime,
    ) -> Result<VerifiedSnpReport, SnpError> {
        self.verify_parsed(&SnpReport::parse(report)?, policy, at)
    }

    /// As [`VerifiedChain::verify_report`], for an already parsed report.
    ///
    /// Order of the checks (the first failure is returned): certificate
    /// validity, signature, signer kind, product, report version, chip id,
    /// reported TCB = certificate TCB, minimum TCB, debug, SMT, migration
    /// agent, single socket, ABI, VMPL, measurement, report data, host data.
    pub fn verify_parsed(
        &self,
        report: &SnpReport,
        policy: &Policy,
        at: SystemTime,
    ) -> Result<VerifiedSnpReport, SnpError> {
        self.verify_parsed_unix(report, policy, unix_seconds(at))
    }

    /// As [`VerifiedChain::verify_parsed`], with the verification time in
    /// Unix seconds (negative before 1970): what a caller holding a block time
    /// passes, with no `SystemTime` arithmetic that could overflow.
    pub fn verify_parsed_unix(
        &self,
        report: &SnpReport,
        policy: &Policy,
        at: i64,
    ) -> Result<VerifiedSnpReport, SnpError> {
        self.check_validity(at)?;
        self.check_signature(report)?;
        let claims = report.claims();
        self.check_signer(&claims, policy)?;
        self.check_product(report, &claims, policy)?;
        if !policy.allowed_report_versions.contains(&claims.version) {
            return Err(SnpError::ReportVersionNotAllowed(claims.version));
        }
        self.check_chip_id(&claims)?;
        self.check_reported_tcb(&claims)?;
        check_min_tcb(&claims, policy, self.product)?;
        check_guest_policy(&claims, policy)?;
        if claims.vmpl > policy.max_vmpl {
            return Err(SnpError::VmplTooHigh {
                vmpl: claims.vmpl,
                max: policy.max_vmpl,
            });
        }
        check_expectations(&claims, policy)?;
        Ok(VerifiedSnpReport {
            product: self.product,
            signer: self.signer,
            trust_root: self.trust_root,
            verified_at: at,
            certificates: self.claims.clone(),
            report: claims,
        })
    }

    /// ECDSA P-384/SHA-384 over the raw signed bytes; R and S little-endian,
    /// 72 bytes each, of which the upper 24 must be zero.
    fn check_signature(&self, report: &SnpReport) -> Result<(), SnpError> {
        let algo = report.fields().sig_algo;
        if algo != 1 {
            return Err(SnpError::SignatureAlgorithm(algo));
        }
        let scalar = |le: &[u8], name: &str| -> Result<p384::FieldBytes, SnpError> {
            let (low, high) = le.split_at(48);
            if high.iter().any(|&b| b != 0) {
                return Err(SnpError::SignatureMalformed(format!(
                    "{name} has non-zero bytes above 48"
                )));
            }
            let mut be = p384::FieldBytes::default();
            for (dst, src) in be.iter_mut().zip(low.iter().rev()) {
                *dst = *src;
            }
            Ok(be)
        };
        let sig = p384::ecdsa::Signature::from_scalars(
            scalar(report.sig_r(), "R")?,
            scalar(report.sig_s(), "S")?,
        )
        .map_err(|e| SnpError::SignatureMalformed(format!("R or S out of range: {e}")))?;
        self.key
            .verify(report.signed_region(), &sig)
            .map_err(|_| SnpError::SignatureInvalid {
                role: self.signer.role(),
            })
    }

    fn check_signer(&self, claims: &ReportClaims, policy: &Policy) -> Result<(), SnpError> {
        let says = match claims.key_info.signing_key {
            0 => Some(SignerKind::Vcek),
            1 => Some(SignerKind::Vlek),
            _ => None,
        };
        if says != Some(self.signer) {
            return Err(SnpError::SignerKindMismatch {
                report_says: claims.key_info.signing_key_name(),
                cert: self.signer.role(),
            });
        }
        if self.signer == SignerKind::Vlek && !policy.allow_vlek {
            return Err(SnpError::VlekNotAllowed);
        }
        Ok(())
    }

    fn check_product(
        &self,
        report: &SnpReport,
        claims: &ReportClaims,
        policy: &Policy,
    ) -> Result<(), SnpError> {
        if !policy.allowed_products.contains(&self.product) {
            return Err(SnpError::ProductNotAllowed {
                product: self.product,
            });
        }
        let turin_layout = report.tcb_layout() == TcbLayout::Turin;
        if turin_layout != (self.product == Product::Turin) {
            return Err(SnpError::ReportProductMismatch {
                report: if turin_layout {
                    "Turin-or-later (TCB layout)".into()
                } else {
                    "pre-Turin (TCB layout)".into()
                },
                cert: self.product,
            });
        }
        if let Some(cpuid) = claims.cpuid {
            use sev::Generation;
            let generation = Generation::identify_cpu(cpuid.family, cpuid.model).ok();
            let report_product = match generation {
                Some(Generation::Milan) => Some(Product::Milan),
                Some(Generation::Genoa) => Some(Product::Genoa),
                Some(Generation::Turin) => Some(Product::Turin),
                _ => None,
            };
            if report_product != Some(self.product) {
                return Err(SnpError::ReportProductMismatch {
                    report: format!(
                        "{} (CPUID family 0x{:02x} model 0x{:02x})",
                        report_product.map_or("unsupported", Product::name),
                        cpuid.family,
                        cpuid.model
                    ),
                    cert: self.product,
                });
            }
        }
        Ok(())
    }

    /// The VCEK's hwID must equal CHIP_ID (Turin VCEKs carry the first 8
    /// bytes only). VLEKs are not chip-specific and carry no hwID.
    fn check_chip_id(&self, claims: &ReportClaims) -> Result<(), SnpError> {
        if self.signer == SignerKind::Vlek {
            return Ok(());
        }
        let role = self.signer.role();
        let hw_id = self
            .claims
            .vek
            .hw_id
            .as_deref()
            .ok_or(SnpError::CertificateExtension {
                role,
                oid: crate::certs::oid::HW_ID,
                name: "hwID",
                reason: "absent".into(),
                check: "chip_id",
            })?;
        let expected_len = if self.product == Product::Turin {
            8
        } else {
            64
        };
        if hw_id.len() != expected_len {
            return Err(SnpError::CertificateExtension {
                role,
                oid: crate::certs::oid::HW_ID,
                name: "hwID",
                reason: format!(
                    "{} bytes, expected {expected_len} for {}",
                    hw_id.len(),
                    self.product
                ),
                check: "chip_id",
            });
        }
        let compared = &claims.chip_id[..expected_len];
        if compared != hw_id {
            return Err(SnpError::ChipIdMismatch {
                report: hex::encode(compared),
                cert: hex::encode(hw_id),
            });
        }
        Ok(())
    }

    fn check_reported_tcb(&self, claims: &ReportClaims) -> Result<(), SnpError> {
        let role = self.signer.role();
        let cert = &self.claims.vek.tcb;
        let mut components = vec![
            (
                TcbComponent::Bootloader,
                cert.bootloader,
                crate::certs::oid::BL_SPL,
                "blSPL",
            ),
            (
                TcbComponent::Tee,
                cert.tee,
                crate::certs::oid::TEE_SPL,
                "teeSPL",
            ),
            (
                TcbComponent::Snp,
                cert.snp,
                crate::certs::oid::SNP_SPL,
                "snpSPL",
            ),
            (
                TcbComponent::Microcode,
                cert.microcode,
                crate::certs::oid::UCODE_SPL,
                "ucodeSPL",
            ),
        ];
        if self.product == Product::Turin {
            components.push((
                TcbComponent::Fmc,
                cert.fmc,
                crate::certs::oid::FMC_SPL,
                "fmcSPL",
            ));
        }
        for (component, cert_value, oid, name) in components {
            let cert_value = cert_value.ok_or(SnpError::CertificateExtension {
                role,
                oid,
                name,
                reason: "absent".into(),
                check: "reported_tcb_matches_cert",
            })?;
            // The layout matches the product (checked before), so FMC is Some on Turin.
            let report_value = claims.reported_tcb.component(component).unwrap_or(0);
            if report_value != cert_value {
                return Err(SnpError::ReportedTcbMismatch {
                    component,
                    report: report_value,
                    cert: cert_value,
                    role,
                });
            }
        }
        Ok(())
    }
}

fn check_min_tcb(claims: &ReportClaims, policy: &Policy, product: Product) -> Result<(), SnpError> {
    let min = &policy.min_tcb;
    let mut mins = vec![
        (TcbComponent::Bootloader, min.bootloader),
        (TcbComponent::Tee, min.tee),
        (TcbComponent::Snp, min.snp),
        (TcbComponent::Microcode, min.microcode),
    ];
    if product == Product::Turin {
        mins.push((TcbComponent::Fmc, min.fmc));
    }
    for (component, minimum) in mins {
        let actual = claims.reported_tcb.component(component).unwrap_or(0);
        if actual < minimum {
            return Err(SnpError::TcbBelowMinimum {
                component,
                actual,
                minimum,
            });
        }
    }
    Ok(())
}

fn check_guest_policy(claims: &ReportClaims, policy: &Policy) -> Result<(), SnpError> {
    let gp = &claims.policy;
    if gp.debug_allowed && !policy.allow_debug {
        return Err(SnpError::DebugNotAllowed { policy: gp.raw });
    }
    if gp.smt_allowed && !policy.allow_smt {
        return Err(SnpError::SmtNotAllowed { policy: gp.raw });
    }
    if gp.migrate_ma_allowed && !policy.allow_migration_agent {
        return Err(SnpError::MigrationAgentNotAllowed { policy: gp.raw });
    }
    if policy.require_single_socket && !gp.single_socket_required {
        return Err(SnpError::SingleSocketRequired { policy: gp.raw });
    }
    if (gp.abi_major, gp.abi_minor) < (policy.min_abi_major, policy.min_abi_minor) {
        return Err(SnpError::AbiVersionTooLow {
            major: gp.abi_major,
            minor: gp.abi_minor,
            min_major: policy.min_abi_major,
            min_minor: policy.min_abi_minor,
        });
    }
    Ok(())
}

fn check_expectations(claims: &ReportClaims, policy: &Policy) -> Result<(), SnpError> {
    if !policy.measurements.is_empty() && !policy.measurements.contains(&claims.measurement) {
        return Err(SnpError::MeasurementMismatch {
            actual: hex::encode(claims.measurement),
        });
    }
    if let Some(expected) = &policy.report_data
        && *expected != claims.report_data
    {
        return Err(SnpError::ReportDataMismatch {
            actual: hex::encode(claims.report_data),
            expected: hex::encode(expected),
        });
    }
    if let Some(expected) = &policy.host_data
        && *expected != claims.host_data
    {
        return Err(SnpError::HostDataMismatch {
            actual: hex::encode(claims.host_data),
            expected: hex::encode(expected),
        });
    }
    Ok(())
}
