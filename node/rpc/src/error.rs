//! Error codes and the crate's error type.
//!
//! Every failed call returns a JSON-RPC error object
//! `{"code": <int>, "message": <text>, "data": {"kind": <name>, ...}}`.
//! The `code` values are a contract (see [`codes`] and `docs/rpc.md`);
//! `message` is for humans; `data.kind` names the failed check.

use crate::backend::BackendError;
use crate::params::ParamError;
use aether_ledger::LedgerError;
use aether_mempool::MempoolError;
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::{Value, json};

/// The stable error codes.
///
/// Codes −32768…−32000 are JSON-RPC's and jsonrpsee's (transport, limits);
/// positive codes are Aether's (transaction admission, backend).
pub mod codes {
    /// Malformed JSON.
    pub const PARSE_ERROR: i32 = -32700;
    /// Not a JSON-RPC request object.
    pub const INVALID_REQUEST: i32 = -32600;
    /// Unknown method.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Wrong parameter count or types, bad hex, address, out-point or block tag.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal server error.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// Too many subscriptions on one WebSocket connection.
    pub const TOO_MANY_SUBSCRIPTIONS: i32 = -32006;
    /// Request body larger than the limit (HTTP status 413 over HTTP).
    pub const REQUEST_TOO_LARGE: i32 = -32007;
    /// Response larger than the limit.
    pub const RESPONSE_TOO_LARGE: i32 = -32008;
    /// Batch with more calls than the limit.
    pub const BATCH_TOO_LARGE: i32 = -32010;

    /// The transaction bytes are not a canonical, well-formed encoding.
    pub const INVALID_ENCODING: i32 = 1001;
    /// The transaction exceeds the protocol's size limit.
    pub const TX_TOO_LARGE: i32 = 1002;
    /// The transaction is for another chain.
    pub const WRONG_CHAIN: i32 = 1003;
    /// The fee is below the minimum for the transaction's size and fuel.
    pub const FEE_TOO_LOW: i32 = 1004;
    /// The declared script fuel exceeds the per-transaction maximum.
    pub const FUEL_LIMIT_EXCEEDED: i32 = 1005;
    /// An output holds less than the minimum AIC.
    pub const OUTPUT_TOO_SMALL: i32 = 1006;
    /// A signature does not verify.
    pub const INVALID_SIGNATURE: i32 = 1007;
    /// The transaction is already in the mempool.
    pub const ALREADY_KNOWN: i32 = 1010;
    /// An input is already spent by a pooled transaction.
    pub const DOUBLE_SPEND: i32 = 1011;
    /// A reference or collateral input is spent by a pooled transaction.
    pub const READS_POOLED_SPEND: i32 = 1012;
    /// An input, reference input or collateral input does not exist or is
    /// already spent on chain.
    pub const MISSING_INPUT: i32 = 1013;
    /// A script of the transaction fails.
    pub const SCRIPT_FAILED: i32 = 1014;
    /// Another ledger rule is broken (`data.kind` names it: value not
    /// conserved, missing signature, collateral rules, missing script, ...).
    pub const LEDGER_RULE: i32 = 1015;
    /// The next block height is outside the validity interval.
    pub const OUTSIDE_VALIDITY_INTERVAL: i32 = 1016;
    /// The mempool is full and the fee rate is too low to evict anything.
    pub const MEMPOOL_FULL: i32 = 1020;
    /// The node's storage failed; retry later.
    pub const BACKEND_UNAVAILABLE: i32 = 1030;
    /// A subscription method was called over plain HTTP.
    pub const SUBSCRIPTION_NEEDS_WEBSOCKET: i32 = 1040;
    /// A market action (register, post job, receipt, challenge, ...) was
    /// refused: `data.check` names the failed check (`binding`,
    /// `evidence`, `unregistered_measurement`, `replay`, ...), `data.action`
    /// its index, and for evidence failures `data.evidenceCheck` the
    /// verifier's check.
    pub const ACTION_REFUSED: i32 = 1050;
}

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcError {
    /// A parameter could not be parsed.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The transaction was refused by the mempool.
    #[error(transparent)]
    Submit(#[from] MempoolError),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A value could not be serialized for the response.
    #[error("serialization failed: {0}")]
    Serialize(String),
    /// The server could not start (address in use, ...).
    #[error("server failed to start on {addr}: {reason}")]
    Start {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The I/O error.
        reason: String,
    },
}

fn ledger_kind(error: &LedgerError) -> &'static str {
    match error {
        LedgerError::Storage(_) => "Storage",
        LedgerError::Malformed(_) => "Malformed",
        LedgerError::WrongChain { .. } => "WrongChain",
        LedgerError::TooLarge { .. } => "TooLarge",
        LedgerError::OutsideValidityInterval { .. } => "OutsideValidityInterval",
        LedgerError::MissingInput(_) => "MissingInput",
        LedgerError::MissingReferenceInput(_) => "MissingReferenceInput",
        LedgerError::MissingCollateral(_) => "MissingCollateral",
        LedgerError::FuelLimitExceeded { .. } => "FuelLimitExceeded",
        LedgerError::FeeOverflow => "FeeOverflow",
        LedgerError::FeeTooLow { .. } => "FeeTooLow",
        LedgerError::OutputTooSmall { .. } => "OutputTooSmall",
        LedgerError::ValueOverflow => "ValueOverflow",
        LedgerError::ValueNotConserved { .. } => "ValueNotConserved",
        LedgerError::MissingSignature(_) => "MissingSignature",
        LedgerError::InvalidSignature | LedgerError::InvalidWitness { .. } => "InvalidSignature",
        LedgerError::MissingRedeemer(_) => "MissingRedeemer",
        LedgerError::UnexpectedRedeemer(_) => "UnexpectedRedeemer",
        LedgerError::MissingScript(_) => "MissingScript",
        LedgerError::ExtraneousScript(_) => "ExtraneousScript",
        LedgerError::CollateralRequired => "CollateralRequired",
        LedgerError::UnexpectedCollateral => "UnexpectedCollateral",
        LedgerError::CollateralNotKeyLocked(_) => "CollateralNotKeyLocked",
        LedgerError::CollateralNotBalanced { .. } => "CollateralNotBalanced",
        LedgerError::Action { .. } => "ActionRefused",
        LedgerError::DepositOverflow => "DepositOverflow",
    }
}

