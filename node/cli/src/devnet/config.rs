//! The files of a devnet: validator keys, node configurations and the
//! manifest. Pure: nothing here touches the disk or the network.
//!
//! # Ports
//! Node `i` of a devnet with base port `P` listens on `P + 10 i` (JSON-RPC,
//! HTTP and WebSocket), `P + 10 i + 1` (consensus P2P, QUIC over UDP) and
//! `P + 10 i + 2` (Prometheus metrics).
//!
//! # Key files (`node.key`, `bls.key`; mode 0600)
//! One line: the 32-byte secret as 64 lowercase hex digits, then `\n` (the
//! bare-hex form of [`aether_crypto::keyfile`] for the ed25519 node key;
//! the big-endian scalar of [`aether_crypto::bls::SecretKey::to_bytes`]
//! for the BLS key).
//!
//! # `config.toml`
//! ```toml
//! data_dir = "data"
//! rpc_addr = "127.0.0.1:<P + 10 i>"
//! metrics_addr = "127.0.0.1:<P + 10 i + 2>"
//! block_time_ms = 200
//!
//! [genesis]
//! chain_id = <chain id>
//! timestamp_ms = <the same for every node>
//! validator_key_file = "node.key"
//!
//! [[genesis.allocations]]  # one per validator j: its node key's coins (fees of its reports)
//! address = "key:<64 hex: key hash of validator j's node key>"
//! coin = "<1000 AIC in base units>"
//!
//! [[genesis.validators]]   # one per validator j, in index order, identical in every file
//! node_key = "<64 hex: ed25519 public key>"
//! bls_key = "<96 hex: BLS public key>"
//! proof_of_possession = "<192 hex: BLS proof of possession>"
//! stake = 10000
//!
//! [consensus]
//! bls_key_file = "bls.key"
//! listen = "127.0.0.1:<P + 10 i + 1>"
//! peers = ["127.0.0.1:<P + 1>", "127.0.0.1:<P + 11>", ...]   # validator j's P2P address at position j
//! base_timeout_ms = <base timeout>
//! ```
//! Invariants: every node's file lists the same validators and the same
//! peers in the same order, that order is ascending validator id (the
//! node's index order, see `docs/node.md`: keys are generated, then sorted),
//! and node `i` is validator `i` (its `node.key`
//! is the secret of `genesis.validators[i].node_key`, its `listen` address
//! is `peers[i]`).

use aether_crypto::bls;
use aether_crypto::ed25519::Keypair;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Validators of `aether devnet up` unless `--validators` says otherwise.
pub(crate) const DEFAULT_VALIDATORS: u16 = 4;
/// First port unless `--base-port` says otherwise.
pub(crate) const DEFAULT_BASE_PORT: u16 = 8545;
/// Chain id unless `--chain-id` says otherwise.
pub(crate) const DEFAULT_CHAIN_ID: u32 = 7357;
/// Consensus base timeout unless `--base-timeout-ms` says otherwise.
pub(crate) const DEFAULT_BASE_TIMEOUT_MS: u64 = 1000;
/// Most validators of one devnet: every node runs on this machine.
pub(crate) const MAX_VALIDATORS: u16 = 100;
/// Longest wait for transactions before a leader proposes an empty block,
/// unless `--block-time-ms` says otherwise.
pub(crate) const BLOCK_TIME_MS: u64 = 200;
/// Stake of every devnet validator in AIC (equal weights; the ledger's
/// minimum self-bond is 1,000 AIC).
pub(crate) const STAKE: u64 = 10_000;
/// AIC each validator's node key holds at genesis: what pays the fees of
/// the equivocation reports the node submits.
pub(crate) const NODE_KEY_AIC: u128 = 1_000;
/// Ports reserved per node (three are used).
const PORTS_PER_NODE: u16 = 10;

/// The addresses of one node (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ports {
    /// JSON-RPC (HTTP and WebSocket).
    pub rpc: u16,
    /// Consensus P2P (QUIC, UDP).
    pub p2p: u16,
    /// Prometheus metrics.
    pub metrics: u16,
}

