//! `aether query`: read the chain; `proof` also verifies what it reads.

use crate::amount::{format_aic, format_aic_text};
use crate::{CliError, ClientArgs, output};
use aether_rpc_types::dto::*;
use aether_rpc_types::params::{
    BlockParam, ParamError, format_address, parse_address, parse_hash32, parse_out_point_text,
    parse_tx_id,
};
use aether_storage::{StateProof, verify_proof};
use aether_types::{BlockHash, Digest};
use serde::Serialize;

/// `aether query ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Height, finalized height, state root, version, mempool.
    Status,
    /// Balance of an address (`key:<hex>` or `script:<hex>`).
    Balance {
        /// The address.
        address: String,
    },
    /// Unspent outputs of an address.
    Utxos {
        /// The address.
        address: String,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// A block by height, `latest`, `finalized` or hash.
    Block {
        /// Height, tag or 64-hex hash.
        #[arg(default_value = "latest")]
        block: String,
        /// Include decoded transactions.
        #[arg(long)]
        full: bool,
    },
    /// A transaction (pending or included) and its receipt.
    Tx {
        /// The transaction id.
        id: String,
    },
    /// An inclusion or exclusion proof of an out-point, verified against
    /// the state root of the block header it names.
    Proof {
        /// `<tx id>#<index>`.
        out_point: String,
    },
    /// Registered images and their launch measurements.
    Measurements {
        /// Only this role (`worker` or `validator`).
        #[arg(long)]
        role: Option<String>,
        /// Only this TEE (`snp` or `tdx`).
        #[arg(long)]
        tee: Option<String>,
        /// Include revoked images.
        #[arg(long)]
        include_revoked: bool,
    },
    /// Registered models.
    Models,
    /// Registered AI compute providers.
    Providers,
}

#[derive(Serialize)]
struct TxResult {
    transaction: Option<TransactionDto>,
    receipt: Option<ReceiptDto>,
}

#[derive(Serialize)]
struct ProofResult {
    #[serde(flatten)]
    proof: StateProofDto,
    verified: bool,
    header_state_root: String,
}

/// An argument the node would refuse: a failed request (exit 1), as when
/// the node itself refused it.
fn refused(e: ParamError) -> CliError {
    CliError::Failed(e.to_string())
}