fn ledger_code(error: &LedgerError) -> i32 {
    match error {
        LedgerError::Storage(_) => codes::BACKEND_UNAVAILABLE,
        LedgerError::Malformed(_) => codes::INVALID_ENCODING,
        LedgerError::WrongChain { .. } => codes::WRONG_CHAIN,
        LedgerError::TooLarge { .. } => codes::TX_TOO_LARGE,
        LedgerError::OutsideValidityInterval { .. } => codes::OUTSIDE_VALIDITY_INTERVAL,
        LedgerError::MissingInput(_)
        | LedgerError::MissingReferenceInput(_)
        | LedgerError::MissingCollateral(_) => codes::MISSING_INPUT,
        LedgerError::FuelLimitExceeded { .. } => codes::FUEL_LIMIT_EXCEEDED,
        LedgerError::FeeTooLow { .. } | LedgerError::FeeOverflow => codes::FEE_TOO_LOW,
        LedgerError::OutputTooSmall { .. } => codes::OUTPUT_TOO_SMALL,
        LedgerError::InvalidSignature | LedgerError::InvalidWitness { .. } => {
            codes::INVALID_SIGNATURE
        }
        LedgerError::Action { .. } => codes::ACTION_REFUSED,
        _ => codes::LEDGER_RULE,
    }
}

