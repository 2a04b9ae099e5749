//! The node's configuration file (TOML) and its defaults.
//!
//! Every key is optional; an unknown key is an error (a typo must not be
//! silently ignored). The full format is in `docs/node.md`:
//!
//! ```toml
//! data_dir = "/var/lib/aether"        # RocksDB store and node files
//! rpc_addr = "127.0.0.1:8545"         # JSON-RPC, HTTP and WebSocket
//! metrics_addr = "127.0.0.1:9615"     # Prometheus text format at /metrics; "" disables
//! block_time_ms = 500                 # one block per interval (empty blocks included)
//! max_block_txs = 10000
//! max_block_bytes = 8388608
//! sync_writes = true                  # fsync every commit (crash safety)
//!
//! [mempool]
//! max_txs = 50000
//! max_bytes = 67108864
//!
//! [genesis]
//! chain_id = 1
//! timestamp_ms = 0
//! dev_accounts = 16                   # well-known dev accounts (aether keys dev)
//! validator = "<hex public key>"      # default: the dev validator
//! validator_key_file = "validator.key" # the validator's secret key (hex); required unless dev
//! [[genesis.allocations]]
//! address = "key:<hex>"
//! coin = "1000000000000"
//! ```

use crate::error::NodeError;
use crate::genesis::{
    Allocation, DEV_ACCOUNTS, Genesis, GenesisMarket, GenesisValidator, dev_validator_key,
};
use aether_crypto::ed25519::Keypair;
use aether_ledger::ProtocolParams;
use aether_mempool::MempoolConfig;
use aether_types::{BlsPublicKeyBytes, BlsSignatureBytes, ChainId, PublicKey, ValidatorId};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Default JSON-RPC address.
pub const DEFAULT_RPC_ADDR: &str = aether_rpc::DEFAULT_RPC_ADDR;
/// Default Prometheus address.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9615";
/// Default block interval.
pub const DEFAULT_BLOCK_TIME_MS: u64 = 500;

/// The file format (see the module docs).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// JSON-RPC address.
    pub rpc_addr: Option<String>,
    /// Prometheus address; empty disables the exporter.
    pub metrics_addr: Option<String>,
    /// Block interval in milliseconds.
    pub block_time_ms: Option<u64>,
    /// Most transactions per block.
    pub max_block_txs: Option<usize>,
    /// Most transaction bytes per block.
    pub max_block_bytes: Option<usize>,
    /// fsync every commit.
    pub sync_writes: Option<bool>,
    /// Mempool bounds.
    #[serde(default)]
    pub mempool: MempoolSection,
    /// Genesis.
    #[serde(default)]
    pub genesis: GenesisSection,
    /// Multi-validator consensus (needs `[[genesis.validators]]`).
    pub consensus: Option<ConsensusSection>,
}

/// `[consensus]`: this validator's consensus key and its network.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusSection {
    /// File holding the BLS secret key (64 hex characters).
    pub bls_key_file: PathBuf,
    /// QUIC (UDP) address to listen on.
    pub listen: String,
    /// P2P address of every validator, in the genesis's validator order
    /// (this node's own entry included; it is not dialled).
    pub peers: Vec<String>,
    /// First round timeout in milliseconds (default 1000).
    pub base_timeout_ms: Option<u64>,
    /// Cap of the backed-off round timeout in milliseconds (default 30000).
    pub max_timeout_ms: Option<u64>,
    /// Extra delay of every frame this node sends, in milliseconds (fault
    /// injection for loopback tests and benchmarks of a WAN-like network;
    /// default 0).
    pub link_delay_ms: Option<u64>,
    /// Serve `aether_debugSetFaults` on the RPC port, so partitions, delay
    /// and loss can be changed while the node runs (test networks only:
    /// anyone who reaches the RPC port can then cut this node off; default
    /// false).
    pub fault_injection: Option<bool>,
}

/// One `[[genesis.validators]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEntry {
    /// ed25519 node key, hex.
    pub node_key: String,
    /// BLS public key, hex (48 bytes).
    pub bls_key: String,
    /// Proof of possession of the BLS key, hex (96 bytes).
    pub proof_of_possession: String,
    /// Stake (voting weight).
    pub stake: u64,
}

