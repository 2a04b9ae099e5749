//! The AI compute market from the command line: the measurement registry
//! (`aether measurement`), models (`aether model`), providers (`aether
//! provider`) and jobs (`aether job`). Every command that changes the chain
//! builds one transaction with `aether-client`'s `TxBuilder` (exact fee,
//! deposits counted), submits it and waits for its receipt; refusals show
//! the ledger's check (`data.check`). Reads go through the market RPC.
//!
//! Keys: `--key FILE` (or `--from-dev N`) pays and, for provider commands,
//! is the provider's owner. Governance actions are signed by every
//! `--governance-key FILE` as well; `--governance-key dev` is the dev
//! chain's public governance key.

use crate::amount::{format_aic_text, parse_aic};
use crate::tx::{WaitArgs, send};
use crate::{CliError, ClientArgs, keys, output};
use aether_client::{BlockingClient, TxBuilder};
use aether_crypto::ed25519::Keypair;
use aether_rpc_types::market::{ComputeReceiptDto, ImageDto, JobDto, ModelDto, ProviderDto};
use aether_rpc_types::params::{format_address, parse_address, parse_hash32};
use aether_types::{
    Action, Address, BoundedString, Canonical, ImageId, ImageRole, JobData, JobId, JobKind,
    LaunchMeasurement, MeasurementEntry, ModelFile, ModelId, PostJob, ProviderId, ProviderOffer,
    RegisterMeasurement, RegisterModel, RegisterProvider, RevokeMeasurement, RuntimeId, TeeKind,
    UnbondProvider, UpdateProvider, VmShape,
};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Who pays (and, for provider commands, owns).
#[derive(clap::Args, Debug)]
pub(crate) struct KeyArgs {
    /// The paying key's file.
    #[arg(long, conflicts_with = "from_dev")]
    key: Option<PathBuf>,
    /// Pay with dev account N of the dev genesis.
    #[arg(long, value_name = "N")]
    from_dev: Option<u32>,
}

impl KeyArgs {
    fn load(&self) -> Result<Option<Keypair>, CliError> {
        match (&self.key, self.from_dev) {
            (Some(f), _) => keys::load(f).map(Some),
            (None, Some(i)) => Ok(Some(keys::dev(i))),
            (None, None) => Ok(None),
        }
    }

    fn required(&self) -> Result<Keypair, CliError> {
        self.load()?
            .ok_or_else(|| CliError::Usage("--key FILE or --from-dev N is required".into()))
    }
}

/// Governance signers.
#[derive(clap::Args, Debug)]
pub(crate) struct GovernanceArgs {
    /// A governance key file (repeat for m of n; `dev` is the dev chain's key).
    #[arg(long = "governance-key", value_name = "FILE", required = true)]
    keys: Vec<String>,
}

impl GovernanceArgs {
    fn load(&self) -> Result<Vec<Keypair>, CliError> {
        self.keys
            .iter()
            .map(|k| {
                if k == "dev" {
                    Ok(aether_node::genesis::dev_governance_key())
                } else {
                    keys::load(Path::new(k))
                }
            })
            .collect()
    }
}

