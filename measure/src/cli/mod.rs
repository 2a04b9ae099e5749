//! Subcommand implementations of the `aether-measure` binary, one module each.
//!
//! Shared conventions: status 0 success, 1 rejected / computation error,
//! 2 usage or I/O error; errors go to stderr as `Error: <message>`.

pub(crate) mod input;
pub(crate) mod replay;
pub(crate) mod snp;
pub(crate) mod tdx;
pub(crate) mod verify_snp;
pub(crate) mod verify_tdx;