impl RpcError {
    /// The JSON-RPC error code (see [`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            RpcError::Param(_) => codes::INVALID_PARAMS,
            RpcError::Backend(_) => codes::BACKEND_UNAVAILABLE,
            RpcError::Serialize(_) | RpcError::Start { .. } => codes::INTERNAL_ERROR,
            RpcError::Submit(e) => match e {
                MempoolError::TooLarge { .. } => codes::TX_TOO_LARGE,
                MempoolError::Decode(_) => codes::INVALID_ENCODING,
                MempoolError::WrongChain { .. } => codes::WRONG_CHAIN,
                MempoolError::FuelLimitExceeded { .. } => codes::FUEL_LIMIT_EXCEEDED,
                MempoolError::FeeTooLow { .. } => codes::FEE_TOO_LOW,
                MempoolError::OutputTooSmall { .. } => codes::OUTPUT_TOO_SMALL,
                MempoolError::InvalidSignature { .. } => codes::INVALID_SIGNATURE,
                MempoolError::AlreadyKnown(_) => codes::ALREADY_KNOWN,
                MempoolError::DoubleSpend { .. } => codes::DOUBLE_SPEND,
                MempoolError::ReadsPooledSpend { .. } => codes::READS_POOLED_SPEND,
                MempoolError::Ledger(l) => ledger_code(l),
                MempoolError::ScriptFailed { .. } => codes::SCRIPT_FAILED,
                MempoolError::PoolFull { .. } | MempoolError::ExceedsPoolCapacity { .. } => {
                    codes::MEMPOOL_FULL
                }
                MempoolError::Storage(_) => codes::BACKEND_UNAVAILABLE,
            },
        }
    }

    /// The `data` member: `{"kind": ...}` plus details for some kinds.
    pub fn data(&self) -> Value {
        match self {
            RpcError::Param(p) => json!({"kind": "InvalidParams", "param": p.what}),
            RpcError::Backend(_) => json!({"kind": "BackendUnavailable"}),
            RpcError::Serialize(_) => json!({"kind": "Serialize"}),
            RpcError::Start { .. } => json!({"kind": "Start"}),
            RpcError::Submit(e) => match e {
                MempoolError::TooLarge { size, max } => {
                    json!({"kind": "TooLarge", "size": size, "max": max})
                }
                MempoolError::Decode(_) => json!({"kind": "InvalidEncoding"}),
                MempoolError::WrongChain { expected, got } => {
                    json!({"kind": "WrongChain", "expected": expected.0, "got": got.0})
                }
                MempoolError::FuelLimitExceeded { declared, max } => {
                    json!({"kind": "FuelLimitExceeded", "declared": declared, "max": max})
                }
                MempoolError::FeeTooLow { fee, min } => {
                    json!({"kind": "FeeTooLow", "fee": fee.to_string(), "min": min.to_string()})
                }
                MempoolError::OutputTooSmall { index, coin, min } => json!({
                    "kind": "OutputTooSmall", "index": index,
                    "coin": coin.to_string(), "min": min.to_string()
                }),
                MempoolError::InvalidSignature { index } => {
                    json!({"kind": "InvalidSignature", "witness": index})
                }
                MempoolError::AlreadyKnown(id) => {
                    json!({"kind": "AlreadyKnown", "txId": id.to_string()})
                }
                MempoolError::DoubleSpend { input, pooled } => json!({
                    "kind": "DoubleSpend", "input": input.to_string(), "pooledTx": pooled.to_string()
                }),
                MempoolError::ReadsPooledSpend { out_point, pooled } => json!({
                    "kind": "ReadsPooledSpend", "outPoint": out_point.to_string(),
                    "pooledTx": pooled.to_string()
                }),
                MempoolError::Ledger(LedgerError::Action { index, error }) => {
                    let mut data = json!({
                        "kind": "ActionRefused", "action": index, "check": error.check()
                    });
                    if let aether_ledger::MarketError::Evidence { check, .. } = error {
                        data["evidenceCheck"] = json!(check);
                    }
                    data
                }
                MempoolError::Ledger(l) => json!({"kind": ledger_kind(l)}),
                MempoolError::ScriptFailed { purpose, failure } => json!({
                    "kind": "ScriptFailed",
                    "purpose": crate::dto::PurposeDto::from(purpose),
                    "failure": crate::dto::ScriptFailureDto::from(failure),
                }),
                MempoolError::PoolFull { offered, lowest } => json!({
                    "kind": "MempoolFull", "offeredFeeRate": offered.to_string(),
                    "lowestFeeRate": lowest.to_string()
                }),
                MempoolError::ExceedsPoolCapacity { size, max } => {
                    json!({"kind": "ExceedsPoolCapacity", "size": size, "max": max})
                }
                MempoolError::Storage(_) => json!({"kind": "BackendUnavailable"}),
            },
        }
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(error: RpcError) -> Self {
        ErrorObjectOwned::owned(error.code(), error.to_string(), Some(error.data()))
    }
}
