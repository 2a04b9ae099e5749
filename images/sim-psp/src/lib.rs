//! The simulated PSP: how a VM without TEE hardware gets evidence in the
//! real formats, for dev chains and tests.
//!
//! There is no SEV-SNP or TDX hardware where Aether is developed and tested
//! (see "No TEE hardware here" in the design). A host service stands in for
//! the AMD Secure Processor (and for Intel's quoting enclave): it knows
//! exactly what the VMM launched (the launch measurement, computed on the
//! host from the image's artifacts and the boot options), and signs reports
//! in the real SEV-SNP format (v3 or v5) or TDX quotes with collateral under
//! the **simulated** root of `aether-evidence`. The chain verifies them with
//! the same code as hardware evidence and accepts them only when its policy
//! trusts the simulated root (dev chains).
//!
//! * [`protocol`]: the wire format (length-prefixed, versioned, bounded).
//! * [`client`]: what the guest's `sim` evidence provider uses (no keys).
//! * `server` (feature `server`, dev and tests only): the service,
//!   `aether-image sim-psp` / `aether-image boot --sim-tee`.
//!
//! The guest reaches the service over a virtio-serial port
//! (`virtserialport,name=org.aether.sim-psp.0` on a `-chardev socket` that
//! connects to the service's Unix socket); tests on the host connect to the
//! socket directly.

pub mod client;
pub mod protocol;
#[cfg(feature = "server")]
pub mod server;

pub use client::{Client, ClientError, DEFAULT_PORT_NAME, PspAddr};
pub use protocol::{DecodeError, ErrorCode, Request, RequestFrame, Response, ResponseFrame};
