//! Test support shared by the workspace's test suites.
//!
//! Tests never embed third-party vectors or downloaded inputs; they find them
//! at run time:
//!
//! | what | variable | default |
//! |---|---|---|
//! | shared test vectors | `AETHER_VECTORS` | `<workspace>/../shared/vectors` |
//! | pinned inputs of `inputs.lock` | `AETHER_INPUTS` | `$AETHER_CACHE/inputs`, else `~/.cache/aether/inputs` |
//! | the `sev-snp-measure` reference tool | `AETHER_SEV_SNP_MEASURE` | `<workspace>/.venv/bin/sev-snp-measure` |
//! | the all-MiniLM-L6-v2 model directory | `AETHER_MODEL_DIR` | `$AETHER_INPUTS/all-minilm-l6-v2` |
//!
//! When something is missing, a test **fails** under `CI=true` (CI must never
//! silently skip) and otherwise **skips** with a message saying what to run.
//! The pattern in a test is:
//!
//! ```no_run
//! let Some(dir) = aether_testkit::vectors() else { return };
//! ```

use std::path::{Path, PathBuf};

/// True when running under CI (`CI=true`), where missing data is an error.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Reports a missing prerequisite: panics under CI, prints a skip line otherwise.
pub fn missing(what: &str, hint: &str) {
    if in_ci() {
        panic!("{what} is missing under CI=true: {hint}");
    }
    eprintln!("SKIP: {what} is missing ({hint})");
}

/// The workspace root (the folder holding the top `Cargo.toml`).
///
/// Found from the running test's package directory (`CARGO_MANIFEST_DIR`,
/// which cargo and nextest set when they run a test) by walking up to the
/// `Cargo.toml` that declares the workspace; the compile-time location of
/// this crate is only the fallback, because a build shared between two
/// checkouts (one target directory) would otherwise point at the other one.
pub fn workspace_root() -> PathBuf {
    let is_root = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
    };
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR")
        && let Some(root) = Path::new(&dir).ancestors().find(|d| is_root(d))
    {
        return root.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives one level below the workspace root")
        .to_path_buf()
}

fn cache_dir() -> PathBuf {
    if let Some(c) = std::env::var_os("AETHER_CACHE") {
        return PathBuf::from(c);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/aether")
}

/// The shared test-vector directory, or `None` (after reporting) when absent.
pub fn vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("AETHER_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/vectors"));
    if dir.join("README.md").is_file() {
        Some(dir)
    } else {
        missing(
            &format!("test vectors at {}", dir.display()),
            "set AETHER_VECTORS to the shared vectors directory",
        );
        None
    }
}

/// One file of the shared vectors, e.g. `vector("snp/gosev_attestation.bin")`.
pub fn vector(rel: &str) -> Option<PathBuf> {
    let path = vectors()?.join(rel);
    if path.is_file() {
        Some(path)
    } else {
        missing(
            &format!("vector {}", path.display()),
            "the vectors directory is incomplete",
        );
        None
    }
}

/// A pinned input from `inputs.lock` (e.g. `"ovmf-bookworm.fd"`), fetched by `scripts/setup`.
pub fn input(name: &str) -> Option<PathBuf> {
    let path = inputs_dir().join(name);
    if path.is_file() {
        Some(path)
    } else {
        missing(&format!("input {}", path.display()), "run scripts/setup");
        None
    }
}

fn inputs_dir() -> PathBuf {
    std::env::var_os("AETHER_INPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("inputs"))
}

/// A directory of pinned inputs (rows of `inputs.lock` named `NAME/...`),
/// or `None` (after reporting) when `marker`, a file inside it, is absent.
pub fn input_dir(name: &str, marker: &str) -> Option<PathBuf> {
    let dir = inputs_dir().join(name);
    if dir.join(marker).is_file() {
        Some(dir)
    } else {
        missing(
            &format!("input directory {}", dir.display()),
            "run scripts/setup",
        );
        None
    }
}

/// The all-MiniLM-L6-v2 model directory: `AETHER_MODEL_DIR`, else the pinned
/// input `all-minilm-l6-v2`; `None` (after reporting) when absent.
pub fn minilm_model_dir() -> Option<PathBuf> {
    match std::env::var_os("AETHER_MODEL_DIR") {
        Some(dir) if Path::new(&dir).join("model.safetensors").is_file() => {
            Some(PathBuf::from(dir))
        }
        Some(dir) => {
            missing(
                &format!(
                    "model.safetensors in AETHER_MODEL_DIR={}",
                    Path::new(&dir).display()
                ),
                "point AETHER_MODEL_DIR at the all-minilm-l6-v2 directory, or unset it",
            );
            None
        }
        None => input_dir("all-minilm-l6-v2", "model.safetensors"),
    }
}

/// The `sev-snp-measure` 0.0.13 executable from the project's venv.
pub fn sev_snp_measure() -> Option<PathBuf> {
    let path = std::env::var_os("AETHER_SEV_SNP_MEASURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/sev-snp-measure"));
    if path.is_file() {
        Some(path)
    } else {
        missing(
            &format!("sev-snp-measure at {}", path.display()),
            "run scripts/setup",
        );
        None
    }
}

/// Reads a file of hex text (whitespace ignored) or returns its raw bytes.
pub fn read_maybe_hex(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let text: String = String::from_utf8_lossy(&raw).split_whitespace().collect();
    if !text.is_empty()
        && text.len().is_multiple_of(2)
        && text.bytes().all(|b| b.is_ascii_hexdigit())
    {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("checked hex"))
            .collect()
    } else {
        raw
    }
}

/// A WASM job of the `aether_infer::wasm` step ABI, for tests of jobs,
/// checkpoints and challenges: an FNV-1a fold of the input, 16 bytes per
/// step, progress in exported mutable globals (`pos`, `acc`), output the
/// 8-byte accumulator (40 bytes of input: three steps).
pub const WASM_FOLD_JOB: &str = r#"(module
  (memory (export "memory") 1)
  (global (export "io") i32 (i32.const 1024))
  (global $pos (export "pos") (mut i32) (i32.const 0))
  (global $acc (export "acc") (mut i64) (i64.const 14695981039346656037))
  (func (export "step") (result i32)
    (local $len i32) (local $end i32)
    (local.set $len (i32.load (i32.const 1024)))
    (local.set $end (i32.add (global.get $pos) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $len)) (then (local.set $end (local.get $len))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (global.get $pos) (local.get $end)))
      (global.set $acc (i64.mul
        (i64.xor (global.get $acc) (i64.load8_u offset=1028 (global.get $pos)))
        (i64.const 1099511628211)))
      (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
      (br $l)))
    (if (result i32) (i32.ge_u (global.get $pos) (local.get $len))
      (then (i32.store (i32.const 1024) (i32.const 8))
            (i64.store (i32.const 1028) (global.get $acc))
            (i32.const 1))
      (else (i32.const 0)))))"#;

/// A one-shot HTTP/1.1 server on 127.0.0.1: answers the first request with
/// `status` (e.g. `"200 OK"`) and `body`, then closes. Returns its address.
pub fn serve_once(status: &'static str, body: Vec<u8>) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&body);
    });
    addr
}
