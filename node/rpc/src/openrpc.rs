//! The OpenRPC document served by `rpc.discover`.
//!
//! Parameter and result schemas are generated from the Rust types the
//! server really uses (`schemars`), and the method list is compared with
//! the server's registered methods by a test, so the document cannot drift
//! from the implementation. Following the OpenRPC specification,
//! `rpc.discover` itself is not listed.

use crate::dto::*;
use crate::error::codes;
use crate::params::{BlockParam, OutPointParam};
use aether_rpc_types::market::*;
use aether_rpc_types::methods::{self as m, FINALIZED_HEAD_NOTIFICATION, NEW_HEAD_NOTIFICATION};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};

type SchemaFn = fn(&mut SchemaGenerator) -> Value;

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

fn subscription_id(_: &mut SchemaGenerator) -> Value {
    json!({"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]})
}

struct Param {
    name: &'static str,
    description: &'static str,
    required: bool,
    schema: SchemaFn,
}

struct Method {
    name: &'static str,
    summary: &'static str,
    params: &'static [Param],
    result_name: &'static str,
    result: SchemaFn,
    errors: &'static [(i32, &'static str)],
    notification: Option<(&'static str, SchemaFn)>,
}

const TX_ID: Param = Param {
    name: "txId",
    description: "transaction id, 64 hex digits",
    required: true,
    schema: schema::<String>,
};
const FULL: Param = Param {
    name: "full",
    description: "include the transactions in full (default false)",
    required: false,
    schema: schema::<bool>,
};
const ADDRESS: Param = Param {
    name: "address",
    description: "\"key:<64 hex>\" or \"script:<64 hex>\"",
    required: true,
    schema: schema::<String>,
};
const SUBSCRIPTION: Param = Param {
    name: "subscription",
    description: "the id returned by the subscribe call",
    required: true,
    schema: subscription_id,
};

const SUBMIT_ERRORS: &[(i32, &str)] = &[
    (codes::INVALID_PARAMS, "not hex"),
    (
        codes::INVALID_ENCODING,
        "not a canonical, well-formed transaction",
    ),
    (codes::TX_TOO_LARGE, "transaction too large"),
    (codes::WRONG_CHAIN, "transaction for another chain"),
    (codes::FEE_TOO_LOW, "fee below the minimum"),
    (
        codes::FUEL_LIMIT_EXCEEDED,
        "declared fuel above the maximum",
    ),
    (codes::OUTPUT_TOO_SMALL, "output below the minimum coin"),
    (codes::INVALID_SIGNATURE, "signature does not verify"),
    (codes::ALREADY_KNOWN, "already in the mempool"),
    (codes::DOUBLE_SPEND, "input spent by a pooled transaction"),
    (
        codes::READS_POOLED_SPEND,
        "read out-point spent by a pooled transaction",
    ),
    (codes::MISSING_INPUT, "input missing or already spent"),
    (codes::SCRIPT_FAILED, "a script fails"),
    (
        codes::LEDGER_RULE,
        "another ledger rule is broken (data.kind)",
    ),
    (
        codes::OUTSIDE_VALIDITY_INTERVAL,
        "not valid at the next height",
    ),
    (codes::MEMPOOL_FULL, "mempool full"),
    (codes::BACKEND_UNAVAILABLE, "storage failure"),
];
const READ_ERRORS: &[(i32, &str)] = &[
    (codes::INVALID_PARAMS, "malformed parameter"),
    (codes::BACKEND_UNAVAILABLE, "storage failure"),
];

const JOB_ID: Param = Param {
    name: "job",
    description: "job id, 64 hex digits",
    required: true,
    schema: schema::<String>,
};

const METHODS: &[Method] = &[
    Method {
        name: m::SEND_TRANSACTION,
        summary: "Submit the hex of a transaction's canonical encoding to the mempool; returns its id.",
        params: &[Param {
            name: "tx",
            description: "hex of the canonical encoding (optional 0x)",
            required: true,
            schema: schema::<String>,
        }],
        result_name: "txId",
        result: schema::<String>,
        errors: SUBMIT_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_TRANSACTION,
        summary: "A transaction by id, pending or included; null if unknown.",
        params: &[TX_ID],
        result_name: "transaction",
        result: schema::<Option<TransactionDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_RECEIPT,
        summary: "The receipt of an included transaction; null if not included.",
        params: &[TX_ID],
        result_name: "receipt",
        result: schema::<Option<ReceiptDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_BLOCK_BY_NUMBER,
        summary: "A block by height, \"latest\", \"finalized\" or \"earliest\"; null above the tip.",
        params: &[
            Param {
                name: "block",
                description: "height (number or decimal string), \"latest\", \"finalized\" or \"earliest\"",
                required: true,
                schema: schema::<BlockParam>,
            },
            FULL,
        ],
        result_name: "block",
        result: schema::<Option<BlockDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_BLOCK_BY_HASH,
        summary: "A block by hash; null if unknown.",
        params: &[
            Param {
                name: "hash",
                description: "block hash, 64 hex digits",
                required: true,
                schema: schema::<String>,
            },
            FULL,
        ],
        result_name: "block",
        result: schema::<Option<BlockDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_UTXOS,
        summary: "Unspent outputs of an address, in out-point order.",
        params: &[
            ADDRESS,
            Param {
                name: "limit",
                description: "most outputs to return (capped by the server, default the cap)",
                required: false,
                schema: schema::<u32>,
            },
        ],
        result_name: "utxos",
        result: schema::<UtxosDto>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_BALANCE,
        summary: "AIC and assets held by an address.",
        params: &[ADDRESS],
        result_name: "balance",
        result: schema::<BalanceDto>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_STATE_PROOF,
        summary: "Inclusion or exclusion proof of an out-point against the latest state root.",
        params: &[Param {
            name: "outPoint",
            description: "{\"txId\", \"index\"} or \"<tx id>#<index>\"",
            required: true,
            schema: schema::<OutPointParam>,
        }],
        result_name: "proof",
        result: schema::<StateProofDto>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::STATUS,
        summary: "Chain id, height, finalized height, state root, node version, mempool size.",
        params: &[],
        result_name: "status",
        result: schema::<StatusDto>,
        errors: &[(codes::BACKEND_UNAVAILABLE, "storage failure")],
        notification: None,
    },
    Method {
        name: m::GET_PARAMS,
        summary: "Chain id, fee schedule, minimum output coin, size and fuel limits: what a client needs to build a valid transaction.",
        params: &[],
        result_name: "params",
        result: schema::<ParamsDto>,
        errors: &[(codes::BACKEND_UNAVAILABLE, "storage failure")],
        notification: None,
    },
    Method {
        name: m::SUBSCRIBE_NEW_HEADS,
        summary: "Subscribe (WebSocket) to headers of newly committed blocks.",
        params: &[],
        result_name: "subscription",
        result: subscription_id,
        errors: &[(
            codes::TOO_MANY_SUBSCRIPTIONS,
            "too many subscriptions on the connection",
        )],
        notification: Some((NEW_HEAD_NOTIFICATION, schema::<HeaderDto>)),
    },
    Method {
        name: m::UNSUBSCRIBE_NEW_HEADS,
        summary: "Cancel a new-heads subscription.",
        params: &[SUBSCRIPTION],
        result_name: "unsubscribed",
        result: schema::<bool>,
        errors: &[],
        notification: None,
    },
    Method {
        name: m::SUBSCRIBE_FINALIZED_HEADS,
        summary: "Subscribe (WebSocket) to headers of newly finalized blocks.",
        params: &[],
        result_name: "subscription",
        result: subscription_id,
        errors: &[(
            codes::TOO_MANY_SUBSCRIPTIONS,
            "too many subscriptions on the connection",
        )],
        notification: Some((FINALIZED_HEAD_NOTIFICATION, schema::<HeaderDto>)),
    },
    Method {
        name: m::UNSUBSCRIBE_FINALIZED_HEADS,
        summary: "Cancel a finalized-heads subscription.",
        params: &[SUBSCRIPTION],
        result_name: "unsubscribed",
        result: schema::<bool>,
        errors: &[],
        notification: None,
    },
    Method {
        name: m::GET_JOB,
        summary: "A job of the AI market by id: status, escrow, provider, deadline, window; null if unknown.",
        params: &[JOB_ID],
        result_name: "job",
        result: schema::<Option<JobDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_PROVIDER,
        summary: "A provider by id: offer, bond, locked bond, unbonding, reputation; null if unknown.",
        params: &[Param {
            name: "provider",
            description: "provider id, 64 hex digits",
            required: true,
            schema: schema::<String>,
        }],
        result_name: "provider",
        result: schema::<Option<ProviderDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_PROVIDERS,
        summary: "Every registered provider.",
        params: &[],
        result_name: "providers",
        result: schema::<Vec<ProviderDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_COMPUTE_RECEIPT,
        summary: "A job's verifiable compute receipt (VCR) with the claims its TEE evidence was verified to carry and the challenges decided; null if none (aether_getReceipt is the transaction receipt).",
        params: &[JOB_ID],
        result_name: "receipt",
        result: schema::<Option<ComputeReceiptDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_MEASUREMENTS,
        summary: "Registered images with their launch measurements (the registry TEE evidence is checked against).",
        params: &[Param {
            name: "filter",
            description: "{\"role\": \"validator\"|\"worker\", \"tee\": \"snp\"|\"tdx\", \"includeRevoked\": bool}, all optional",
            required: false,
            schema: schema::<aether_rpc_types::market::MeasurementFilter>,
        }],
        result_name: "images",
        result: schema::<Vec<ImageDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_MODELS,
        summary: "Registered models (content hash, files, segments).",
        params: &[],
        result_name: "models",
        result: schema::<Vec<ModelDto>>,
        errors: READ_ERRORS,
        notification: None,
    },
    Method {
        name: m::GET_JOB_EVENTS,
        summary: "The market events of committed blocks fromHeight..=toHeight (at most 256 blocks per call, never past the head; continue from the page's toHeight + 1), optionally of one job: how a subscriber catches up after a disconnect.",
        params: &[
            Param {
                name: "fromHeight",
                description: "first height",
                required: true,
                schema: schema::<u64>,
            },
            Param {
                name: "toHeight",
                description: "last height (optional; capped at fromHeight + 255 and the head)",
                required: false,
                schema: schema::<u64>,
            },
            Param {
                name: "job",
                description: "job id (optional)",
                required: false,
                schema: schema::<String>,
            },
        ],
        result_name: "page",
        result: schema::<aether_rpc_types::market::JobEventsPageDto>,
        errors: &[
            (
                codes::INVALID_PARAMS,
                "malformed job id or toHeight below fromHeight",
            ),
            (codes::BACKEND_UNAVAILABLE, "storage failure"),
        ],
        notification: None,
    },
    Method {
        name: m::SUBSCRIBE_JOB_EVENTS,
        summary: "Subscribe (WebSocket) to the market events of each new block (boundary first, then each transaction's); with a job id, only that job's.",
        params: &[Param {
            name: "job",
            description: "job id to follow (optional)",
            required: false,
            schema: schema::<String>,
        }],
        result_name: "subscription",
        result: subscription_id,
        errors: &[
            (
                codes::TOO_MANY_SUBSCRIPTIONS,
                "too many subscriptions on the connection",
            ),
            (codes::INVALID_PARAMS, "malformed job id"),
        ],
        notification: Some((m::JOB_EVENTS_NOTIFICATION, schema::<BlockEventsDto>)),
    },
    Method {
        name: m::UNSUBSCRIBE_JOB_EVENTS,
        summary: "Cancel a job-events subscription.",
        params: &[SUBSCRIPTION],
        result_name: "unsubscribed",
        result: schema::<bool>,
        errors: &[],
        notification: None,
    },
];

/// The names of the methods the document lists.
pub fn method_names() -> Vec<&'static str> {
    METHODS.iter().map(|m| m.name).collect()
}