/// This node's part in multi-validator consensus (from `[consensus]`).
#[derive(Clone)]
pub struct ConsensusConfig {
    /// The BLS secret key.
    pub bls_key: aether_crypto::bls::SecretKey,
    /// QUIC listen address.
    pub listen: SocketAddr,
    /// P2P address of each validator, by index.
    pub peers: Vec<SocketAddr>,
    /// First round timeout, milliseconds.
    pub base_timeout_ms: u64,
    /// Cap of the round timeout, milliseconds.
    pub max_timeout_ms: u64,
    /// Injected delay of every outgoing frame, milliseconds (0: none).
    pub link_delay_ms: u64,
    /// Serve `aether_debugSetFaults` (runtime fault control).
    pub fault_injection: bool,
}

impl std::fmt::Debug for ConsensusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsensusConfig")
            .field("listen", &self.listen)
            .field("peers", &self.peers)
            .field("base_timeout_ms", &self.base_timeout_ms)
            .finish_non_exhaustive()
    }
}

fn parse_hex_exact<const N: usize>(what: &str, text: &str) -> Result<[u8; N], NodeError> {
    let bytes =
        hex::decode(text.trim().trim_start_matches("0x")).map_err(|e| NodeError::Config {
            reason: format!("{what}: not hex: {e}"),
        })?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| NodeError::Config {
        reason: format!("{what}: expected {N} bytes, got {}", bytes.len()),
    })
}

/// Reads a BLS secret key file: 64 hex characters (whitespace around is
/// ignored).
pub fn read_bls_key_file(path: &Path) -> Result<aether_crypto::bls::SecretKey, NodeError> {
    let text = std::fs::read_to_string(path).map_err(|e| NodeError::Config {
        reason: format!("cannot read BLS key file {}: {e}", path.display()),
    })?;
    let bytes = parse_hex_exact::<32>(&format!("BLS key file {}", path.display()), &text)?;
    aether_crypto::bls::SecretKey::from_bytes(&bytes).map_err(|e| NodeError::Config {
        reason: format!("BLS key file {}: {e}", path.display()),
    })
}

impl ConfigFile {
    /// Reads and parses a configuration file (not yet validated: see
    /// [`NodeConfig::from_parsed`]).
    pub fn read(path: &Path) -> Result<ConfigFile, NodeError> {
        let text = std::fs::read_to_string(path).map_err(|e| NodeError::Config {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        parse_toml(&text).map_err(|e| NodeError::Config {
            reason: format!("{}: {e}", path.display()),
        })
    }
}

/// `[mempool]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolSection {
    /// Most pooled transactions.
    pub max_txs: Option<usize>,
    /// Most pooled bytes.
    pub max_bytes: Option<usize>,
}

/// `[genesis]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisSection {
    /// Chain id.
    pub chain_id: Option<u32>,
    /// Block 0 timestamp.
    pub timestamp_ms: Option<u64>,
    /// Funded dev accounts.
    pub dev_accounts: Option<u32>,
    /// Validator public key (hex).
    pub validator: Option<String>,
    /// File holding the validator's secret key (hex), relative to the
    /// config file.
    pub validator_key_file: Option<PathBuf>,
    /// Extra allocations.
    #[serde(default)]
    pub allocations: Vec<AllocationEntry>,
    /// Market parameters.
    #[serde(default)]
    pub market: MarketSection,
    /// The first validator set of a multi-validator chain.
    #[serde(default)]
    pub validators: Vec<ValidatorEntry>,
}

/// `[genesis.market]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSection {
    /// Governance public keys (hex ed25519).
    pub governance: Option<Vec<String>>,
    /// Governance signatures needed.
    pub governance_threshold: Option<u32>,
    /// Trust root names.
    pub trust_roots: Option<Vec<String>>,
    /// Minimum SNP REPORTED_TCB: bootloader, TEE, SNP, microcode, FMC.
    pub snp_min_tcb: Option<[u8; 5]>,
    /// Challenge window in blocks.
    pub challenge_window: Option<u64>,
}