/// The shape of a devnet: what `up` was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Number of validators (= nodes).
    pub validators: u16,
    /// Port of node 0's RPC.
    pub base_port: u16,
    /// Chain id.
    pub chain_id: u32,
    /// Consensus base timeout in milliseconds.
    pub base_timeout_ms: u64,
    /// Longest wait for transactions before an empty block, milliseconds.
    pub block_time_ms: u64,
    /// Injected delay of every frame a node sends, milliseconds (0: none).
    pub link_delay_ms: u64,
}

impl Layout {
    /// The ports of node `i`; `None` past the last port.
    pub fn ports(&self, i: u16) -> Option<Ports> {
        let rpc = i
            .checked_mul(PORTS_PER_NODE)
            .and_then(|o| self.base_port.checked_add(o))?;
        Some(Ports {
            rpc,
            p2p: rpc.checked_add(1)?,
            metrics: rpc.checked_add(2)?,
        })
    }

    /// Why this layout cannot be run, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.validators == 0 || self.validators > MAX_VALIDATORS {
            return Err(format!(
                "--validators must be between 1 and {MAX_VALIDATORS}, not {}",
                self.validators
            ));
        }
        if self.base_port == 0 {
            return Err("--base-port must be at least 1".into());
        }
        if self.ports(self.validators - 1).is_none() {
            return Err(format!(
                "--base-port {} leaves no room for {} nodes ({PORTS_PER_NODE} ports each) below 65536",
                self.base_port, self.validators
            ));
        }
        if self.base_timeout_ms == 0 {
            return Err("--base-timeout-ms must be at least 1".into());
        }
        Ok(())
    }

    /// The P2P address of every validator, in index order.
    pub fn peers(&self) -> Vec<String> {
        (0..self.validators)
            .filter_map(|i| self.ports(i))
            .map(|p| loopback(p.p2p))
            .collect()
    }
}

/// `127.0.0.1:<port>`.
pub(crate) fn loopback(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// The secret keys of one validator.
#[derive(Clone, Debug)]
pub(crate) struct ValidatorKeys {
    /// The ed25519 node (validator) key.
    pub node: Keypair,
    /// The BLS consensus key.
    pub bls: bls::SecretKey,
}

/// The public part of a validator, in the config's hex forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ValidatorPublic {
    /// ed25519 public key, 64 hex digits.
    pub node_key: String,
    /// BLS public key, 96 hex digits.
    pub bls_key: String,
    /// BLS proof of possession, 192 hex digits.
    pub proof_of_possession: String,
    /// Key hash of the node key (its address), 64 hex digits.
    pub node_key_hash: String,
}

impl ValidatorKeys {
    /// Fresh random keys.
    pub fn generate(rng: &mut (impl RngCore + rand::CryptoRng)) -> Self {
        let node = Keypair::generate(rng);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        ValidatorKeys {
            node,
            bls: bls::SecretKey::from_seed(&seed),
        }
    }

    /// The public keys and proof of possession.
    pub fn public(&self) -> ValidatorPublic {
        ValidatorPublic {
            node_key: hex::encode(self.node.public_key().0),
            bls_key: hex::encode(self.bls.public_key().to_bytes()),
            proof_of_possession: hex::encode(self.bls.proof_of_possession().to_bytes()),
            node_key_hash: hex::encode(self.node.key_hash().0),
        }
    }

    /// The text of `node.key`.
    pub fn node_key_file(&self) -> String {
        format!("{}\n", hex::encode(self.node.secret_bytes()))
    }

    /// The text of `bls.key`.
    pub fn bls_key_file(&self) -> String {
        format!("{}\n", hex::encode(self.bls.to_bytes()))
    }
}

