//! Tests: real AMD-signed vectors, hostile inputs, and a single-check failure
//! for every check (with the test key chain where real data cannot isolate it).

mod asvk_and_bundles;
mod hostile;
mod signer_checks;
mod vectors;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A vector's bytes (hex text decoded), or `None` when vectors are absent.
pub(crate) fn vector(rel: &str) -> Option<Vec<u8>> {
    aether_testkit::vector(rel).map(|p| aether_testkit::read_maybe_hex(&p))
}

/// Unix seconds as a `SystemTime`.
pub(crate) fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

/// 2025-01-01T00:00:00Z: inside the Milan VCEKs' validity.
pub(crate) const T_2025: u64 = 1_735_689_600;
/// 2026-03-01T00:00:00Z: inside the Genoa (lunal) VCEK's validity.
pub(crate) const T_2026_03: u64 = 1_772_323_200;
