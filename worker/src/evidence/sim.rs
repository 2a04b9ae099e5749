//! The `sim` provider: evidence from the simulated PSP on the host
//! (`aether-image boot --sim-tee`, or `aether-image sim-psp --listen ADDR`),
//! for dev chains and tests without TEE hardware.
//!
//! It only speaks the wire protocol of `aether-sim-psp` (a client): it holds
//! no keys and cannot choose the measurement; the host service signs for
//! the launch it knows. Its evidence chains to the simulated root, which
//! only dev chains trust. Reached through the virtio-serial port
//! [`aether_sim_psp::DEFAULT_PORT_NAME`] in the appliance, or `--sim-psp
//! unix:PATH|tcp:ADDR` on the host.

use super::{EvidenceProvider, EvidenceProviderError, ProviderConfig, check_binding};
use aether_evidence::{Evidence, TeeKind};
use aether_sim_psp::{Client, PspAddr};
use std::sync::Mutex;

const NAME: &str = "sim";

/// The provider.
pub struct SimProvider {
    client: Mutex<Client>,
    tee: TeeKind,
    description: String,
}

impl SimProvider {
    /// Connects to the configured PSP (or the virtio port) and asks which
    /// TEE the VM was launched as.
    pub fn open(cfg: &ProviderConfig) -> Result<Self, EvidenceProviderError> {
        let addr = cfg
            .sim_psp
            .clone()
            .unwrap_or_else(|| PspAddr::Virtio(aether_sim_psp::DEFAULT_PORT_NAME.into()));
        let mut client = Client::connect_with_sys(&addr, cfg.sim_timeout, &cfg.sys_root)?;
        let (tee, description) = client.info()?;
        Ok(SimProvider {
            client: Mutex::new(client),
            tee,
            description,
        })
    }

    /// The PSP's description of the launch.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl EvidenceProvider for SimProvider {
    fn name(&self) -> &'static str {
        NAME
    }
    fn tee(&self) -> TeeKind {
        self.tee
    }
    fn evidence(&self, report_data: [u8; 64]) -> Result<Evidence, EvidenceProviderError> {
        let e = self
            .client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .evidence(self.tee, report_data)?;
        check_binding(NAME, self.tee, &report_data, &e)?;
        Ok(e)
    }
}