/// `aether measurement ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum MeasurementCommand {
    /// Register every launch measurement of an image's manifest.json (governance).
    Register {
        /// The image's manifest.json (from `aether-image build`).
        #[arg(long)]
        manifest: PathBuf,
        /// The image's role (default: `validator` or `worker` from the manifest's name).
        #[arg(long)]
        role: Option<String>,
        /// The source commit the image was built from (default: the
        /// manifest's `source_commit`, else empty).
        #[arg(long)]
        source_commit: Option<String>,
        #[command(flatten)]
        governance: GovernanceArgs,
        #[command(flatten)]
        payer: KeyArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Revoke every measurement of an image (governance).
    Revoke {
        /// The image id (sha256 of its manifest.json), or `--manifest`.
        #[arg(long, required_unless_present = "manifest")]
        image: Option<String>,
        /// The image's manifest.json.
        #[arg(long, conflicts_with = "image")]
        manifest: Option<PathBuf>,
        #[command(flatten)]
        governance: GovernanceArgs,
        #[command(flatten)]
        payer: KeyArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

/// `aether model ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum ModelCommand {
    /// Import a model's files into a validator's model store
    /// (`<data-dir>/models/<model id>`), checked by loading them.
    Add {
        /// The model's files (config.json, 1_Pooling/config.json,
        /// modules.json, sentence_bert_config.json, tokenizer.json,
        /// model.safetensors).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The node's data directory (default: the dev node's).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Register a model directory's files on chain (governance).
    Register {
        /// Directory holding the model's files.
        #[arg(long)]
        dir: PathBuf,
        /// Human name.
        #[arg(long, default_value = "all-MiniLM-L6-v2")]
        name: String,
        #[command(flatten)]
        governance: GovernanceArgs,
        #[command(flatten)]
        payer: KeyArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Print the model id of a directory's files (no chain access).
    Id {
        /// Directory holding the model's files.
        dir: PathBuf,
    },
}

/// What a provider offers, as options.
#[derive(clap::Args, Debug)]
pub(crate) struct OfferArgs {
    /// The worker's ed25519 public key (64 hex), or a key file.
    #[arg(long)]
    worker_key: Option<String>,
    /// Price per job in AIC.
    #[arg(long)]
    price: Option<String>,
    /// Most jobs at once.
    #[arg(long)]
    capacity: Option<u32>,
    /// TEE kinds served, comma separated (`snp`, `tdx`).
    #[arg(long, value_delimiter = ',')]
    tee: Vec<String>,
    /// A model id served (repeat).
    #[arg(long = "model")]
    models: Vec<String>,
    /// Serve WASM jobs (`true`/`false`).
    #[arg(long)]
    wasm: Option<bool>,
    /// Where payments go (default: the owner's address).
    #[arg(long)]
    payout: Option<String>,
}

/// `aether provider ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum ProviderCommand {
    /// Register a provider with a bond; the paying key owns it.
    Register {
        /// Bond in AIC.
        #[arg(long)]
        bond: String,
        #[command(flatten)]
        offer: OfferArgs,
        #[command(flatten)]
        owner: KeyArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Change a provider's offer and/or add bond (owner).
    Update {
        /// The provider id.
        #[arg(long)]
        provider: String,
        /// Bond added in AIC.
        #[arg(long, default_value = "0")]
        add_bond: String,
        #[command(flatten)]
        offer: OfferArgs,
        #[command(flatten)]
        owner: KeyArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Start unbonding free bond (paid out after the unbonding delay).
    Unbond {
        /// The provider id.
        #[arg(long)]
        provider: String,
        /// Amount in AIC.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        owner: KeyArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Show a provider.
    Status {
        /// The provider id.
        provider: String,
    },
}

/// `aether job ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum JobCommand {
    /// Post a job: the fee goes into escrow and the router assigns a provider.
    Post {
        /// A WASM module (WASM job).
        #[arg(long, conflicts_with = "model", required_unless_present = "model")]
        wasm: Option<PathBuf>,
        /// The WASM job's input file.
        #[arg(long, requires = "wasm")]
        input: Option<PathBuf>,
        /// The WASM job's fuel.
        #[arg(long, default_value_t = 10_000_000, requires = "wasm")]
        fuel: u64,
        /// A registered model id (model job).
        #[arg(long, requires = "tokens")]
        model: Option<String>,
        /// The model job's token ids: a JSON array of integers, as
        /// `aether-worker infer --tokens` reads it.
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// Most the job may cost, in AIC (escrowed).
        #[arg(long)]
        max_fee: String,
        /// Blocks from now until the receipt deadline.
        #[arg(long, default_value_t = 100)]
        deadline_in: u64,
        /// Accepted TEE kinds, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "snp,tdx")]
        tee: Vec<String>,
        /// Refunds and results go to this address (default: the payer's).
        #[arg(long)]
        client: Option<String>,
        #[command(flatten)]
        payer: KeyArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Show a job.
    Status {
        /// The job id.
        job: String,
    },
    /// Show a job's result: the output (inline bytes or where to fetch
    /// them) with its hash and KZG commitment root, once a receipt is in.
    Result {
        /// The job id.
        job: String,
        /// Write the output bytes to this file (an external output is
        /// fetched from its location and checked against its hash).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show a job's compute receipt: body, verified evidence claims, challenges.
    Receipt {
        /// The job id.
        job: String,
    },
    /// Challenge a job's receipt inside its window: re-runs the provider's
    /// trace segment by segment from its checkpoint data and disputes the
    /// first checkpoint that differs (input, a segment, or the output).
    Challenge {
        /// The job id.
        job: String,
        /// The provider's checkpoint data, as its worker serves it: JSON
        /// `{"checkpoints": ["<hex>", ...]}` (checkpoint 0 = the input state).
        #[arg(long)]
        checkpoints: PathBuf,
        /// Dispute this segment instead of searching for the first that
        /// differs.
        #[arg(long)]
        segment: Option<u32>,
        /// With `--segment`: the checkpoint hash you claim (from another
        /// runtime). Without it the local re-execution's hash is claimed, and
        /// a segment that re-executes to the provider's is not submitted. A
        /// claim the chain's re-execution does not confirm loses the deposit.
        #[arg(long, requires = "segment")]
        claim_hash: Option<String>,
        /// Deposit in AIC (at least the chain's minimum).
        #[arg(long, default_value = "1")]
        deposit: String,
        /// Where the reward or the returned deposit goes (default: the payer).
        #[arg(long)]
        payout: Option<String>,
        /// The data directory whose model store re-runs model jobs
        /// (default: the dev node's).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        payer: KeyArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

fn id32(what: &'static str, text: &str) -> Result<[u8; 32], CliError> {
    parse_hash32(what, text).map_err(|e| CliError::Usage(e.to_string()))
}

/// Job `id`, or a failed request naming it.
fn fetch_job(client: &BlockingClient, id: &JobId) -> Result<JobDto, CliError> {
    client
        .job(id)?
        .ok_or_else(|| CliError::Failed(format!("no job {id}")))
}

/// Provider `id`, or a failed request naming it.
fn fetch_provider(client: &BlockingClient, id: &ProviderId) -> Result<ProviderDto, CliError> {
    client
        .provider(id)?
        .ok_or_else(|| CliError::Failed(format!("no provider {id}")))
}

fn tees(list: &[String]) -> Result<BTreeSet<TeeKind>, CliError> {
    list.iter()
        .map(|t| t.trim().parse::<TeeKind>().map_err(CliError::Usage))
        .collect()
}

fn aic(flag: &str, text: &str) -> Result<u128, CliError> {
    parse_aic(text).map_err(|e| CliError::Usage(format!("--{flag}: {e}")))
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))
}

/// What a submitted transaction creates: its kind and how its id follows
/// from the transaction id.
type Created<'a> = (&'static str, &'a dyn Fn(&aether_types::TxId) -> String);

/// Builds one transaction of `actions` paid by `payer` (signed by
/// `payer` and `extra`), submits it and waits as asked; prints the
/// transaction and the created object's id.
fn submit(
    args: &ClientArgs,
    client: &BlockingClient,
    payer: &Keypair,
    extra: &[Keypair],
    actions: Vec<Action>,
    wait: &WaitArgs,
    created: Option<Created<'_>>,
) -> Result<aether_types::TxId, CliError> {
    let params = client.params()?;
    let me = Address::Key(payer.key_hash());
    let coins = client.spendable(&me)?;
    let mut builder = TxBuilder::new(&params).change_to(me).signer(payer);
    for k in extra {
        if k.key_hash() != payer.key_hash() {
            builder = builder.signer(k);
        }
    }
    for a in actions {
        builder = builder.action(a);
    }
    let tx = builder
        .fund_from(&coins)
        .map_err(|e| CliError::Failed(format!("{}: {e}", format_address(&me))))?;
    let id = tx.id();
    let created = created.map(|(kind, f)| (kind, f(&id)));
    send(
        client,
        args,
        &hex::encode(tx.encode()),
        tx.body.fee,
        wait,
        created,
    )?;
    Ok(tx.id())
}

/// A manifest's measurement entries (the JSON `aether-image build` writes).
fn manifest_entries(v: &serde_json::Value) -> Result<(TeeKind, Vec<MeasurementEntry>), String> {
    let tee: TeeKind = v["tee"]
        .as_str()
        .ok_or("no `tee` field")?
        .parse()
        .map_err(|e: String| e)?;
    let sha384 = |what: &str, x: &serde_json::Value| -> Result<[u8; 48], String> {
        let text = x.as_str().ok_or(format!("{what}: not a string"))?;
        let bytes = hex::decode(text).map_err(|e| format!("{what}: {e}"))?;
        bytes
            .try_into()
            .map_err(|_| format!("{what}: not 48 bytes"))
    };
    let mut entries = vec![];
    match tee {
        TeeKind::Snp => {
            let shapes = v["measurements"]["snp"]
                .as_array()
                .ok_or("no measurements.snp list")?;
            for (i, s) in shapes.iter().enumerate() {
                let features = match &s["guest_features"] {
                    serde_json::Value::String(t) => {
                        u64::from_str_radix(t.trim_start_matches("0x"), 16)
                            .map_err(|e| format!("snp[{i}].guest_features: {e}"))?
                    }
                    serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
                    _ => 0,
                };
                entries.push(MeasurementEntry {
                    measurement: LaunchMeasurement::Snp(sha384(
                        &format!("snp[{i}].launch_digest"),
                        &s["launch_digest"],
                    )?),
                    shape: VmShape::Snp {
                        vcpus: s["vcpus"]
                            .as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or(format!("snp[{i}].vcpus"))?,
                        cpu: BoundedString::new(s["cpu"].as_str().unwrap_or("EPYC-v4"))
                            .map_err(|e| format!("snp[{i}].cpu: {e}"))?,
                        guest_features: features,
                    },
                    rtmr0: None,
                });
            }
        }
        TeeKind::Tdx => {
            let t = &v["measurements"]["tdx"];
            let mrtd = sha384("tdx.mrtd", &t["mrtd"])?;
            let shapes = t["shapes"].as_array().ok_or("no measurements.tdx.shapes")?;
            for (i, s) in shapes.iter().enumerate() {
                entries.push(MeasurementEntry {
                    measurement: LaunchMeasurement::Tdx {
                        mrtd,
                        rtmr1: sha384(&format!("tdx.shapes[{i}].rtmr1"), &s["rtmr1"])?,
                        rtmr2: sha384(&format!("tdx.shapes[{i}].rtmr2"), &s["rtmr2"])?,
                    },
                    shape: VmShape::Tdx {
                        memory_mib: s["memory_mib"]
                            .as_u64()
                            .ok_or(format!("tdx.shapes[{i}].memory_mib"))?,
                    },
                    rtmr0: match &s["rtmr0"] {
                        serde_json::Value::String(_) => {
                            Some(sha384(&format!("tdx.shapes[{i}].rtmr0"), &s["rtmr0"])?)
                        }
                        _ => None,
                    },
                });
            }
        }
    }
    if entries.is_empty() {
        return Err("the manifest lists no launch measurement".into());
    }
    Ok((tee, entries))
}

fn payer_or_first(payer: &KeyArgs, governance: &[Keypair]) -> Result<Keypair, CliError> {
    match payer.load()? {
        Some(k) => Ok(k),
        None => Ok(governance[0].clone()),
    }
}

pub(crate) fn measurement(cmd: MeasurementCommand, args: &ClientArgs) -> Result<(), CliError> {
    match cmd {
        MeasurementCommand::Register {
            manifest,
            role,
            source_commit,
            governance,
            payer,
            wait,
        } => {
            let bytes = read(&manifest)?;
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", manifest.display())))?;
            let bad = |e: String| CliError::Usage(format!("{}: {e}", manifest.display()));
            let (tee, entries) = manifest_entries(&v).map_err(bad)?;
            let name = v["name"]
                .as_str()
                .ok_or_else(|| bad("no `name` field".into()))?;
            let role: ImageRole = match role.as_deref() {
                Some(r) => r.parse().map_err(CliError::Usage)?,
                None => name.parse().map_err(|_| {
                    bad(format!(
                        "cannot tell the role from the image name {name:?}: pass --role"
                    ))
                })?,
            };
            let commit = source_commit
                .or_else(|| v["source_commit"].as_str().map(String::from))
                .unwrap_or_default();
            let image = ImageId(Sha256::digest(&bytes).into());
            let action = Action::RegisterMeasurement(RegisterMeasurement {
                image,
                name: BoundedString::new(name).map_err(|e| bad(format!("name: {e}")))?,
                role,
                tee,
                entries,
                source_commit: BoundedString::new(&commit)
                    .map_err(|e| CliError::Usage(format!("--source-commit: {e}")))?,
            });
            let gov = governance.load()?;
            let payer = payer_or_first(&payer, &gov)?;
            let client = args.connect()?;
            let image_text = image.to_string();
            submit(
                args,
                &client,
                &payer,
                &gov,
                vec![action],
                &wait,
                Some(("image", &|_| image_text.clone())),
            )?;
            Ok(())
        }
        MeasurementCommand::Revoke {
            image,
            manifest,
            governance,
            payer,
            wait,
        } => {
            let image = match (image, manifest) {
                (Some(i), _) => ImageId(id32("image id", &i)?),
                (None, Some(m)) => ImageId(Sha256::digest(read(&m)?).into()),
                (None, None) => return Err(CliError::Usage("--image or --manifest".into())),
            };
            let gov = governance.load()?;
            let payer = payer_or_first(&payer, &gov)?;
            let client = args.connect()?;
            submit(
                args,
                &client,
                &payer,
                &gov,
                vec![Action::RevokeMeasurement(RevokeMeasurement { image })],
                &wait,
                Some(("revokedImage", &|_| image.to_string())),
            )?;
            Ok(())
        }
    }
}

/// The registration of the model in `dir`.
fn model_registration(dir: &Path, name: &str) -> Result<RegisterModel, CliError> {
    let spec = aether_infer::ModelSpec::of_dir(dir)
        .map_err(|e| CliError::Usage(format!("{}: {e}", dir.display())))?;
    let mut files = vec![];
    let mut size = 0u64;
    for (file, sha) in aether_infer::MODEL_FILES.iter().zip(spec.sha256) {
        let len = std::fs::metadata(dir.join(file))
            .map_err(|e| CliError::Usage(format!("{}/{file}: {e}", dir.display())))?
            .len();
        size = size.saturating_add(len);
        files.push(ModelFile {
            name: BoundedString::new(*file).map_err(|e| CliError::Usage(e.to_string()))?,
            sha256: sha,
            size: len,
        });
    }
    let config: serde_json::Value = serde_json::from_slice(&read(&dir.join("config.json"))?)
        .map_err(|e| CliError::Usage(format!("config.json: {e}")))?;
    let layers = config["num_hidden_layers"]
        .as_u64()
        .ok_or_else(|| CliError::Usage("config.json has no num_hidden_layers".into()))?;
    Ok(RegisterModel {
        model: ModelId(spec.model_id()),
        name: BoundedString::new(name).map_err(|e| CliError::Usage(format!("--name: {e}")))?,
        runtime: RuntimeId(aether_infer::bert_runtime_id()),
        size,
        segments: aether_infer::model_segments(layers as usize),
        files,
    })
}

pub(crate) fn model(cmd: ModelCommand, args: &ClientArgs) -> Result<(), CliError> {
    match cmd {
        ModelCommand::Add { files, data_dir } => {
            let dir = data_dir.unwrap_or_else(crate::node_cmd::default_dev_dir);
            let store = aether_node::models::ModelStore::new(dir.join("models"));
            let id = store
                .import(&files)
                .map_err(|e| CliError::Failed(e.to_string()))?;
            let path = store.path(&id);
            output::print(
                args.json,
                &serde_json::json!({"model": id.to_string(), "path": path.display().to_string()}),
                || println!("model {id} in {}", path.display()),
            );
            Ok(())
        }
        ModelCommand::Register {
            dir,
            name,
            governance,
            payer,
            wait,
        } => {
            let action = model_registration(&dir, &name)?;
            let id = action.model;
            let gov = governance.load()?;
            let payer = payer_or_first(&payer, &gov)?;
            let client = args.connect()?;
            submit(
                args,
                &client,
                &payer,
                &gov,
                vec![Action::RegisterModel(action)],
                &wait,
                Some(("model", &|_| id.to_string())),
            )?;
            Ok(())
        }
        ModelCommand::Id { dir } => {
            let r = model_registration(&dir, "-")?;
            output::print(
                args.json,
                &serde_json::json!({"model": r.model.to_string(), "size": r.size, "segments": r.segments}),
                || println!("{}", r.model),
            );
            Ok(())
        }
    }
}

fn worker_key(text: &str) -> Result<aether_types::PublicKey, CliError> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(aether_types::PublicKey(id32("worker key", text)?));
    }
    Ok(keys::load(Path::new(text))?.public_key())
}

/// `offer` with the options given applied.
fn apply_offer(mut offer: ProviderOffer, o: &OfferArgs) -> Result<ProviderOffer, CliError> {
    if let Some(k) = &o.worker_key {
        offer.worker_key = worker_key(k)?;
    }
    if let Some(p) = &o.price {
        offer.price = aic("price", p)?;
    }
    if let Some(c) = o.capacity {
        offer.capacity = c;
    }
    if !o.tee.is_empty() {
        offer.tees = tees(&o.tee)?;
    }
    if !o.models.is_empty() {
        offer.models = o
            .models
            .iter()
            .map(|m| id32("model id", m).map(ModelId))
            .collect::<Result<_, _>>()?;
    }
    if let Some(w) = o.wasm {
        offer.wasm = w;
    }
    if let Some(p) = &o.payout {
        offer.payout = parse_address(p).map_err(|e| CliError::Usage(format!("--payout: {e}")))?;
    }
    Ok(offer)
}

fn offer_of(p: &ProviderDto) -> Result<ProviderOffer, CliError> {
    let bad = |e: String| CliError::Failed(format!("the node's provider record: {e}"));
    Ok(ProviderOffer {
        worker_key: aether_types::PublicKey(
            parse_hash32("worker key", &p.worker_key).map_err(|e| bad(e.to_string()))?,
        ),
        payout: parse_address(&p.payout).map_err(|e| bad(e.to_string()))?,
        tees: tees(&p.tees)?,
        models: p
            .models
            .iter()
            .map(|m| parse_hash32("model", m).map(ModelId))
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?,
        wasm: p.wasm,
        price: p.price.parse().map_err(|_| bad("price".into()))?,
        capacity: p.capacity,
    })
}

fn print_provider(json: bool, p: &ProviderDto) {
    output::print(json, p, || {
        println!("provider    {}", p.id);
        println!("owner       {}", p.owner);
        println!("worker key  {}", p.worker_key);
        println!("payout      {}", p.payout);
        println!(
            "offer       {} · price {} AIC · capacity {} ({} active) · wasm {}",
            p.tees.join(","),
            format_aic_text(&p.price),
            p.capacity,
            p.active_jobs,
            p.wasm
        );
        for m in &p.models {
            println!("model       {m}");
        }
        println!(
            "bond        {} AIC (locked {}, free {}, slashed {})",
            format_aic_text(&p.bond),
            format_aic_text(&p.locked),
            format_aic_text(&p.free),
            format_aic_text(&p.slashed)
        );
        for u in &p.unbonding {
            println!("unbonding   {u:?}");
        }
        println!(
            "record      reputation {} · settled {} · failed {}",
            p.reputation, p.jobs_settled, p.jobs_failed
        );
    });
}

pub(crate) fn provider(cmd: ProviderCommand, args: &ClientArgs) -> Result<(), CliError> {
    match cmd {
        ProviderCommand::Register {
            bond,
            offer,
            owner,
            wait,
        } => {
            let key = owner.required()?;
            let me = Address::Key(key.key_hash());
            let worker = offer
                .worker_key
                .as_deref()
                .ok_or_else(|| CliError::Usage("--worker-key is required to register".into()))?;
            let price = offer
                .price
                .as_deref()
                .ok_or_else(|| CliError::Usage("--price is required to register".into()))?;
            let base = ProviderOffer {
                worker_key: worker_key(worker)?,
                payout: me,
                tees: [TeeKind::Snp, TeeKind::Tdx].into(),
                models: BTreeSet::new(),
                wasm: true,
                price: aic("price", price)?,
                capacity: 4,
            };
            let action = Action::RegisterProvider(RegisterProvider {
                owner: key.key_hash(),
                offer: apply_offer(base, &offer)?,
                bond: aic("bond", &bond)?,
            });
            let client = args.connect()?;
            submit(
                args,
                &client,
                &key,
                &[],
                vec![action],
                &wait,
                Some(("provider", &|tx| ProviderId::derive(tx, 0).to_string())),
            )?;
            Ok(())
        }
        ProviderCommand::Update {
            provider,
            add_bond,
            offer,
            owner,
            wait,
        } => {
            let key = owner.required()?;
            let id = ProviderId(id32("provider id", &provider)?);
            let client = args.connect()?;
            let changes = offer.worker_key.is_some()
                || offer.price.is_some()
                || offer.capacity.is_some()
                || !offer.tee.is_empty()
                || !offer.models.is_empty()
                || offer.wasm.is_some()
                || offer.payout.is_some();
            let new_offer = if changes {
                let current = fetch_provider(&client, &id)?;
                Some(apply_offer(offer_of(&current)?, &offer)?)
            } else {
                None
            };
            let action = Action::UpdateProvider(UpdateProvider {
                provider: id,
                offer: new_offer,
                add_bond: aic("add-bond", &add_bond)?,
            });
            submit(args, &client, &key, &[], vec![action], &wait, None)?;
            Ok(())
        }
        ProviderCommand::Unbond {
            provider,
            amount,
            owner,
            wait,
        } => {
            let key = owner.required()?;
            let action = Action::UnbondProvider(UnbondProvider {
                provider: ProviderId(id32("provider id", &provider)?),
                amount: aic("amount", &amount)?,
            });
            let client = args.connect()?;
            submit(args, &client, &key, &[], vec![action], &wait, None)?;
            Ok(())
        }
        ProviderCommand::Status { provider } => {
            let id = ProviderId(id32("provider id", &provider)?);
            let p = fetch_provider(&args.connect()?, &id)?;
            print_provider(args.json, &p);
            Ok(())
        }
    }
}

/// A model job's input: the token ids of a token file (the format of
/// `aether-worker infer --tokens`: `aether_infer::parse_token_file`), as
/// u32 little-endian bytes.
fn token_bytes(bytes: &[u8]) -> Result<Vec<u8>, CliError> {
    let tokens = aether_infer::parse_token_file(bytes)
        .map_err(|e| CliError::Usage(format!("--tokens: {e}")))?;
    Ok(aether_infer::tokens::encode_job_tokens(&tokens))
}

fn inline(what: &str, bytes: Vec<u8>) -> Result<JobData, CliError> {
    let len = bytes.len();
    JobData::inline(bytes).map_err(|e| {
        CliError::Usage(format!(
            "{what} of {len} bytes cannot be carried inline ({e})"
        ))
    })
}

fn print_job(json: bool, j: &JobDto) {
    output::print(json, j, || {
        println!("job         {}", j.id);
        println!("status      {}", j.status);
        println!("client      {}", j.client);
        match &j.provider {
            Some(p) => println!("provider    {p} (price {} AIC)", format_aic_text(&j.price)),
            None => println!("provider    none"),
        }
        println!(
            "escrow      {} AIC of max fee {} AIC",
            format_aic_text(&j.escrow),
            format_aic_text(&j.max_fee)
        );
        println!("posted at   {} · deadline {}", j.posted_at, j.deadline);
        if let Some(r) = j.receipt_at {
            println!("receipt at  {r}");
        }
    });
}

fn print_receipt(json: bool, r: &ComputeReceiptDto) {
    output::print(json, r, || {
        println!("job         {}", r.job);
        println!("provider    {} (worker key {})", r.provider, r.worker_key);
        println!("output      {} ({} bytes)", r.output.hash, r.output.size);
        println!(
            "kzg root    {} ({} blobs)",
            r.commitment_root,
            r.blobs.len()
        );
        println!("trace root  {} ({} segments)", r.trace_root, r.segments);
        println!(
            "evidence    {} {} · measurement {:?} · tcb {} · root {}",
            r.evidence_tee, r.evidence_id, r.claims.measurement, r.claims.tcb, r.claims.root
        );
        println!("accepted    tx {} at height {}", r.tx_id, r.at);
        for c in &r.challenges {
            println!(
                "challenge   tx {} at {} segment {} upheld {}",
                c.tx_id, c.at, c.segment, c.upheld
            );
        }
    });
}

pub(crate) fn job(cmd: JobCommand, args: &ClientArgs) -> Result<(), CliError> {
    match cmd {
        JobCommand::Post {
            wasm,
            input,
            fuel,
            model,
            tokens,
            max_fee,
            deadline_in,
            tee,
            client,
            payer,
            wait,
        } => {
            let key = payer.required()?;
            let kind = match (wasm, model) {
                (Some(module), _) => JobKind::Wasm {
                    module: inline("the module", read(&module)?)?,
                    input: inline(
                        "the input",
                        match &input {
                            Some(p) => read(p)?,
                            None => vec![],
                        },
                    )?,
                    fuel,
                },
                (None, Some(m)) => {
                    let path = tokens.ok_or_else(|| CliError::Usage("--tokens".into()))?;
                    JobKind::Model {
                        model: ModelId(id32("model id", &m)?),
                        input: inline("the tokens", token_bytes(&read(&path)?)?)?,
                    }
                }
                (None, None) => return Err(CliError::Usage("--wasm or --model".into())),
            };
            let to = match client {
                Some(c) => {
                    parse_address(&c).map_err(|e| CliError::Usage(format!("--client: {e}")))?
                }
                None => Address::Key(key.key_hash()),
            };
            let rpc = args.connect()?;
            let height = rpc.status()?.height;
            let action = Action::PostJob(PostJob {
                client: to,
                kind,
                tees: tees(&tee)?,
                max_fee: aic("max-fee", &max_fee)?,
                deadline: height.saturating_add(1).saturating_add(deadline_in),
            });
            submit(
                args,
                &rpc,
                &key,
                &[],
                vec![action],
                &wait,
                Some(("job", &|tx| JobId::derive(tx, 0).to_string())),
            )?;
            Ok(())
        }
        JobCommand::Status { job } => {
            let id = JobId(id32("job id", &job)?);
            let j = fetch_job(&args.connect()?, &id)?;
            print_job(args.json, &j);
            Ok(())
        }
        JobCommand::Result { job, out } => {
            let id = JobId(id32("job id", &job)?);
            let client = args.connect()?;
            let j = fetch_job(&client, &id)?;
            let r = client.compute_receipt(&id)?.ok_or_else(|| {
                CliError::Failed(format!("job {id} has no receipt yet (status {})", j.status))
            })?;
            if let Some(path) = &out {
                // Inline bytes as the node has them; an external output
                // fetched from its location and checked against its hash.
                let data = JobData::try_from(&r.output)
                    .map_err(|e| CliError::Failed(format!("the node's output: {e}")))?;
                let bytes =
                    aether_client::data::data_bytes(&data, aether_client::data::MAX_EXTERNAL_DATA)
                        .map_err(|e| CliError::Failed(e.to_string()))?;
                std::fs::write(path, bytes).map_err(|e| {
                    CliError::Usage(format!("cannot write {}: {e}", path.display()))
                })?;
            }
            let doc = serde_json::json!({
                "job": j.id,
                "status": j.status,
                "output": r.output,
                "commitmentRoot": r.commitment_root,
                "traceRoot": r.trace_root,
                "final": j.status == "settled",
            });
            output::print(args.json, &doc, || {
                println!("job         {} ({})", j.id, j.status);
                println!("output      {} ({} bytes)", r.output.hash, r.output.size);
                match (&r.output.inline, &r.output.location) {
                    (Some(h), _) if out.is_none() => println!("bytes       {h}"),
                    (None, Some(l)) if out.is_none() => println!("fetch from  {l}"),
                    _ => {
                        if let Some(p) = &out {
                            println!("written to  {} (hash checked)", p.display());
                        }
                    }
                }
                println!("kzg root    {}", r.commitment_root);
                if j.status != "settled" {
                    println!("(not final: the challenge window is open until settlement)");
                }
            });
            Ok(())
        }
        JobCommand::Challenge {
            job,
            checkpoints,
            segment,
            claim_hash,
            deposit,
            payout,
            data_dir,
            payer,
            wait,
        } => {
            let key = payer.required()?;
            let id = JobId(id32("job id", &job)?);
            let client = args.connect()?;
            let j = fetch_job(&client, &id)?;
            let r = client.compute_receipt(&id)?.ok_or_else(|| {
                CliError::Failed(format!(
                    "job {id} has no receipt to challenge (status {})",
                    j.status
                ))
            })?;
            let data = read_checkpoints(&checkpoints)?;
            let dir = data_dir.unwrap_or_else(crate::node_cmd::default_dev_dir);
            let claim_hash = claim_hash.map(|h| id32("claim hash", &h)).transpose()?;
            let claim = find_claim(&j, &r, &data, segment.map(|s| (s, claim_hash)), &dir)?;
            let payout = match payout {
                Some(p) => {
                    parse_address(&p).map_err(|e| CliError::Usage(format!("--payout: {e}")))?
                }
                None => Address::Key(key.key_hash()),
            };
            let action = Action::Challenge(aether_types::Challenge {
                job: id,
                claim,
                deposit: aic("deposit", &deposit)?,
                payout,
            });
            submit(args, &client, &key, &[], vec![action], &wait, None)?;
            Ok(())
        }
        JobCommand::Receipt { job } => {
            let id = JobId(id32("job id", &job)?);
            let r = args
                .connect()?
                .compute_receipt(&id)?
                .ok_or_else(|| CliError::Failed(format!("job {id} has no receipt")))?;
            print_receipt(args.json, &r);
            Ok(())
        }
    }
}

/// `aether query measurements`.
pub(crate) fn query_measurements(
    args: &ClientArgs,
    role: Option<&str>,
    tee: Option<&str>,
    include_revoked: bool,
) -> Result<(), CliError> {
    if let Some(r) = role {
        r.parse::<ImageRole>().map_err(CliError::Usage)?;
    }
    if let Some(t) = tee {
        t.parse::<TeeKind>().map_err(CliError::Usage)?;
    }
    let images: Vec<ImageDto> = args.connect()?.measurements(role, tee, include_revoked)?;
    output::print(args.json, &images, || {
        if images.is_empty() {
            println!("no registered images");
        }
        for i in &images {
            println!(
                "{} {} {} {}{} ({} measurements, registered at {})",
                i.image,
                i.name,
                i.role,
                i.tee,
                if i.revoked_at.is_some() {
                    " REVOKED"
                } else {
                    ""
                },
                i.measurements.len(),
                i.registered_at
            );
            for m in &i.measurements {
                println!("    {} {:?} shape {}", m.id, m.measurement, m.shape);
            }
        }
    });
    Ok(())
}

/// `aether query models`.
pub(crate) fn query_models(args: &ClientArgs) -> Result<(), CliError> {
    let models: Vec<ModelDto> = args.connect()?.models()?;
    output::print(args.json, &models, || {
        if models.is_empty() {
            println!("no registered models");
        }
        for m in &models {
            println!(
                "{} {} ({} bytes, {} segments, registered at {})",
                m.id, m.name, m.size, m.segments, m.registered_at
            );
        }
    });
    Ok(())
}

/// `aether query providers`.
pub(crate) fn query_providers(args: &ClientArgs) -> Result<(), CliError> {
    let providers = args.connect()?.providers()?;
    output::print(args.json, &providers, || {
        if providers.is_empty() {
            println!("no providers");
        }
        for p in &providers {
            println!(
                "{} {} · price {} AIC · {}/{} jobs · free bond {} AIC · reputation {}",
                p.id,
                p.tees.join(","),
                format_aic_text(&p.price),
                p.active_jobs,
                p.capacity,
                format_aic_text(&p.free),
                p.reputation
            );
        }
    });
    Ok(())
}

/// The provider's checkpoint data from its JSON file.
fn read_checkpoints(path: &Path) -> Result<Vec<Vec<u8>>, CliError> {
    let v: serde_json::Value = serde_json::from_slice(&read(path)?)
        .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", path.display())))?;
    let list = v["checkpoints"]
        .as_array()
        .ok_or_else(|| CliError::Usage(format!("{}: no \"checkpoints\" list", path.display())))?;
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            c.as_str()
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(|| CliError::Usage(format!("checkpoint {i}: not hex")))
        })
        .collect()
}

/// The job as the ledger holds it, from its JSON form; its data must be
/// inline (re-execution here does not fetch external data).
fn job_kind(j: &JobDto) -> Result<JobKind, CliError> {
    let kind =
        JobKind::try_from(&j.job).map_err(|e| CliError::Failed(format!("job {}: {e}", j.id)))?;
    let data = match &kind {
        JobKind::Model { input, .. } => vec![input],
        JobKind::Wasm { module, input, .. } => vec![module, input],
    };
    if let Some(JobData::External { location, .. }) =
        data.into_iter().find(|d| d.inline_bytes().is_none())
    {
        return Err(CliError::Failed(format!(
            "the job's data is not inline (fetch it from {location}): not supported here"
        )));
    }
    Ok(kind)
}

/// Re-runs the provider's trace with the node's runtime and builds the
/// claim against the first checkpoint that differs (or against `forced`).
fn find_claim(
    j: &JobDto,
    r: &ComputeReceiptDto,
    data: &[Vec<u8>],
    forced: Option<(u32, Option<[u8; 32]>)>,
    data_dir: &Path,
) -> Result<aether_types::ChallengeClaim, CliError> {
    use aether_ledger::market::{ClaimError, ClaimTarget};
    let kind = job_kind(j)?;
    let module = match &kind {
        JobKind::Wasm { module, .. } => module.inline_bytes(),
        JobKind::Model { .. } => None,
    };
    let output = r.inline_output();
    let target = ClaimTarget {
        kind: &kind,
        module,
        input: kind.input().inline_bytes().unwrap_or_default(),
        trace_root: aether_types::Digest(id32("trace root", &r.trace_root)?),
        segments: r.segments,
        output: &output,
    };
    let runtime =
        aether_node::NodeRuntime::new(aether_node::ModelStore::new(data_dir.join("models")));
    aether_ledger::market::find_claim(&runtime, &target, data, forced).map_err(|e| match e {
        ClaimError::CheckpointCount { .. }
        | ClaimError::NotTheTrace { .. }
        | ClaimError::SegmentOutOfRange { .. } => CliError::Usage(e.to_string()),
        _ => CliError::Failed(e.to_string()),
    })
}
