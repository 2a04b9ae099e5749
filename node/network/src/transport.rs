//! The consensus driver's side of the network: [`NetworkTransport`]
//! implements `aether_chain_api::Transport<ConsensusMsg>`.
//!
//! # The boundary
//! The consensus core is sans-I/O; a **driver** owns it and moves
//! messages between it and the network:
//!
//! ```text
//!             ┌──────────── driver task (async) ────────────┐
//!  network ──►│ transport.recv().await ─► core.handle(Event::Message)
//!   inbox     │                              │ actions       │
//!             │ transport.send / broadcast ◄─┘ (Broadcast,   │──► per-peer lanes
//!             │   (never block: QueueFull)     Fetch, ...)   │    (bounded)
//!             └──────────────────────────────────────────────┘
//! ```
//! - `send` and `broadcast` encode the message once and push the frame
//!   into each recipient's bounded consensus queue; they never wait: a
//!   full queue is `TransportError::QueueFull` (the peer is slow or gone;
//!   the protocol re-sends what matters on its timers).
//! - Receiving: `try_recv` (the trait) never blocks; the driver awaits
//!   [`NetworkTransport::recv`] in its `select!` next to its timers and
//!   the application's results. Messages arrive decoded, from validators
//!   only, and each names its sender as its signer (votes, timeouts and
//!   proposals are sent directly, never relayed, so anything else is
//!   dropped and counted against the peer); signatures are the core's to
//!   check.
//! - Proposals can travel as any consensus message here (direct sends), or
//!   by Turbine (what `aether-node`'s validators do): the leader calls
//!   [`crate::Network::broadcast_block`] with the encoded proposal, and
//!   receivers take [`crate::Inbox::blocks`], decode the proposal and hand
//!   it to the core as a message from `origin` (the core verifies it
//!   before voting).

use crate::error::NetworkError;
use crate::network::Network;
use aether_chain_api::{Inbound, Transport, TransportError};
use aether_types::{ConsensusMsg, ValidatorIndex};
use tokio::sync::mpsc;

/// The network as a consensus transport (see the module docs).
#[derive(Debug)]
pub struct NetworkTransport {
    network: Network,
    inbox: mpsc::Receiver<Inbound<ConsensusMsg>>,
}

impl NetworkTransport {
    /// Wraps the network and its consensus inbox (`Inbox::consensus`).
    pub fn new(network: Network, inbox: mpsc::Receiver<Inbound<ConsensusMsg>>) -> Self {
        NetworkTransport { network, inbox }
    }

    /// Waits for the next consensus message (`None` once the network has
    /// shut down).
    pub async fn recv(&mut self) -> Option<Inbound<ConsensusMsg>> {
        self.inbox.recv().await
    }

    /// The network handle.
    pub fn network(&self) -> &Network {
        &self.network
    }
}

fn transport_error(e: NetworkError) -> TransportError {
    match e {
        NetworkError::UnknownPeer(v) => TransportError::UnknownPeer(v),
        NetworkError::QueueFull(v) => TransportError::QueueFull(v),
        _ => TransportError::Closed,
    }
}

impl Transport<ConsensusMsg> for NetworkTransport {
    fn send(&mut self, to: ValidatorIndex, message: ConsensusMsg) -> Result<(), TransportError> {
        self.network.send(to, message).map_err(transport_error)
    }

    fn broadcast(&mut self, message: ConsensusMsg) -> Result<(), TransportError> {
        self.network.broadcast(message).map_err(transport_error)
    }

    fn try_recv(&mut self) -> Option<Inbound<ConsensusMsg>> {
        self.inbox.try_recv().ok()
    }
}