pub(crate) fn run(cmd: Command, args: &ClientArgs) -> Result<(), CliError> {
    let client = args.connect()?;
    match cmd {
        Command::Measurements {
            role,
            tee,
            include_revoked,
        } => {
            crate::market::query_measurements(
                args,
                role.as_deref(),
                tee.as_deref(),
                include_revoked,
            )?;
        }
        Command::Models => crate::market::query_models(args)?,
        Command::Providers => crate::market::query_providers(args)?,
        Command::Status => {
            let s = client.status()?;
            output::print(args.json, &s, || {
                println!("chain id         {}", s.chain_id);
                println!("height           {}", s.height);
                println!("head             {}", s.head_hash);
                println!("finalized height {}", s.finalized_height);
                println!("state root       {}", s.state_root);
                println!(
                    "mempool          {} txs, {} bytes",
                    s.mempool.txs, s.mempool.bytes
                );
                println!("version          {}", s.version);
            });
        }
        Command::Balance { address } => {
            let b = client.balance(&parse_address(&address).map_err(refused)?)?;
            output::print(args.json, &b, || {
                println!(
                    "{} AIC in {} outputs at height {}",
                    format_aic_text(&b.coin),
                    b.utxo_count,
                    b.height
                );
                for a in &b.assets {
                    println!("  {} {}.{}", a.quantity, a.policy_id, a.name);
                }
            });
        }
        Command::Utxos { address, limit } => {
            let u = client.utxos(&parse_address(&address).map_err(refused)?, Some(limit))?;
            output::print(args.json, &u, || {
                for x in &u.utxos {
                    println!(
                        "{}#{}  {} AIC",
                        x.out_point.tx_id,
                        x.out_point.index,
                        format_aic_text(&x.output.coin)
                    );
                }
                println!(
                    "{} outputs at height {}{}",
                    u.utxos.len(),
                    u.height,
                    if u.truncated {
                        " (more exist: raise --limit)"
                    } else {
                        ""
                    }
                );
            });
        }
        Command::Block { block, full } => {
            let found = if block.len() == 64 || block.starts_with("0x") {
                let hash = BlockHash(parse_hash32("block hash", &block).map_err(refused)?);
                client.block_by_hash(&hash, full)?
            } else if let Ok(n) = block.parse::<u64>() {
                client.block_by_number(n, full)?
            } else {
                // A tag: the node checks it.
                client.block_by_number(BlockParam::Tag(block.clone()), full)?
            };
            let b = found.ok_or_else(|| CliError::Failed(format!("no block {block}")))?;
            output::print(args.json, &b, || {
                println!("block {}  {}", b.header.height, b.header.hash);
                println!("  parent     {}", b.header.parent_hash);
                println!("  time (ms)  {}", b.header.timestamp_ms);
                println!("  state root {}", b.header.state_root);
                println!("  tx root    {}", b.header.tx_root);
                println!("  txs        {} ({} bytes)", b.transactions.len(), b.size);
                for t in &b.transactions {
                    println!("    {t}");
                }
            });
        }
        Command::Tx { id } => {
            let tx_id = parse_tx_id(&id).map_err(refused)?;
            let transaction = client.transaction(&tx_id)?;
            let receipt = client.receipt(&tx_id)?;
            if transaction.is_none() {
                return Err(CliError::Failed(format!(
                    "transaction {id} is unknown to the node"
                )));
            }
            let r = TxResult {
                transaction,
                receipt,
            };
            output::print(args.json, &r, || {
                if let Some(t) = &r.transaction {
                    println!("tx {}  {:?}", t.id, t.status);
                    println!("  fee     {} AIC", format_aic_text(&t.fee));
                    for i in &t.inputs {
                        println!("  in      {}#{}", i.tx_id, i.index);
                    }
                    for o in &t.outputs {
                        println!(
                            "  out     {} AIC to {}",
                            format_aic_text(&o.coin),
                            o.address
                        );
                    }
                }
                if let Some(rc) = &r.receipt {
                    println!(
                        "  receipt {:?} in block {} (index {}), fee charged {} AIC, fuel {}",
                        rc.status,
                        rc.location.block_height,
                        rc.location.index,
                        format_aic_text(&rc.fee_charged),
                        rc.fuel_used
                    );
                }
            });
        }
        Command::Proof { out_point } => {
            let op =
                parse_out_point_text(&out_point).map_err(|e| CliError::Usage(e.to_string()))?;
            let p = client.state_proof(&op)?;
            // A light client trusts a header, not the node's word: check the
            // proof against the state root of the header at that height.
            let header = client
                .block_by_number(p.height, false)?
                .ok_or_else(|| CliError::Failed(format!("the node has no block {}", p.height)))?
                .header;
            let root = Digest(
                parse_hash32("state root", &header.state_root)
                    .map_err(|e| CliError::Failed(format!("bad header: {e}")))?,
            );
            if p.proof.scheme != aether_storage::PROOF_SCHEME {
                return Err(CliError::Failed(format!(
                    "unknown proof scheme {:?}",
                    p.proof.scheme
                )));
            }
            let bytes = hex::decode(&p.proof.data)
                .map_err(|e| CliError::Failed(format!("proof is not hex: {e}")))?;
            let proof = StateProof::decode(&bytes)
                .map_err(|e| CliError::Failed(format!("proof does not decode: {e}")))?;
            let proven = verify_proof(&root, &op, &proof).map_err(|e| {
                CliError::Failed(format!(
                    "proof does NOT verify against block {}: {e}",
                    p.height
                ))
            })?;
            if proven.is_some() != p.exists {
                return Err(CliError::Failed(
                    "the proof contradicts the node's `exists` claim".into(),
                ));
            }
            let r = ProofResult {
                proof: p,
                verified: true,
                header_state_root: header.state_root.clone(),
            };
            output::print(args.json, &r, || {
                match proven {
                    Some(o) => println!(
                        "{out_point} is UNSPENT: {} AIC to {}",
                        format_aic(o.value.coin),
                        format_address(&o.address)
                    ),
                    None => println!("{out_point} is NOT in the UTxO set (spent or never created)"),
                }
                println!(
                    "verified against the state root {} of block {}",
                    header.state_root, r.proof.height
                );
            });
        }
    }
    Ok(())
}
