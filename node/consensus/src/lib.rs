//! Aether consensus: Jolteon-style two-chain HotStuff with BLS12-381 quorum
//! certificates, stake-weighted VRF leaders, and equivocation evidence, as
//! a pure state machine.
//!
//! # Shape
//! ```text
//!                 Event::{Start, Message, RoundTimeout, BlockBuilt, BlockVerified}
//!   ┌─────────┐ ───────────────────────────────────────────────► ┌──────────┐
//!   │ driver  │                                                  │   Core   │
//!   │ (node / │ ◄─────────────────────────────────────────────── │  (pure)  │
//!   │  sim)   │  Action::{Persist, Broadcast, ScheduleTimeout,   └──────────┘
//!   └─────────┘   BuildBlock, VerifyBlock, Commit, Evidence, Fetch}
//!     │   │   │
//!     │   │   └── Transport (aether-chain-api): votes, proposals, timeouts, block sync
//!     │   └────── BlockLifecycle (aether-chain-api): build / verify / commit
//!     └────────── disk: SafetyState, synced on Persist before anything after it is sent
//! ```
//! [`Core`] does no I/O, reads no clock and draws no randomness: time
//! reaches it as `RoundTimeout` events for timers it asked for, the
//! application's work as `BlockBuilt` / `BlockVerified`. Signing is
//! deterministic (BLS), so the same events give the same actions.
//! The driver executes actions **in order** and treats `Persist` as a
//! barrier (written and synced before the next action).
//!
//! # Protocol
//! Validators (a [`ValidatorSet`]: BLS keys with proofs of possession,
//! stakes) move through rounds. Round `r` has one leader, drawn by stake
//! from the epoch seed ([`leader`]).
//!
//! 1. **Propose.** On entering round `r` (with a QC of round `r-1`, or a TC
//!    of round `r-1`), the leader asks the application to build a block on
//!    the block of its highest QC. The header carries
//!    `ConsensusFields::HotStuff { epoch, round, proposer, justify (that
//!    QC), timeout_cert (the TC of round r-1 when justify.round != r-1),
//!    vrf_proof }`. The leader signs the block's `BlockRef` and broadcasts
//!    the proposal (header + payload + signature).
//! 2. **Verify and vote.** A validator checks the proposal (signature,
//!    QC, TC, parent link, that the proposer is the leader of the round on
//!    the parent's chain, VRF proof), asks the application to re-execute
//!    it against the parent's state, and only if that succeeds and the
//!    safety rules ([`safety`]) allow, persists and **broadcasts** its vote
//!    (to every validator, so every node forms QCs itself and no single
//!    leader can hide one).
//! 3. **Certify.** Votes of more than 2/3 of the stake for one block form
//!    a QC: the aggregate signature plus a signer bitmap. The collector
//!    aggregates unverified votes and verifies the aggregate once (one
//!    pairing check); only if that fails does it verify the votes one by
//!    one, drop the bad ones and mark their signers, whose later votes are
//!    verified singly before they count. A received QC is verified once
//!    and cached by hash.
//! 4. **Commit (two-chain rule).** When block `B'` is certified and its
//!    parent `B` is of round `round(B') - 1`, `B` and its uncommitted
//!    ancestors are final: `Action::Commit` in height order, each with the
//!    QC of `B'` as its finality proof.
//! 5. **Time out.** A round's timer (`base * 1.2^k`, capped, `k` = rounds
//!    since the last QC) expiring makes the node persist and broadcast a
//!    timeout `{epoch, round, high_qc}` signed over `(epoch, round,
//!    high_qc.round)`; it then never votes in that round. Timeouts of more
//!    than 1/3 of the stake make every node join (so one slow timer never
//!    holds a round), of more than 2/3 form a TC, which grouped by reported
//!    high-QC round is verified with one aggregate check over the distinct
//!    messages. Unanswered timeouts (and the round's vote) are re-sent at
//!    every expiry, so lost messages cost time, not liveness.
//! 6. **Advance.** A node is always in round `max(highest QC round,
//!    highest TC round) + 1`, and takes certificates from anything it
//!    receives (a proposal's justify and TC, a timeout's high QC and high
//!    TC), so a lagging node catches up from the first message it gets,
//!    never waiting for its own timers. Blocks it lacks are fetched
//!    (`Action::Fetch`: a block and up to 64 of its ancestors per request,
//!    newest first), walking parents back to its committed block; a
//!    request whose answer was lost is repeated on the next timer or
//!    after three rounds, whichever comes first.
//!
//! # Safety argument
//! With faulty stake below 1/3, any two quorums share an honest validator.
//! - *One certified block per round*: an honest validator votes at most
//!   once per round (rule 2 of [`safety`], persisted before the vote
//!   leaves, so also across crashes).
//! - *Final blocks are never reverted*: let `B` (round `r`) be final
//!   through its certified child `B'` of round `r+1`. The honest voters of
//!   `B'` (more than 1/3 of the stake) saw `QC(B)` and hold a highest QC of
//!   round `>= r` from then on. A certified block of round `r+1` other
//!   than `B'` cannot exist; a block of round `> r+1` is voted for only
//!   with a QC of the previous round (which by induction certifies a
//!   descendant of `B`) or with a TC of the previous round and a QC at
//!   least as high as every high-QC round reported in the TC. Any TC of a
//!   round `>= r+1` contains one of `B'`'s honest voters, which timed out
//!   after voting and reported a QC round `>= r`; so the proposal's QC is
//!   of round `>= r` and, by induction on rounds, certifies `B` or a
//!   descendant. Hence every certified block above round `r` extends `B`.
//! - The lock (`locked_round`, rule 2) adds a local guard that a valid
//!   proposal always satisfies (see [`safety`]).
//!
//! # Liveness argument
//! After the network stabilises (messages within `Δ`), every honest node
//! reaches the highest round any honest node is in within `Δ` (timeouts
//! and proposals carry the certificates), timeouts of a round reach a TC
//! within `Δ` of the first 1/3 giving up, and timers back off by 1.2x until
//! they exceed the few `Δ` a round needs. Then a round with an honest
//! leader certifies its block, and two consecutive such rounds make a
//! block final. Leaders are drawn by stake, and leaders that keep failing
//! (no block of their round on the chain, `leader_failure_limit` times)
//! are skipped for the rest of the epoch, deterministically from chain
//! data, so crashed validators stop costing a timeout each.
//!
//! # Messages
//! The wire formats are in `aether_types::consensus` (QC, TC, vote,
//! timeout, proposal fields, evidence); what each signature covers is in
//! [`signing`]; the persisted state is [`SafetyState`].
//!
//! # Epochs
//! A core serves one epoch: one [`ValidatorSet`], one seed. The ledger
//! fixes the set and seed of epoch `e+1` at the end of the last block of
//! epoch `e`. When the driver commits that block it drops the core
//! (ignoring the rest of that batch's actions) and builds the core of
//! epoch `e+1` from the ledger's set, with [`Config::starting_at`] that
//! block and a fresh safety state: the block is the new epoch's root,
//! certified by a signature-less QC of round 0 ([`Config::start_qc`]).
//! Blocks of epoch `e` above it are never committed. Signatures are made
//! over the chain's genesis id in every epoch, and statements carry their
//! epoch, so nothing signed in one epoch counts in another.
//!
//! # Equivocation
//! Two valid signed votes, or two valid signed proposals, of one validator
//! in one round for different blocks give an
//! `Action::Evidence(EquivocationEvidence)` (once per validator, round and
//! kind). A leader that sends different blocks to different validators is
//! caught through the votes: a vote for a block other than the proposal a
//! node holds makes it fetch that block from the voter, and the fetched
//! proposal carries the leader's second signature (and a proposal that
//! arrives after votes for another block of its round triggers the same
//! fetch). [`verify_evidence`] is the check the ledger runs before
//! slashing.
//!
//! # Latency
//! The two-chain rule needs the QC of the next block, so a block is final
//! four message delays after its proposal at the earliest (proposal,
//! votes, next proposal, its votes), plus two executions, signatures,
//! verifications and safety-state syncs on the path. Aptos-style order
//! votes (a second all-to-all vote on a QC, final at a quorum of them)
//! would cut this to three delays; they are not implemented.

pub mod core;
mod error;
pub mod evidence;
pub mod leader;
pub mod safety;
pub mod signing;
pub mod sync;
mod tree;
pub mod validators;
mod votes;

pub use crate::core::{Action, Config, Core, EpochStart, Event, ROUND_WINDOW, Rejection, Restore};
pub use error::{ConsensusError, EvidenceError};
pub use evidence::verify_evidence;
pub use leader::{LeaderFailures, next_epoch_seed};
pub use safety::{SafetyState, SafetyViolation};
pub use signing::VerifyMemo;
pub use sync::{SyncRefusal, SyncedPrefix, check_synced_block, check_synced_blocks};
pub use validators::{ValidatorInfo, ValidatorSet};
