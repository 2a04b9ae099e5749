//! The SEV-SNP pipeline, shared by [`crate::verify`] and
//! `aether-measure verify snp`: parse the report, verify the VCEK/VLEK chain
//! to a trust root, then every report check of `aether-snp-evidence`.
//!
//! [`appraise`] runs it with any `aether-snp-evidence` roots and policy (the
//! CLI's `--trust-root`, `--policy`, `--allow-debug`); the unified
//! [`crate::verify`] runs the same steps with the chain's [`crate::EvidencePolicy`]
//! and decides the root from the policy's [`crate::TrustRoot`]s.

pub use aether_snp_evidence::{
    Policy, SnpError, SnpReport, TrustRoots, VerifiedChain, VerifiedSnpReport,
};

use aether_snp_evidence::SignerKind;

use crate::claims::{Claims, LaunchMeasurement, TcbSummary, TeeKind};
use crate::evidence::snp_digest;
use crate::roots::SnpRootSet;
use crate::{EvidenceError, EvidencePolicy, TrustRoot};

/// A rejected report: the failed check and, when the report parsed, what
/// it says (unverified: for diagnosis only).
#[derive(Debug, Clone)]
pub struct SnpRejection {
    /// The failed check.
    pub error: SnpError,
    /// The parsed report, if it parsed.
    pub report: Option<Box<SnpReport>>,
}

/// Verifies `report` with `vek` (VCEK/VLEK, or a bundle with its ASK/ASVK
/// and ARK) and the optional `chain` against `roots` and `policy` at
/// `at_unix` (Unix seconds).
pub fn appraise(
    report: &[u8],
    vek: &[u8],
    chain: Option<&[u8]>,
    roots: &TrustRoots,
    policy: &Policy,
    at_unix: i64,
) -> Result<VerifiedSnpReport, SnpRejection> {
    let parsed = SnpReport::parse(report).map_err(|error| SnpRejection {
        error,
        report: None,
    })?;
    VerifiedChain::new(vek, chain, roots)
        .and_then(|c| c.verify_parsed_unix(&parsed, policy, at_unix))
        .map_err(|error| SnpRejection {
            error,
            report: Some(Box::new(parsed)),
        })
}

/// The SNP root sets in the order a chain is tried against them: those the
/// policy trusts first, so that evidence under a trusted root costs one
/// chain verification.
fn root_sets(policy: &EvidencePolicy) -> [SnpRootSet; 2] {
    let trusted_sim = policy.trusts(TrustRoot::Simulated);
    let trusted_amd = policy
        .roots
        .iter()
        .any(|r| matches!(r, TrustRoot::AmdArk(_)));
    if trusted_sim && !trusted_amd {
        [SnpRootSet::Simulated, SnpRootSet::Amd]
    } else {
        [SnpRootSet::Amd, SnpRootSet::Simulated]
    }
}

/// Verifies the VCEK/VLEK chain against the known roots, the policy's first:
/// the root it ends in and the verified chain, or the first root set's error
/// when none verifies it. The root is not yet checked against the policy.
pub(crate) fn find_chain(
    vek: &[u8],
    chain: Option<&[u8]>,
    policy: &EvidencePolicy,
) -> Result<(TrustRoot, VerifiedChain), SnpError> {
    let [first, second] = root_sets(policy);
    match VerifiedChain::new(vek, chain, first.roots()) {
        Ok(c) => Ok((first.root(c.product()), c)),
        // Only a chain failure can depend on the roots; anything else (a
        // certificate that does not parse, an unknown product) is the same
        // under every set.
        Err(e) if e.check() == "chain" => match VerifiedChain::new(vek, chain, second.roots()) {
            Ok(c) => Ok((second.root(c.product()), c)),
            Err(_) => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Checks that the root a chain ends in is one the policy trusts.
pub(crate) fn check_root(root: TrustRoot, policy: &EvidencePolicy) -> Result<(), EvidenceError> {
    if policy.trusts(root) {
        Ok(())
    } else {
        Err(EvidenceError::RootNotAllowed {
            root,
            trusted: policy.roots_text(),
        })
    }
}

/// The unified claims of a verified report.
pub(crate) fn claims(v: &VerifiedSnpReport, parsed: &SnpReport, root: TrustRoot) -> Claims {
    let r = &v.report;
    Claims {
        tee: TeeKind::Snp,
        measurement: LaunchMeasurement::Snp(r.measurement),
        report_data: r.report_data,
        host_data: r.host_data.to_vec(),
        tcb: TcbSummary::Snp {
            bootloader: r.reported_tcb.bootloader,
            tee: r.reported_tcb.tee,
            snp: r.reported_tcb.snp,
            microcode: r.reported_tcb.microcode,
            fmc: r.reported_tcb.fmc,
        },
        debug: r.policy.debug_allowed,
        root,
        signer: match v.signer {
            SignerKind::Vcek => "vcek",
            SignerKind::Vlek => "vlek",
        }
        .to_owned(),
        evidence_digest: snp_digest(parsed),
    }
}