/// The OpenRPC 1.3 document of the server.
pub fn document() -> Value {
    let mut generator = SchemaSettings::draft07()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let methods: Vec<Value> = METHODS
        .iter()
        .map(|m| {
            let params: Vec<Value> = m
                .params
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name,
                        "description": p.description,
                        "required": p.required,
                        "schema": (p.schema)(&mut generator),
                    })
                })
                .collect();
            let mut method = json!({
                "name": m.name,
                "summary": m.summary,
                "paramStructure": "by-position",
                "params": params,
                "result": {"name": m.result_name, "schema": (m.result)(&mut generator)},
                "errors": m.errors.iter().map(|(code, message)| json!({"code": code, "message": message})).collect::<Vec<_>>(),
            });
            if let Some((notification, item)) = m.notification {
                method["x-notification"] = json!({
                    "method": notification,
                    "params": {"subscription": "the subscription id", "result": item(&mut generator)},
                });
            }
            method
        })
        .collect();
    let schemas = generator.take_definitions(true);
    json!({
        "openrpc": "1.3.2",
        "info": {
            "title": "Aether JSON-RPC",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Aether node API. Hex without 0x for hashes, ids and bytes; amounts as decimal strings; see docs/rpc.md.",
        },
        "methods": methods,
        "components": {"schemas": schemas},
    })
}
