//! Builds the Aether appliance images reproducibly and boots them in QEMU.
//!
//! An image is one definition (`images/defs/<name>.toml`: payload, command
//! line) built for one TEE profile (`images/defs/tee/<tee>.toml`: firmware and
//! the VM shapes to measure). [`build::Builder::build`] writes
//! `images/out/<name>-<tee>/` with `vmlinuz`, `initrd.cpio.zst`, `cmdline`,
//! `<name>-<tee>.efi` (UKI), `<name>-<tee>.disk.raw` (GPT disk with an ESP
//! holding the UKI, [`disk`]), the firmware and `manifest.json`
//! ([`manifest`]). Every byte is a function of the pinned inputs: the newc
//! archive is sorted with zero timestamps and owners ([`cpio`]), zstd runs at
//! a fixed level on one thread, the UKI's PE timestamp is zeroed and its
//! checksum recomputed ([`uki`]). The measurements come from the
//! `aether-snp-launch` and `aether-tdx-launch` libraries ([`measure`]).
//! [`qemu`] builds the QEMU command lines of `aether-image boot`; with the
//! `sim-tee` feature (dev and tests only), `sim_tee` computes a launch's
//! measurement and runs the simulated PSP the guest gets evidence from.

pub mod build;
pub mod cpio;
pub mod defs;
pub mod disk;
pub mod error;
pub mod manifest;
pub mod measure;
pub mod qemu;
#[cfg(feature = "sim-tee")]
pub mod sim_tee;
pub mod uki;

pub use error::{Error, Result};