/// The `config.toml` of node `i` (see the module docs for the format).
/// `validators` are every validator's public keys in index order.
pub(crate) fn node_config(
    layout: &Layout,
    i: u16,
    timestamp_ms: u64,
    validators: &[ValidatorPublic],
) -> Result<String, String> {
    let ports = layout
        .ports(i)
        .ok_or_else(|| format!("node {i} has no ports below 65536"))?;
    let mut text = String::new();
    // `write!` into a String cannot fail.
    let _ = writeln!(text, "data_dir = \"data\"");
    let _ = writeln!(text, "rpc_addr = \"{}\"", loopback(ports.rpc));
    let _ = writeln!(text, "metrics_addr = \"{}\"", loopback(ports.metrics));
    let _ = writeln!(text, "block_time_ms = {}", layout.block_time_ms);
    let _ = writeln!(text);
    let _ = writeln!(text, "[genesis]");
    let _ = writeln!(text, "chain_id = {}", layout.chain_id);
    let _ = writeln!(text, "timestamp_ms = {timestamp_ms}");
    let _ = writeln!(text, "validator_key_file = \"node.key\"");
    for v in validators {
        let _ = writeln!(text);
        let _ = writeln!(text, "[[genesis.allocations]]");
        let _ = writeln!(text, "address = \"key:{}\"", v.node_key_hash);
        let _ = writeln!(
            text,
            "coin = \"{}\"",
            NODE_KEY_AIC * aether_types::BASE_UNITS_PER_AIC
        );
    }
    for v in validators {
        let _ = writeln!(text);
        let _ = writeln!(text, "[[genesis.validators]]");
        let _ = writeln!(text, "node_key = \"{}\"", v.node_key);
        let _ = writeln!(text, "bls_key = \"{}\"", v.bls_key);
        let _ = writeln!(text, "proof_of_possession = \"{}\"", v.proof_of_possession);
        let _ = writeln!(text, "stake = {STAKE}");
    }
    let peers: Vec<String> = layout.peers().iter().map(|p| format!("\"{p}\"")).collect();
    let _ = writeln!(text);
    let _ = writeln!(text, "[consensus]");
    let _ = writeln!(text, "bls_key_file = \"bls.key\"");
    let _ = writeln!(text, "listen = \"{}\"", loopback(ports.p2p));
    let _ = writeln!(text, "peers = [{}]", peers.join(", "));
    let _ = writeln!(text, "base_timeout_ms = {}", layout.base_timeout_ms);
    // `aether devnet partition` / `heal` (RPC on loopback only).
    let _ = writeln!(text, "fault_injection = true");
    if layout.link_delay_ms > 0 {
        let _ = writeln!(text, "link_delay_ms = {}", layout.link_delay_ms);
    }
    Ok(text)
}

/// `DIR/devnet.json`: what `up` created, read by every other subcommand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// Number of validators (= nodes).
    pub validators: u16,
    /// Port of node 0's RPC.
    pub base_port: u16,
    /// Chain id.
    pub chain_id: u32,
    /// Consensus base timeout in milliseconds.
    pub base_timeout_ms: u64,
    /// Longest wait for transactions before an empty block, milliseconds.
    #[serde(default = "default_block_time")]
    pub block_time_ms: u64,
    /// Injected link delay, milliseconds.
    #[serde(default)]
    pub link_delay_ms: u64,
    /// Genesis timestamp (ms since the Unix epoch).
    pub genesis_timestamp_ms: u64,
    /// The nodes, in index order.
    pub nodes: Vec<ManifestNode>,
}

/// One node of [`Manifest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ManifestNode {
    /// Validator index.
    pub index: u16,
    /// `http://127.0.0.1:<rpc port>`.
    pub rpc_url: String,
    /// `127.0.0.1:<p2p port>` (UDP).
    pub p2p_addr: String,
    /// `127.0.0.1:<metrics port>`.
    pub metrics_addr: String,
    /// The node's directory (`DIR/node-<index>`).
    pub dir: PathBuf,
    /// Hex of the node's ed25519 public key.
    pub node_key: String,
}

