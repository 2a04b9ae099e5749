//! The AI compute market in the state transition: the measurement
//! registry, models, providers, jobs in escrow, verifiable compute
//! receipts, one-transaction challenges and settlement.
//!
//! # Life of a job
//! ```text
//!  PostJob ──router──▶ Assigned ──SubmitReceipt──▶ Receipted ──window ends──▶ Settled
//!     │ no provider        │ deadline passes           │ Challenge upheld
//!     ▼                    ▼                           ▼
//!  Refunded(no_provider) Refunded(expired)        Refunded(receipt_disproved)
//! ```
//!
//! # Receipt checks, in order (each with its own [`MarketError`])
//! 1. **binding**: the chain id, then the evidence's report data equals
//!    `BLAKE3-XOF-512("AETHER-VCR-v1" ‖ H(body))`, before any signature work;
//! 2. **evidence**: verified at block time by `aether-evidence` against the
//!    genesis trust roots and policy (debug guests never pass);
//! 3. **measurement**: registered, for a worker image, not revoked (and
//!    RTMR0 when the entry names it);
//! 4. **replay**: the evidence was never used;
//! 5. **job**: exists, assigned to the receipt's provider, whose worker key
//!    is the receipt's and signed the transaction, not expired, a TEE the
//!    client accepts, the job's input, the model's segment count;
//! 6. **KZG**: the commitments' root, the blob count, and for inline
//!    outputs the blob proofs (one batch verification).
//!
//! Steps 1, 2 and 6 depend only on the transaction and the block time:
//! they run before scheduling, in parallel ([`prepare`]).
//!
//! # Money
//! | event | from | to |
//! |---|---|---|
//! | post | client's inputs | job escrow (`max_fee`) |
//! | no provider | escrow | client (refund at once) |
//! | settle | escrow | provider: price − burn share; burned: `settlement_burn_bps` of price; client: `max_fee − price` |
//! | expire | escrow | client (all); provider bond: `timeout_penalty_bps` of the job's bond share burned |
//! | challenge upheld | provider bond: the job's bond share slashed | challenger: deposit + `slash_reward_bps` of it; rest burned; client: escrow |
//! | challenge rejected | challenger's deposit | provider: `lost_deposit_provider_bps`; rest burned |
//! | unbond | provider bond | payout address after `unbonding_delay` blocks |
//!
//! A payout below the minimum output is burned (it cannot be an output).
//! Value is conserved: for every block, the value of the UTxO set plus the
//! value held by objects changes exactly by `−fees − burned` (tested).

pub mod apply;
pub mod claim;
pub mod error;
pub mod params;
pub mod prepare;
pub mod reexec;
pub mod router;

pub use apply::{MarketEffect, MarketEnv, TxFacts, apply_actions, run_boundary};
pub use claim::{ClaimError, ClaimTarget, find_claim};
pub use error::MarketError;
pub use params::{BPS, Governance, MarketParams, ReputationParams, share};
pub use prepare::{PreparedAction, ReceiptChecks, peek_report_data, prepare_actions};
pub use reexec::{NoExecutor, ReexecError, SegmentExecutor};
