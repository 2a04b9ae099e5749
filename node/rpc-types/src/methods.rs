//! The JSON-RPC method names: a contract between the server and its
//! clients. The server's method definitions must use exactly these (a test
//! of `aether-rpc` compares [`ALL`] with the registered methods), and the
//! client calls through them, so neither side can drift.

/// Submit the hex of a transaction's canonical encoding.
pub const SEND_TRANSACTION: &str = "aether_sendTransaction";
/// A transaction by id, pending or included.
pub const GET_TRANSACTION: &str = "aether_getTransaction";
/// The receipt of an included transaction.
pub const GET_RECEIPT: &str = "aether_getReceipt";
/// A block by height or tag.
pub const GET_BLOCK_BY_NUMBER: &str = "aether_getBlockByNumber";
/// A block by hash.
pub const GET_BLOCK_BY_HASH: &str = "aether_getBlockByHash";
/// Unspent outputs of an address.
pub const GET_UTXOS: &str = "aether_getUtxos";
/// Balance of an address.
pub const GET_BALANCE: &str = "aether_getBalance";
/// Inclusion or exclusion proof of an out-point.
pub const GET_STATE_PROOF: &str = "aether_getStateProof";
/// Chain parameters a client needs to build a valid transaction.
pub const GET_PARAMS: &str = "aether_getParams";
/// Height, finality, state root, version, mempool size.
pub const STATUS: &str = "aether_status";
/// Subscribe (WebSocket) to headers of newly committed blocks.
pub const SUBSCRIBE_NEW_HEADS: &str = "aether_subscribeNewHeads";
/// Cancel a new-heads subscription.
pub const UNSUBSCRIBE_NEW_HEADS: &str = "aether_unsubscribeNewHeads";
/// Notification method of new-heads subscriptions.
pub const NEW_HEAD_NOTIFICATION: &str = "aether_newHead";
/// Subscribe (WebSocket) to headers of newly finalized blocks.
pub const SUBSCRIBE_FINALIZED_HEADS: &str = "aether_subscribeFinalizedHeads";
/// Cancel a finalized-heads subscription.
pub const UNSUBSCRIBE_FINALIZED_HEADS: &str = "aether_unsubscribeFinalizedHeads";
/// Notification method of finalized-heads subscriptions.
pub const FINALIZED_HEAD_NOTIFICATION: &str = "aether_finalizedHead";
/// A job by id.
pub const GET_JOB: &str = "aether_getJob";
/// A provider by id.
pub const GET_PROVIDER: &str = "aether_getProvider";
/// Every provider.
pub const GET_PROVIDERS: &str = "aether_getProviders";
/// A job's verifiable compute receipt with its verified claims.
pub const GET_COMPUTE_RECEIPT: &str = "aether_getComputeReceipt";
/// Registered images and measurements.
pub const GET_MEASUREMENTS: &str = "aether_getMeasurements";
/// Registered models.
pub const GET_MODELS: &str = "aether_getModels";
/// The market events of a range of committed blocks.
pub const GET_JOB_EVENTS: &str = "aether_getJobEvents";
/// Subscribe (WebSocket) to the market events of new blocks.
pub const SUBSCRIBE_JOB_EVENTS: &str = "aether_subscribeJobEvents";
/// Cancel a job-events subscription.
pub const UNSUBSCRIBE_JOB_EVENTS: &str = "aether_unsubscribeJobEvents";
/// Notification method of job-events subscriptions.
pub const JOB_EVENTS_NOTIFICATION: &str = "aether_jobEvents";
/// The OpenRPC document (not listed in the document itself).
pub const DISCOVER: &str = "rpc.discover";
/// Sets the fault injection of a validator's network (partition, delay,
/// loss). Served only by nodes whose config sets `[consensus]
/// fault_injection = true` (test networks such as `aether devnet`), so it
/// is neither in [`ALL`] nor in the OpenRPC document.
pub const DEBUG_SET_FAULTS: &str = "aether_debugSetFaults";

/// Every callable method, `rpc.discover` included (notifications are not
/// methods).
pub const ALL: &[&str] = &[
    SEND_TRANSACTION,
    GET_TRANSACTION,
    GET_RECEIPT,
    GET_BLOCK_BY_NUMBER,
    GET_BLOCK_BY_HASH,
    GET_UTXOS,
    GET_BALANCE,
    GET_STATE_PROOF,
    GET_PARAMS,
    STATUS,
    SUBSCRIBE_NEW_HEADS,
    UNSUBSCRIBE_NEW_HEADS,
    SUBSCRIBE_FINALIZED_HEADS,
    UNSUBSCRIBE_FINALIZED_HEADS,
    GET_JOB,
    GET_PROVIDER,
    GET_PROVIDERS,
    GET_COMPUTE_RECEIPT,
    GET_MEASUREMENTS,
    GET_MODELS,
    GET_JOB_EVENTS,
    SUBSCRIBE_JOB_EVENTS,
    UNSUBSCRIBE_JOB_EVENTS,
    DISCOVER,
];