fn apply_market_section(genesis: &mut Genesis, m: &MarketSection) -> Result<(), NodeError> {
    if let Some(keys) = &m.governance {
        let mut parsed = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let bytes = aether_rpc::params::parse_hash32("governance key", k).map_err(|e| {
                NodeError::Config {
                    reason: format!("genesis.market.governance[{i}]: {e}"),
                }
            })?;
            parsed.push(PublicKey(bytes));
        }
        parsed.sort();
        genesis.market.governance = parsed;
    }
    if let Some(t) = m.governance_threshold {
        genesis.market.governance_threshold = t;
    }
    if let Some(roots) = &m.trust_roots {
        genesis.market.trust_roots = roots.clone();
    }
    if let Some(tcb) = m.snp_min_tcb {
        genesis.market.snp_min_tcb = tcb;
    }
    if let Some(w) = m.challenge_window {
        if w == 0 {
            return Err(NodeError::Config {
                reason: "genesis.market.challenge_window must be at least 1".into(),
            });
        }
        genesis.market.challenge_window = w;
    }
    Ok(())
}

/// `[[genesis.allocations]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationEntry {
    /// `key:<hex>` or `script:<hex>`.
    pub address: String,
    /// AIC base units, as a decimal string (u128 does not fit TOML integers).
    pub coin: String,
}

/// A validated node configuration.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Data directory (the store lives in `<data_dir>/db`).
    pub data_dir: PathBuf,
    /// JSON-RPC address.
    pub rpc_addr: SocketAddr,
    /// Prometheus address (`None`: disabled).
    pub metrics_addr: Option<SocketAddr>,
    /// Block interval.
    pub block_time_ms: u64,
    /// Most transactions per block.
    pub max_block_txs: usize,
    /// Most transaction bytes per block.
    pub max_block_bytes: usize,
    /// fsync every commit.
    pub sync_writes: bool,
    /// Mempool bounds.
    pub mempool: MempoolConfig,
    /// The chain's genesis.
    pub genesis: Genesis,
    /// The validator's key (must match `genesis.validator`).
    pub validator_key: Keypair,
    /// Ledger rules.
    pub params: ProtocolParams,
    /// Multi-validator consensus (`None`: the single-validator producer).
    pub consensus: Option<ConsensusConfig>,
}

fn parse_addr(what: &str, text: &str) -> Result<SocketAddr, NodeError> {
    text.parse().map_err(|e| NodeError::Config {
        reason: format!("{what} {text:?} is not an IP:port address: {e}"),
    })
}

impl NodeConfig {
    /// The dev configuration: dev genesis, dev validator, data in `data_dir`.
    pub fn dev(data_dir: impl Into<PathBuf>) -> NodeConfig {
        let mut params = ProtocolParams::dev();
        let genesis = Genesis::dev(params.chain_id, DEV_ACCOUNTS);
        params.market = genesis
            .market_params()
            .expect("the dev genesis's market parameters are valid");
        NodeConfig {
            data_dir: data_dir.into(),
            rpc_addr: DEFAULT_RPC_ADDR.parse().expect("constant address"),
            metrics_addr: Some(DEFAULT_METRICS_ADDR.parse().expect("constant address")),
            block_time_ms: DEFAULT_BLOCK_TIME_MS,
            max_block_txs: 10_000,
            max_block_bytes: 8 << 20,
            sync_writes: true,
            mempool: MempoolConfig::default(),
            genesis,
            validator_key: dev_validator_key(),
            params,
            consensus: None,
        }
    }

    /// Reads and validates a configuration file. `dev` starts from the dev
    /// configuration (dev genesis and validator unless the file overrides
    /// them); otherwise the file must name the validator key.
    pub fn from_file(path: &Path, dev: bool) -> Result<NodeConfig, NodeError> {
        let base = path.parent().unwrap_or(Path::new("."));
        NodeConfig::from_parsed(ConfigFile::read(path)?, base, dev)
    }