impl Manifest {
    /// The manifest of `layout` with nodes in `dir/node-<i>`.
    pub fn new(
        layout: &Layout,
        dir: &std::path::Path,
        genesis_timestamp_ms: u64,
        validators: &[ValidatorPublic],
    ) -> Result<Manifest, String> {
        let nodes = validators
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let index = u16::try_from(i).map_err(|_| "too many validators".to_string())?;
                let ports = layout
                    .ports(index)
                    .ok_or_else(|| format!("node {index} has no ports below 65536"))?;
                Ok(ManifestNode {
                    index,
                    rpc_url: format!("http://{}", loopback(ports.rpc)),
                    p2p_addr: loopback(ports.p2p),
                    metrics_addr: loopback(ports.metrics),
                    dir: dir.join(node_dir_name(index)),
                    node_key: v.node_key.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Manifest {
            validators: layout.validators,
            base_port: layout.base_port,
            chain_id: layout.chain_id,
            base_timeout_ms: layout.base_timeout_ms,
            block_time_ms: layout.block_time_ms,
            link_delay_ms: layout.link_delay_ms,
            genesis_timestamp_ms,
            nodes,
        })
    }

    /// The layout the manifest was made from.
    pub fn layout(&self) -> Layout {
        Layout {
            validators: self.validators,
            base_port: self.base_port,
            chain_id: self.chain_id,
            base_timeout_ms: self.base_timeout_ms,
            block_time_ms: self.block_time_ms,
            link_delay_ms: self.link_delay_ms,
        }
    }
}

fn default_block_time() -> u64 {
    BLOCK_TIME_MS
}

/// `node-<i>`.
pub(crate) fn node_dir_name(i: u16) -> String {
    format!("node-{i}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn layout(validators: u16) -> Layout {
        Layout {
            validators,
            base_port: 8545,
            chain_id: 7357,
            base_timeout_ms: 1000,
            block_time_ms: BLOCK_TIME_MS,
            link_delay_ms: 0,
        }
    }

    fn keys(n: u16) -> Vec<ValidatorKeys> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        (0..n).map(|_| ValidatorKeys::generate(&mut rng)).collect()
    }

    fn parse(text: &str) -> toml::Table {
        toml::from_str(text).expect("the generated config is TOML")
    }

    fn s(v: &toml::Value) -> &str {
        v.as_str().expect("a string")
    }

    #[test]
    fn configs_agree_on_validators_and_peers_and_differ_in_ports() {
        let layout = layout(4);
        let keys = keys(4);
        let public: Vec<ValidatorPublic> = keys.iter().map(ValidatorKeys::public).collect();
        let tables: Vec<toml::Table> = (0..4)
            .map(|i| parse(&node_config(&layout, i, 1_700_000_000_000, &public).unwrap()))
            .collect();
        let expected_peers: Vec<toml::Value> = [8546, 8556, 8566, 8576]
            .iter()
            .map(|p| toml::Value::String(format!("127.0.0.1:{p}")))
            .collect();
        for (i, t) in tables.iter().enumerate() {
            let rpc = 8545 + 10 * i;
            assert_eq!(s(&t["data_dir"]), "data");
            assert_eq!(s(&t["rpc_addr"]), format!("127.0.0.1:{rpc}"));
            assert_eq!(s(&t["metrics_addr"]), format!("127.0.0.1:{}", rpc + 2));
            assert_eq!(t["block_time_ms"].as_integer(), Some(200));
            let g = t["genesis"].as_table().unwrap();
            assert_eq!(g["chain_id"].as_integer(), Some(7357));
            assert_eq!(g["timestamp_ms"].as_integer(), Some(1_700_000_000_000));
            assert_eq!(s(&g["validator_key_file"]), "node.key");
            let validators = g["validators"].as_array().unwrap();
            assert_eq!(validators.len(), 4);
            for (j, v) in validators.iter().enumerate() {
                assert_eq!(s(&v["node_key"]), public[j].node_key);
                assert_eq!(s(&v["node_key"]).len(), 64);
                assert_eq!(s(&v["bls_key"]), public[j].bls_key);
                assert_eq!(s(&v["bls_key"]).len(), 96);
                assert_eq!(s(&v["proof_of_possession"]).len(), 192);
                assert_eq!(v["stake"].as_integer(), Some(i64::try_from(STAKE).unwrap()));
            }
            // Every file lists the same validators in the same order.
            assert_eq!(g["validators"], tables[0]["genesis"]["validators"]);
            // Each node key is funded (its equivocation reports' fees).
            let allocations = g["allocations"].as_array().unwrap();
            assert_eq!(allocations.len(), 4);
            for (j, a) in allocations.iter().enumerate() {
                let hash = hex::encode(keys[j].node.key_hash().0);
                assert_eq!(s(&a["address"]), format!("key:{hash}"));
                assert_eq!(
                    s(&a["coin"]),
                    (NODE_KEY_AIC * aether_types::BASE_UNITS_PER_AIC).to_string()
                );
            }
            let c = t["consensus"].as_table().unwrap();
            assert_eq!(s(&c["bls_key_file"]), "bls.key");
            assert_eq!(s(&c["listen"]), format!("127.0.0.1:{}", rpc + 1));
            assert_eq!(c["peers"].as_array().unwrap(), &expected_peers);
            // A node's listen address is its own position in the peers.
            assert_eq!(c["peers"][i], c["listen"]);
            assert_eq!(c["base_timeout_ms"].as_integer(), Some(1000));
        }
    }

