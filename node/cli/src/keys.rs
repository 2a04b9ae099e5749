//! `aether keys`: create, show and list keys.
//!
//! A key file is JSON (`aether keys new --out FILE`, mode 0600):
//! `{"secret_key": "<64 hex>", "public_key": "<64 hex>", "key_hash": "<64 hex>", "address": "key:<64 hex>"}`.
//! Only `secret_key` is read back; a file holding just the 64 hex digits
//! of a secret key is accepted too.

use crate::{CliError, ClientArgs, output};
use aether_crypto::ed25519::Keypair;
use aether_node::genesis::{DEV_ACCOUNTS, dev_account_key};
use aether_rpc_types::params::format_address;
use aether_types::Address;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `aether keys ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Create a new random key.
    New {
        /// Write the key file here (refuses to overwrite); without it the
        /// key, secret included, is printed.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show the public key and address of a key file.
    Show {
        /// The key file.
        file: PathBuf,
        /// Also print the secret key.
        #[arg(long)]
        secret: bool,
    },
    /// List the well-known dev accounts of the dev genesis (secret keys are public).
    Dev {
        /// How many accounts.
        #[arg(long, default_value_t = DEV_ACCOUNTS)]
        count: u32,
    },
}

/// The JSON form of a key.
#[derive(Serialize, Debug)]
pub(crate) struct KeyInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    public_key: String,
    key_hash: String,
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
}

fn info(k: &Keypair, secret: bool) -> KeyInfo {
    KeyInfo {
        index: None,
        secret_key: secret.then(|| hex::encode(k.secret_bytes())),
        public_key: hex::encode(k.public_key().0),
        key_hash: k.key_hash().to_string(),
        address: format_address(&Address::Key(k.key_hash())),
        file: None,
    }
}

/// Reads a key file (JSON or bare hex).
pub(crate) fn load(path: &Path) -> Result<Keypair, CliError> {
    aether_node::config::read_key_file(path).map_err(|e| CliError::Usage(e.to_string()))
}

/// Dev account `i`.
pub(crate) fn dev(i: u32) -> Keypair {
    dev_account_key(i)
}

pub(crate) fn run(cmd: Command, client: &ClientArgs) -> Result<(), CliError> {
    match cmd {
        Command::New { out } => {
            let key = Keypair::generate(&mut rand::rngs::OsRng);
            let mut full = info(&key, true);
            match out {
                Some(path) => {
                    let text = serde_json::to_string_pretty(&full)
                        .map_err(|e| CliError::Failed(e.to_string()))?;
                    write_private(&path, &text)?;
                    let mut public = info(&key, false);
                    public.file = Some(path.display().to_string());
                    output::print(client.json, &public, || {
                        println!("wrote {}", path.display());
                        println!("address     {}", public.address);
                        println!("public key  {}", public.public_key);
                    });
                }
                None => {
                    full.file = None;
                    output::print(client.json, &full, || {
                        println!("address     {}", full.address);
                        println!("public key  {}", full.public_key);
                        println!("secret key  {}", full.secret_key.as_deref().unwrap_or(""));
                        eprintln!(
                            "(keep the secret key private; `--out FILE` writes it to a file)"
                        );
                    });
                }
            }
            Ok(())
        }
        Command::Show { file, secret } => {
            let key = load(&file)?;
            let i = info(&key, secret);
            output::print(client.json, &i, || {
                println!("address     {}", i.address);
                println!("public key  {}", i.public_key);
                if let Some(s) = &i.secret_key {
                    println!("secret key  {s}");
                }
            });
            Ok(())
        }
        Command::Dev { count } => {
            let keys: Vec<KeyInfo> = (0..count)
                .map(|i| KeyInfo {
                    index: Some(i),
                    ..info(&dev(i), true)
                })
                .collect();
            output::print(client.json, &keys, || {
                println!(
                    "Dev accounts of the dev genesis. Their keys are PUBLIC: never hold value with them."
                );
                for k in &keys {
                    println!(
                        "#{:<3} {}  secret {}",
                        k.index.unwrap_or(0),
                        k.address,
                        k.secret_key.as_deref().unwrap_or("")
                    );
                }
            });
            Ok(())
        }
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))
}
