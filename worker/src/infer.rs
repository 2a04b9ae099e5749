//! `aether-worker infer --model-dir DIR (--text STR | --tokens FILE) [--json]`:
//! how a provider or a watchtower checks a model by hand.
//!
//! Loads the model (every file checked against its pinned sha256), runs one
//! input and prints the model id, the tokens, the embedding, the output's
//! sha256 (of the embedding as little-endian f32), every checkpoint hash and
//! the trace root. `--json` prints one JSON object instead:
//!
//! ```json
//! {"model_id": hex, "input_tokens": n, "tokens": [ids], "embedding": [f32],
//!  "output_sha256": hex, "checkpoints": [{"index": 0, "name": "input tokens", "hash": hex}, ...],
//!  "trace_root": hex}
//! ```

use aether_infer::{InferError, Model, ModelRun, parse_token_file, tokens::MAX_TOKEN_FILE_BYTES};
use clap::{ArgGroup, Args};
use std::io::{Read, Write};
use std::path::PathBuf;

/// Arguments of `aether-worker infer`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("input").required(true).args(["text", "tokens"])))]
pub struct InferArgs {
    /// The model directory (all-minilm-l6-v2 files).
    #[arg(long)]
    model_dir: PathBuf,
    /// Text to embed.
    #[arg(long)]
    text: Option<String>,
    /// A token file: a JSON array of token ids, e.g. [101, 7592, 102].
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Errors of the command.
#[derive(Debug, thiserror::Error)]
pub enum InferCmdError {
    /// Model or input error.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// Reading the token file or writing the output.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

fn read_token_file(path: &PathBuf) -> Result<Vec<u32>, InferCmdError> {
    let io = |source| InferCmdError::Io {
        what: format!("token file {}", path.display()),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // Read at most one byte past the limit so an oversize file is refused without reading it all.
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok(parse_token_file(&bytes)?)
}

/// Runs the command, writing its report to `out`.
pub fn run(args: &InferArgs, out: &mut impl Write) -> Result<(), InferCmdError> {
    let model = Model::load(&args.model_dir)?;
    let run = match (&args.text, &args.tokens) {
        (Some(text), _) => model.run_text(text)?,
        (None, Some(path)) => model.run(&read_token_file(path)?)?,
        (None, None) => unreachable!("clap requires --text or --tokens"),
    };
    let report = if args.json {
        json(&model, &run)
    } else {
        text(&model, &run)
    };
    out.write_all(report.as_bytes())
        .map_err(|source| InferCmdError::Io {
            what: "writing the report".into(),
            source,
        })
}

fn json(model: &Model, run: &ModelRun) -> String {
    let checkpoints: Vec<serde_json::Value> = run
        .trace
        .hashes()
        .iter()
        .enumerate()
        .map(|(index, h)| serde_json::json!({"index": index, "name": model.checkpoint_name(index), "hash": hex::encode(h)}))
        .collect();
    let v = serde_json::json!({
        "model_id": hex::encode(model.id()),
        "input_tokens": run.input_len,
        "tokens": run.tokens,
        "embedding": run.embedding,
        "output_sha256": hex::encode(run.output_sha256()),
        "checkpoints": checkpoints,
        "trace_root": hex::encode(run.trace.root()),
    });
    format!("{v}\n")
}

fn text(model: &Model, run: &ModelRun) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "model id       {}", hex::encode(model.id()));
    let cut = if run.input_len > run.tokens.len() {
        format!(
            " (truncated from {} to the model's maximum of {})",
            run.input_len,
            model.max_seq_len()
        )
    } else {
        String::new()
    };
    let _ = writeln!(s, "tokens         {}{cut}", run.tokens.len());
    let _ = writeln!(
        s,
        "embedding      {} values (unit length)",
        run.embedding.len()
    );
    for chunk in run.embedding.chunks(8) {
        let row: Vec<String> = chunk.iter().map(|v| format!("{v:>14e}")).collect();
        let _ = writeln!(s, "  {}", row.join(" "));
    }
    let _ = writeln!(s, "output sha256  {}", hex::encode(run.output_sha256()));
    let _ = writeln!(s, "checkpoints");
    for (i, h) in run.trace.hashes().iter().enumerate() {
        let _ = writeln!(
            s,
            "  {i:>2} {:<14} {}",
            model.checkpoint_name(i),
            hex::encode(h)
        );
    }
    let _ = writeln!(s, "trace root     {}", hex::encode(run.trace.root()));
    s
}