    #[test]
    fn key_files_hold_the_secrets_that_match_the_public_keys() {
        let k = &keys(1)[0];
        let node_file = k.node_key_file();
        assert_eq!(node_file.len(), 65);
        assert!(node_file.ends_with('\n'));
        let node = aether_crypto::keyfile::parse_secret_key(&node_file).unwrap();
        assert_eq!(hex::encode(node.public_key().0), k.public().node_key);
        let bls_file = k.bls_key_file();
        assert_eq!(bls_file.len(), 65);
        let bytes: [u8; 32] = hex::decode(bls_file.trim()).unwrap().try_into().unwrap();
        let bls = bls::SecretKey::from_bytes(&bytes).unwrap();
        assert_eq!(hex::encode(bls.public_key().to_bytes()), k.public().bls_key);
        // The proof of possession verifies against the public key.
        let pop: [u8; 96] = hex::decode(&k.public().proof_of_possession)
            .unwrap()
            .try_into()
            .unwrap();
        bls.public_key()
            .verify_proof_of_possession(&bls::Signature::from_bytes(&pop).unwrap())
            .unwrap();
    }

    #[test]
    fn layouts_that_do_not_fit_are_refused() {
        assert!(layout(4).check().is_ok());
        assert!(layout(0).check().unwrap_err().contains("--validators"));
        assert!(layout(101).check().unwrap_err().contains("--validators"));
        let high = Layout {
            base_port: 65_510,
            ..layout(4)
        };
        assert!(high.check().unwrap_err().contains("--base-port"));
        // The last node's metrics port is exactly 65535: fits.
        let edge = Layout {
            base_port: 65_533 - 30,
            ..layout(4)
        };
        assert!(edge.check().is_ok(), "{:?}", edge.check());
        assert_eq!(edge.ports(3).unwrap().metrics, 65_535);
        let zero = Layout {
            base_timeout_ms: 0,
            ..layout(4)
        };
        assert!(zero.check().is_err());
    }

    #[test]
    fn the_manifest_names_each_node_dir_and_address() {
        let layout = layout(3);
        let public: Vec<ValidatorPublic> = keys(3).iter().map(ValidatorKeys::public).collect();
        let m = Manifest::new(&layout, std::path::Path::new("/d"), 5, &public).unwrap();
        assert_eq!(m.layout(), layout);
        assert_eq!(m.nodes[2].rpc_url, "http://127.0.0.1:8565");
        assert_eq!(m.nodes[2].p2p_addr, "127.0.0.1:8566");
        assert_eq!(m.nodes[2].dir, PathBuf::from("/d/node-2"));
        let back: Manifest = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
