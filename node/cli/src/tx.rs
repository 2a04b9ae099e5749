//! `aether tx`: build, sign and submit transactions.

use crate::amount::{format_aic, parse_aic};
use crate::client::Client;
use crate::wallet::{Coin, build_transfer};
use crate::{CliError, ClientArgs, keys, output};
use aether_ledger::ProtocolParams;
use aether_rpc::params::{format_address, parse_address, parse_hash32};
use aether_types::{Address, Canonical, ChainId, OutPoint, TxId};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// `aether tx ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Send AIC from a key to an address.
    Transfer {
        /// The sender's key file.
        #[arg(
            long,
            conflicts_with = "from_dev",
            required_unless_present = "from_dev"
        )]
        from: Option<PathBuf>,
        /// Send from dev account N of the dev genesis.
        #[arg(long, value_name = "N")]
        from_dev: Option<u32>,
        /// Recipient address (`key:<hex>` or `script:<hex>`).
        #[arg(long)]
        to: String,
        /// Amount in AIC (decimal, up to 9 places).
        #[arg(long)]
        amount: String,
        /// Fee on top of the minimum, in base units (higher priority).
        #[arg(long, default_value_t = 0)]
        extra_fee: u128,
        /// Write the signed transaction (hex) to this file instead of submitting it.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Submit a signed transaction from a file (hex text or raw bytes).
    Submit {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

/// Waiting for inclusion.
#[derive(clap::Args, Debug)]
pub(crate) struct WaitArgs {
    /// Return once the node accepted the transaction, without waiting for a block.
    #[arg(long)]
    no_wait: bool,
    /// Seconds to wait for inclusion.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

#[derive(Serialize)]
struct Sent {
    tx_id: String,
    fee: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<aether_rpc::dto::ReceiptDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    written_to: Option<String>,
}

fn parse_out_point(op: &aether_rpc::dto::OutPointDto) -> Result<OutPoint, CliError> {
    let id = parse_hash32("out-point", &op.tx_id)
        .map_err(|e| CliError::Failed(format!("the node sent a bad out-point: {e}")))?;
    Ok(OutPoint::new(TxId(id), op.index))
}

pub(crate) fn run(cmd: Command, args: &ClientArgs) -> Result<(), CliError> {
    match cmd {
        Command::Transfer {
            from,
            from_dev,
            to,
            amount,
            extra_fee,
            out,
            wait,
        } => {
            let key = match (from, from_dev) {
                (Some(f), _) => keys::load(&f)?,
                (None, Some(i)) => keys::dev(i),
                (None, None) => {
                    return Err(CliError::Usage("--from or --from-dev is required".into()));
                }
            };
            let to: Address =
                parse_address(&to).map_err(|e| CliError::Usage(format!("--to: {e}")))?;
            let amount =
                parse_aic(&amount).map_err(|e| CliError::Usage(format!("--amount: {e}")))?;
            let client = Client::new(&args.rpc)?;
            let status = client.status()?;
            let mut params = ProtocolParams::dev();
            params.chain_id = ChainId(status.chain_id);
            let from_address = format_address(&Address::Key(key.key_hash()));
            let utxos = client.utxos(&from_address, 1000)?;
            let mut coins = Vec::new();
            for u in &utxos.utxos {
                if !u.output.assets.is_empty() {
                    continue;
                }
                let coin = u.output.coin.parse::<u128>().map_err(|e| {
                    CliError::Failed(format!("the node sent a bad coin amount: {e}"))
                })?;
                coins.push(Coin {
                    out_point: parse_out_point(&u.out_point)?,
                    coin,
                });
            }
            let tx = build_transfer(&params, &key, &coins, to, amount, extra_fee)
                .map_err(|e| CliError::Failed(format!("{from_address}: {e}")))?;
            let hex_tx = hex::encode(tx.encode());
            let fee = tx.body.fee;
            if let Some(path) = out {
                std::fs::write(&path, format!("{hex_tx}\n")).map_err(|e| {
                    CliError::Usage(format!("cannot write {}: {e}", path.display()))
                })?;
                let sent = Sent {
                    tx_id: tx.id().to_string(),
                    fee: fee.to_string(),
                    receipt: None,
                    written_to: Some(path.display().to_string()),
                };
                output::print(args.json, &sent, || {
                    println!(
                        "signed {} (fee {} AIC), written to {}",
                        sent.tx_id,
                        format_aic(fee),
                        path.display()
                    );
                });
                return Ok(());
            }
            send(&client, args, &hex_tx, fee, &wait)
        }
        Command::Submit { file, wait } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
            let hex_tx = match std::str::from_utf8(&bytes) {
                Ok(text)
                    if !text.trim().is_empty()
                        && text.trim().bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    text.trim().to_lowercase()
                }
                _ => hex::encode(&bytes),
            };
            let client = Client::new(&args.rpc)?;
            let fee = hex::decode(&hex_tx)
                .ok()
                .and_then(|b| aether_types::Transaction::decode(&b).ok())
                .map_or(0, |t| t.body.fee);
            send(&client, args, &hex_tx, fee, &wait)
        }
    }
}

fn send(
    client: &Client,
    args: &ClientArgs,
    hex_tx: &str,
    fee: u128,
    wait: &WaitArgs,
) -> Result<(), CliError> {
    let id = client.send_transaction(hex_tx)?;
    if !args.json {
        eprintln!("submitted {id} (fee {} AIC)", format_aic(fee));
    }
    let receipt = if wait.no_wait {
        None
    } else {
        Some(client.wait_receipt(&id, Duration::from_secs(wait.timeout))?)
    };
    let failed = receipt
        .as_ref()
        .is_some_and(|r| r.status != aether_rpc::dto::ReceiptStatusDto::Success);
    let sent = Sent {
        tx_id: id.clone(),
        fee: fee.to_string(),
        receipt,
        written_to: None,
    };
    output::print(args.json, &sent, || match &sent.receipt {
        Some(r) => println!(
            "{} included in block {} (index {}): {:?}, fee charged {} AIC",
            r.tx_id,
            r.location.block_height,
            r.location.index,
            r.status,
            r.fee_charged
                .parse::<u128>()
                .map(format_aic)
                .unwrap_or_else(|_| r.fee_charged.clone())
        ),
        None => println!("{id}"),
    });
    if failed {
        return Err(CliError::Failed(format!(
            "{id} was included but its script failed (collateral taken)"
        )));
    }
    Ok(())
}
