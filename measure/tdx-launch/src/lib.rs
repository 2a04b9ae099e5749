//! Intel TDX launch measurements from image artifacts, and event-log replay.
//!
//! A TD's quote carries five measurement registers. This crate predicts them
//! from the files a VM is started with, offline and bit-exact, and replays
//! event logs that claim to explain them:
//!
//! ```text
//!   OVMF.fd ──► TdvfImage (TDX metadata) ──► MRTD            (crate::mrtd)
//!      │                      └─► TD HOB, CFV ──┐
//!   QEMU ACPI blobs (etc/table-loader, …) ──────┼─► RTMR0      (crate::launch)
//!   bzImage ──► as the firmware loads it ──► Authenticode ──► RTMR1
//!   -append, initrd ──► Linux EFI stub events ─────────────► RTMR2
//!
//!   CCEL / TPM event log ──► EventLog ──► replay ──► RTMR0-3 / PCRs (crate::eventlog)
//! ```
//!
//! * [`tdvf`] decodes the OVMF footer table and TDX metadata, length-checked.
//! * [`mrtd`] computes MRTD for both page orders ([`PageOrder`]).
//! * [`kernel`] applies QEMU's `x86_load_linux()` setup-header writes and
//!   computes the Authenticode digest with the `authenticode` crate.
//! * [`profile`] reads from the firmware what it measures (edk2 version traits).
//! * [`td_hob`], [`uefi`], [`acpi`] build the other measured objects.
//! * [`launch`] assembles the event sequences of RTMR0-2 ([`measure_launch`]).
//! * [`eventlog`] and [`ccel`] decode TCG2 crypto-agile logs and the ACPI CCEL
//!   table and replay logs into RTMRs or PCRs.
//!
//! Invariants: decoders never panic on any input (proptests and fuzz
//! targets); every register is either computed from a modelled event
//! sequence or reported as not computed with the reason; the library does no
//! I/O.
//!
//! ```no_run
//! # fn demo(fw: &[u8]) -> Result<(), aether_tdx_launch::Error> {
//! use aether_tdx_launch::{PageOrder, TdvfImage, compute_mrtd};
//! let image = TdvfImage::parse(fw)?;
//! let mrtd = compute_mrtd(&image, PageOrder::SinglePass)?;
//! println!("MRTD={}", hex::encode(mrtd));
//! # Ok(()) }
//! ```

pub mod acpi;
mod bytes;
pub mod ccel;
mod error;
pub mod eventlog;
pub mod guid;
pub mod kernel;
pub mod launch;
pub mod mrtd;
pub mod profile;
pub mod td_hob;
pub mod tdvf;
pub mod uefi;

pub use ccel::CcelTable;
pub use error::{Error, Result};
pub use eventlog::{Event, EventLog};
pub use kernel::{SetupHeaderPolicy, authenticode_sha384};
pub use launch::{AcpiBlobs, LaunchInputs, PredictedRtmr, TdxLaunchMeasurement, measure_launch};
pub use mrtd::{PageOrder, compute_mrtd};
pub use profile::TdvfProfile;
pub use tdvf::{TdvfImage, TdvfSection, TdxMetadata};

/// A SHA-384 digest (MRTD, RTMR, event digest).
pub type Sha384Digest = [u8; 48];