    /// Validates a parsed file; relative paths are resolved against `base`.
    pub fn from_parsed(file: ConfigFile, base: &Path, dev: bool) -> Result<NodeConfig, NodeError> {
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let data_dir = match file.data_dir {
            Some(d) => resolve(d),
            None if dev => std::env::temp_dir().join("aether-dev"),
            None => {
                return Err(NodeError::Config {
                    reason: "data_dir is required (or use --dev)".into(),
                });
            }
        };
        let mut config = NodeConfig::dev(data_dir);
        if let Some(a) = &file.rpc_addr {
            config.rpc_addr = parse_addr("rpc_addr", a)?;
        }
        if let Some(a) = &file.metrics_addr {
            config.metrics_addr = if a.is_empty() {
                None
            } else {
                Some(parse_addr("metrics_addr", a)?)
            };
        }
        if let Some(ms) = file.block_time_ms {
            config.block_time_ms = ms;
        }
        if let Some(n) = file.max_block_txs {
            config.max_block_txs = n;
        }
        if let Some(n) = file.max_block_bytes {
            config.max_block_bytes = n;
        }
        if let Some(s) = file.sync_writes {
            config.sync_writes = s;
        }
        if let Some(n) = file.mempool.max_txs {
            config.mempool.max_txs = n;
        }
        if let Some(n) = file.mempool.max_bytes {
            config.mempool.max_bytes = n;
        }
        let g = file.genesis;
        let chain_id = ChainId(g.chain_id.unwrap_or(config.params.chain_id.0));
        config.params.chain_id = chain_id;
        let accounts = g.dev_accounts.unwrap_or(if dev { DEV_ACCOUNTS } else { 0 });
        let mut genesis = Genesis::dev(chain_id, accounts);
        if let Some(t) = g.timestamp_ms {
            genesis.timestamp_ms = t;
        }
        for (i, a) in g.allocations.iter().enumerate() {
            let address =
                aether_rpc::params::parse_address(&a.address).map_err(|e| NodeError::Config {
                    reason: format!("genesis.allocations[{i}].address: {e}"),
                })?;
            let coin = a.coin.parse::<u128>().map_err(|e| NodeError::Config {
                reason: format!("genesis.allocations[{i}].coin {:?}: {e}", a.coin),
            })?;
            genesis.allocations.push(Allocation { address, coin });
        }
        match g.validator_key_file {
            Some(f) => {
                let f = resolve(f);
                config.validator_key = read_key_file(&f)?;
            }
            None if dev => {}
            None => {
                return Err(NodeError::Config {
                    reason: "genesis.validator_key_file is required outside --dev".into(),
                });
            }
        }
        genesis.validator = match &g.validator {
            Some(hex_key) => PublicKey(
                aether_rpc::params::parse_hash32("genesis.validator", hex_key).map_err(|e| {
                    NodeError::Config {
                        reason: e.to_string(),
                    }
                })?,
            ),
            None => config.validator_key.public_key(),
        };
        for (i, v) in g.validators.iter().enumerate() {
            let what = |field: &str| format!("genesis.validators[{i}].{field}");
            genesis.validators.push(GenesisValidator {
                node_key: PublicKey(parse_hex_exact::<32>(&what("node_key"), &v.node_key)?),
                bls_key: BlsPublicKeyBytes(parse_hex_exact::<48>(&what("bls_key"), &v.bls_key)?),
                proof_of_possession: BlsSignatureBytes(parse_hex_exact::<96>(
                    &what("proof_of_possession"),
                    &v.proof_of_possession,
                )?),
                stake: v.stake,
            });
        }
        if !genesis.validators.is_empty() {
            // Block 0 names validator 0, set once the list is sorted below.
            if !genesis
                .validators
                .iter()
                .any(|v| v.node_key == config.validator_key.public_key())
            {
                return Err(NodeError::Config {
                    reason: "the validator key is not one of genesis.validators".into(),
                });
            }
        } else if genesis.validator != config.validator_key.public_key() {
            return Err(NodeError::Config {
                reason: "genesis.validator does not match the validator key".into(),
            });
        }
        config.consensus = match file.consensus {
            None => None,
            Some(_) if genesis.validators.is_empty() => {
                return Err(NodeError::Config {
                    reason: "[consensus] needs [[genesis.validators]]".into(),
                });
            }
            Some(c) => {
                let peers = c
                    .peers
                    .iter()
                    .enumerate()
                    .map(|(i, a)| parse_addr(&format!("consensus.peers[{i}]"), a))
                    .collect::<Result<Vec<_>, _>>()?;
                if peers.len() != genesis.validators.len() {
                    return Err(NodeError::Config {
                        reason: format!(
                            "consensus.peers has {} addresses for {} validators",
                            peers.len(),
                            genesis.validators.len()
                        ),
                    });
                }
                Some(ConsensusConfig {
                    bls_key: read_bls_key_file(&resolve(c.bls_key_file))?,
                    listen: parse_addr("consensus.listen", &c.listen)?,
                    peers,
                    base_timeout_ms: c.base_timeout_ms.unwrap_or(1_000),
                    max_timeout_ms: c.max_timeout_ms.unwrap_or(30_000),
                    link_delay_ms: c.link_delay_ms.unwrap_or(0),
                    fault_injection: c.fault_injection.unwrap_or(false),
                })
            }
        };
        if !genesis.validators.is_empty() && config.consensus.is_none() {
            return Err(NodeError::Config {
                reason: "a genesis with validators needs a [consensus] section".into(),
            });
        }
        if let Some(consensus) = config.consensus.as_mut() {
            // Index order is ascending validator id, the ledger's set order
            // (see `crate::genesis`); each peer address moves with its
            // validator.
            let mut pairs: Vec<(GenesisValidator, SocketAddr)> = genesis
                .validators
                .drain(..)
                .zip(consensus.peers.drain(..))
                .collect();
            pairs.sort_by_key(|(v, _)| ValidatorId::of(&v.bls_key));
            (genesis.validators, consensus.peers) = pairs.into_iter().unzip();
            // Block 0 names validator 0 (the same genesis on every node,
            // whatever order its file lists the validators in).
            if let Some(first) = genesis.validators.first() {
                genesis.validator = first.node_key;
            }
        }
        genesis.dev = dev;
        if !dev {
            genesis.market = GenesisMarket::production();
        }
        apply_market_section(&mut genesis, &g.market)?;
        config.params.market = genesis.market_params()?;
        if !genesis.validators.is_empty() {
            // The staking objects of block 0: bonds, keys (checked now,
            // not when the store is opened).
            genesis.outcome(&config.params.staking)?;
        }
        config.genesis = genesis;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), NodeError> {
        let bad = |reason: &str| {
            Err(NodeError::Config {
                reason: reason.to_string(),
            })
        };
        if self.block_time_ms == 0 || self.block_time_ms > 3_600_000 {
            return bad("block_time_ms must be between 1 and 3600000");
        }
        if self.max_block_txs == 0 {
            return bad("max_block_txs must be at least 1");
        }
        if self.max_block_bytes < aether_types::MAX_TX_LEN {
            return bad("max_block_bytes must hold at least one maximal transaction");
        }
        if self.max_block_bytes > aether_types::MAX_BLOCK_LEN {
            return bad("max_block_bytes exceeds the protocol's block size limit");
        }
        if self.mempool.max_txs == 0 || self.mempool.max_bytes == 0 {
            return bad("mempool bounds must be positive");
        }
        if self.genesis.chain_id != self.params.chain_id {
            return bad("genesis chain id differs from the ledger's");
        }
        Ok(())
    }

