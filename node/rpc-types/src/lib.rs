//! The wire forms of the Aether JSON-RPC interface, shared by the server
//! (`aether-rpc`) and clients (`aether-client`), so that a client never
//! compiles the server.
//!
//! | module | holds |
//! |---|---|
//! | [`dto`] | JSON shapes of results (serde; JSON Schema with the feature `schema`) and their decoding |
//! | [`params`] | the text forms: parsing of hex, addresses, out-points, block tags, amounts |
//! | [`market`] | the AI market's JSON shapes: jobs, providers, compute receipts and claims, measurements, models, events |
//! | [`chain`] | the typed chain reads the results are built from (status, locations, UTxOs, proofs) |
//! | [`methods`] | the method names |
//!
//! # Conventions (a contract; `docs/rpc.md` has the full reference)
//! Field names are camelCase; hashes, ids, keys and byte strings are
//! lowercase hex without `0x` (accepted with `0x` and in upper case on
//! input); amounts are decimal strings (they are 128-bit); counters are
//! JSON numbers. Every parser checks lengths before decoding and never
//! panics (property tests here, fuzz target in `node/rpc/fuzz`).
//!
//! # Example
//! ```
//! use aether_rpc_types::dto::ParamsDto;
//! let json = r#"{"chainId": 44670, "fees": {"base": "100000", "perByte": "1000", "perFuel": "1"},
//!                "minOutputCoin": "1000", "maxTxSize": 131072, "maxFuelPerTx": 50000000}"#;
//! let dto: ParamsDto = serde_json::from_str(json).unwrap();
//! let params = dto.parse().unwrap();
//! assert_eq!(params.fees.min_fee(300, 0).unwrap(), 400_000);
//! ```

pub mod chain;
pub mod dto;
pub mod market;
pub mod methods;
pub mod params;

pub use params::ParamError;
