//! The traits between the layers of the node, with typed errors, so that
//! consensus, network, storage and RPC depend on traits and not on each
//! other (the `*-api` crate pattern: a user of a layer never compiles its
//! implementation).
//!
//! | module | holds | implemented by |
//! |---|---|---|
//! | [`transport`] | [`Transport`]: send to a validator, broadcast, receive | the simulator's network (`aether-sim`), later QUIC (`aether-network`) |
//! | [`clock`] | [`Clock`]: injected time | the system clock in the node, the simulated clock in `aether-sim` |
//! | [`lifecycle`] | [`BlockLifecycle`]: build, verify, commit, state root | the simulator's in-memory app, later the ledger over its store |
//! | [`sync`] | [`SyncSource`]: status and committed blocks by height, served to syncing peers | the node over its store (`aether-network` calls it) |
//!
//! More traits (chain reader, block import, pool, head events) join this
//! crate as their layers split; each gets its own module and error type.
//!
//! # Rules
//! - Protocol code never reads the system clock: it is given a [`Clock`]
//!   (or, for the pure consensus core, no clock at all: the driver turns
//!   time into events).
//! - Errors crossing a layer are typed enums, never `String`s.

pub mod clock;
pub mod lifecycle;
pub mod sync;
pub mod transport;

pub use clock::{Clock, UnixMicros};
pub use lifecycle::{
    BlockLifecycle, BuildRequest, BuiltBlock, CommittedHead, LifecycleError, RejectReason,
};
pub use sync::{CommittedBlock, SyncError, SyncSource, SyncStatus};
pub use transport::{Inbound, Transport, TransportError};