    /// Where the RocksDB store lives.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("db")
    }

    /// Where the model store lives (see [`crate::models`]).
    pub fn models_path(&self) -> PathBuf {
        self.data_dir.join("models")
    }
}

/// Parses TOML text into `T` (the node's configuration format).
fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

/// Reads a key file (see [`aether_crypto::keyfile`]).
pub fn read_key_file(path: &Path) -> Result<Keypair, NodeError> {
    aether_crypto::keyfile::read_key_file(path).map_err(|reason| NodeError::Config { reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{Address, BASE_UNITS_PER_AIC, KeyHash};

    fn parse(text: &str, dev: bool) -> Result<NodeConfig, NodeError> {
        let file: ConfigFile = parse_toml(text).map_err(|reason| NodeError::Config { reason })?;
        NodeConfig::from_parsed(file, Path::new("/etc/aether"), dev)
    }

    #[test]
    fn a_full_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("v.key");
        std::fs::write(&key, format!("{}\n", "07".repeat(32))).unwrap();
        let text = format!(
            r#"
            data_dir = "chain"
            rpc_addr = "0.0.0.0:9000"
            metrics_addr = ""
            block_time_ms = 250
            sync_writes = false
            [mempool]
            max_txs = 10
            [genesis]
            chain_id = 9
            validator_key_file = "{}"
            [[genesis.allocations]]
            address = "key:{}"
            coin = "5000000000"
            "#,
            key.display(),
            "ab".repeat(32)
        );
        let c = parse(&text, false).unwrap();
        assert_eq!(c.data_dir, Path::new("/etc/aether/chain"));
        assert_eq!(c.rpc_addr.port(), 9000);
        assert_eq!(c.metrics_addr, None);
        assert_eq!(c.block_time_ms, 250);
        assert!(!c.sync_writes);
        assert_eq!(c.mempool.max_txs, 10);
        assert_eq!(c.params.chain_id, ChainId(9));
        assert_eq!(c.genesis.chain_id, ChainId(9));
        assert_eq!(c.genesis.allocations.len(), 1);
        assert_eq!(
            c.genesis.allocations[0].address,
            Address::Key(KeyHash([0xab; 32]))
        );
        assert_eq!(c.genesis.allocations[0].coin, 5 * BASE_UNITS_PER_AIC);
        assert_eq!(
            c.genesis.validator,
            Keypair::from_secret_bytes(&[7; 32]).public_key()
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let cases = [
            ("data_dir = \"x\"\nblock_tme_ms = 5", "unknown field"),
            ("rpc_addr = \"localhost\"", "rpc_addr"),
            ("block_time_ms = 0", "block_time_ms"),
            ("[genesis]\nvalidator = \"00\"", "genesis.validator"),
            (
                "[[genesis.allocations]]\naddress = \"key:00\"\ncoin = \"1\"",
                "allocations[0].address",
            ),
            (
                "[[genesis.allocations]]\naddress = \"key:0000000000000000000000000000000000000000000000000000000000000000\"\ncoin = \"-1\"",
                "allocations[0].coin",
            ),
            ("max_block_bytes = 10", "max_block_bytes"),
        ];
        for (text, needle) in cases {
            let e = parse(text, true).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        // Outside dev a data dir and a validator key are required.
        let e = parse("", false).unwrap_err().to_string();
        assert!(e.contains("data_dir"), "{e}");
        let e = parse("data_dir = \"d\"", false).unwrap_err().to_string();
        assert!(e.contains("validator_key_file"), "{e}");
        // A validator that does not match the key.
        let e = parse(
            &format!("[genesis]\nvalidator = \"{}\"", "11".repeat(32)),
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("does not match"), "{e}");
    }

    /// A multi-validator file: its validators and consensus section are
    /// read; every inconsistency is refused with the field named.
    #[test]
    fn validators_and_consensus_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let node_keys: Vec<Keypair> = (1..=3u8)
            .map(|i| Keypair::from_secret_bytes(&[i; 32]))
            .collect();
        let bls: Vec<aether_crypto::bls::SecretKey> = (1..=3u8)
            .map(|i| aether_crypto::bls::SecretKey::from_seed(&[i; 32]))
            .collect();
        std::fs::write(
            dir.path().join("node.key"),
            format!("{}\n", "02".repeat(32)),
        )
        .unwrap();
        std::fs::write(dir.path().join("bls.key"), hex::encode(bls[1].to_bytes())).unwrap();
        let validators: String = node_keys
            .iter()
            .zip(&bls)
            .map(|(k, b)| {
                format!(
                    "[[genesis.validators]]\nnode_key = \"{}\"\nbls_key = \"{}\"\nproof_of_possession = \"{}\"\nstake = 10000\n",
                    hex::encode(k.public_key().0),
                    hex::encode(b.public_key().to_bytes()),
                    hex::encode(b.proof_of_possession().to_bytes()),
                )
            })
            .collect();
        let file = |consensus: &str, validators: &str| {
            format!(
                "data_dir = \"d\"\n{consensus}\n[genesis]\nvalidator_key_file = \"node.key\"\n{validators}"
            )
        };
        let consensus = "[consensus]\nbls_key_file = \"bls.key\"\nlisten = \"127.0.0.1:9001\"\npeers = [\"127.0.0.1:9000\", \"127.0.0.1:9001\", \"127.0.0.1:9002\"]\nlink_delay_ms = 50";
        let read = |text: &str| -> Result<NodeConfig, NodeError> {
            let file: ConfigFile =
                parse_toml(text).map_err(|reason| NodeError::Config { reason })?;
            NodeConfig::from_parsed(file, dir.path(), true)
        };
        let c = read(&file(consensus, &validators)).unwrap();
        assert_eq!(c.genesis.validators.len(), 3);
        assert_eq!(
            c.genesis.validator, c.genesis.validators[0].node_key,
            "block 0 names validator 0"
        );
        let cc = c.consensus.as_ref().unwrap();
        assert_eq!(cc.peers.len(), 3);
        // Index order is ascending validator id; each peer address moved
        // with its validator (file position k had port 9000 + k).
        let ids: Vec<ValidatorId> = c
            .genesis
            .validators
            .iter()
            .map(|v| ValidatorId::of(&v.bls_key))
            .collect();
        assert!(ids.is_sorted());
        for (v, addr) in c.genesis.validators.iter().zip(&cc.peers) {
            let k = node_keys
                .iter()
                .position(|n| n.public_key() == v.node_key)
                .unwrap();
            assert_eq!(addr.port(), 9000 + k as u16);
        }
        assert_eq!(cc.listen.port(), 9001);
        assert_eq!((cc.base_timeout_ms, cc.link_delay_ms), (1_000, 50));
        assert!(!cc.fault_injection, "off unless asked for");
        assert_eq!(cc.bls_key.public_key(), bls[1].public_key());
        // The same genesis (id) whichever validator's file it is read from,
        // and another one than the single-validator genesis.
        assert_ne!(c.genesis.id(), Genesis::dev(c.genesis.chain_id, 16).id());
        // The same genesis whatever order the file lists the validators
        // (and their peers) in: reversed, the same validators, peers and id.
        let entries: Vec<&str> = validators.split_inclusive("stake = 10000\n").collect();
        let reversed_validators: String = entries.iter().rev().copied().collect();
        let reversed_consensus = consensus.replace(
            "[\"127.0.0.1:9000\", \"127.0.0.1:9001\", \"127.0.0.1:9002\"]",
            "[\"127.0.0.1:9002\", \"127.0.0.1:9001\", \"127.0.0.1:9000\"]",
        );
        assert_ne!(reversed_consensus, consensus);
        let r = read(&file(&reversed_consensus, &reversed_validators)).unwrap();
        assert_eq!(r.genesis.validators, c.genesis.validators);
        assert_eq!(r.genesis.validator, c.genesis.validator);
        assert_eq!(r.consensus.as_ref().unwrap().peers, cc.peers);
        assert_eq!(r.genesis.id(), c.genesis.id());

        let two_peers = consensus.replace(", \"127.0.0.1:9002\"", "");
        let bad_key = validators
            .replacen("stake = 10000", "stake = 10000\n", 1)
            .replacen(
                &hex::encode(node_keys[0].public_key().0),
                &"ab".repeat(31),
                1,
            );
        let cases = [
            (
                file(&two_peers, &validators),
                "consensus.peers has 2 addresses for 3 validators",
            ),
            (
                file(consensus, ""),
                "[consensus] needs [[genesis.validators]]",
            ),
            (file("", &validators), "needs a [consensus] section"),
            (
                file(
                    consensus,
                    &validators.replacen("stake = 10000", "stake = 999", 1),
                ),
                "self-bond",
            ),
            (file(consensus, &bad_key), "genesis.validators[0].node_key"),
            (
                file(
                    &consensus.replace("127.0.0.1:9001\"\npeers", "nowhere\"\npeers"),
                    &validators,
                ),
                "consensus.listen",
            ),
            (
                file(
                    consensus,
                    &validators
                        .replace(&hex::encode(node_keys[1].public_key().0), &"cd".repeat(32)),
                ),
                "not one of genesis.validators",
            ),
        ];
        for (text, needle) in cases {
            let e = read(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }
}
