//! `aether tx`: build, sign and submit transactions.

use crate::amount::{format_aic, format_aic_text, parse_aic};
use crate::{CliError, ClientArgs, keys, output};
use aether_client::{BlockingClient, BuildError, ClientError, TxBuilder};
use aether_rpc_types::dto::ReceiptDto;
use aether_rpc_types::params::{format_address, parse_address};
use aether_types::{Address, Canonical, TxParams};
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
    receipt: Option<ReceiptDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    written_to: Option<String>,
    /// What the transaction created, by kind (`provider`, `job`, ...).
    #[serde(flatten)]
    created: std::collections::BTreeMap<&'static str, String>,
}

/// The transfer's build failure in the words of the command.
fn transfer_error(e: BuildError, amount: u128, params: &TxParams, coins: usize) -> String {
    match e {
        BuildError::OutputTooSmall { index: 0, .. } => format!(
            "amount {amount} is below the minimum output of {} base units",
            params.min_output_coin
        ),
        BuildError::InsufficientFunds { available, .. } => format!(
            "insufficient funds: the sender's {coins} spendable outputs hold {available} base units, not enough for {amount} plus the fee"
        ),
        other => other.to_string(),
    }
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
            let client = args.connect()?;
            let params = client.params()?;
            let me = Address::Key(key.key_hash());
            let from_address = format_address(&me);
            let coins = client.spendable(&me)?;
            let spendable = coins.iter().filter(|c| c.is_aic_only()).count();
            let tx = TxBuilder::new(&params)
                .pay(to, amount)
                .change_to(me)
                .signer(&key)
                .extra_fee(extra_fee)
                .fund_from(&coins)
                .map_err(|e| {
                    CliError::Failed(format!(
                        "{from_address}: {}",
                        transfer_error(e, amount, &params, spendable)
                    ))
                })?;
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
                    created: Default::default(),
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
            send(&client, args, &hex_tx, fee, &wait, None)
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
            let client = args.connect()?;
            let fee = hex::decode(&hex_tx)
                .ok()
                .and_then(|b| aether_types::Transaction::decode(&b).ok())
                .map_or(0, |t| t.body.fee);
            send(&client, args, &hex_tx, fee, &wait, None)
        }
    }
}

pub(crate) fn send(
    client: &BlockingClient,
    args: &ClientArgs,
    hex_tx: &str,
    fee: u128,
    wait: &WaitArgs,
    created: Option<(&'static str, String)>,
) -> Result<(), CliError> {
    let id = client.send_raw_transaction(hex_tx)?;
    if !args.json {
        eprintln!("submitted {id} (fee {} AIC)", format_aic(fee));
    }
    let receipt = if wait.no_wait {
        None
    } else {
        Some(
            client
                .wait_for_receipt(&id, Duration::from_secs(wait.timeout))
                .map_err(|e| match e {
                    ClientError::NotIncluded { .. } => CliError::Failed(format!(
                        "transaction {id} was accepted but not included within {} s (see `aether query tx {id}`)",
                        wait.timeout
                    )),
                    other => other.into(),
                })?,
        )
    };
    let failed = receipt.as_ref().is_some_and(|r| !r.succeeded());
    let sent = Sent {
        tx_id: id.to_string(),
        fee: fee.to_string(),
        receipt,
        written_to: None,
        created: created.iter().cloned().collect(),
    };
    output::print(args.json, &sent, || {
        match &sent.receipt {
            Some(r) => println!(
                "{} included in block {} (index {}): {:?}, fee charged {} AIC",
                r.tx_id,
                r.location.block_height,
                r.location.index,
                r.status,
                format_aic_text(&r.fee_charged)
            ),
            None => println!("{id}"),
        }
        for (kind, created) in &sent.created {
            println!("{kind} {created}");
        }
    });
    if failed {
        return Err(CliError::Failed(format!(
            "{id} was included but its script failed (collateral taken)"
        )));
    }
    Ok(())
}
