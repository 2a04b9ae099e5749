//! `aether-worker infer` as a user runs it.

use std::process::{Command, Output};

fn worker(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aether-worker"))
        .args(args)
        .output()
        .expect("run aether-worker")
}

#[test]
fn infer_text_json_matches_the_token_file_run() {
    let Some(dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    let dir = dir.to_str().unwrap();
    let out = worker(&[
        "infer",
        "--model-dir",
        dir,
        "--text",
        "The weather is lovely today.",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["embedding"].as_array().unwrap().len(), 384);
    assert_eq!(v["checkpoints"].as_array().unwrap().len(), 8);
    assert_eq!(v["checkpoints"][0]["name"], "input tokens");
    assert_eq!(v["checkpoints"][7]["name"], "embedding");
    assert_eq!(v["trace_root"].as_str().unwrap().len(), 64);
    assert_eq!(
        v["model_id"].as_str().unwrap(),
        hex::encode(aether_infer::ModelSpec::ALL_MINILM_L6_V2.model_id())
    );

    let tmp = tempfile::tempdir().unwrap();
    let tokens = tmp.path().join("tokens.json");
    std::fs::write(&tokens, serde_json::to_vec(&v["tokens"]).unwrap()).unwrap();
    let out2 = worker(&[
        "infer",
        "--model-dir",
        dir,
        "--tokens",
        tokens.to_str().unwrap(),
        "--json",
    ]);
    assert!(out2.status.success());
    let v2: serde_json::Value = serde_json::from_slice(&out2.stdout).unwrap();
    assert_eq!(v2, v);

    // The text report carries the same root and every checkpoint hash.
    let text = worker(&[
        "infer",
        "--model-dir",
        dir,
        "--tokens",
        tokens.to_str().unwrap(),
    ]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(v["trace_root"].as_str().unwrap()), "{text}");
    for cp in v["checkpoints"].as_array().unwrap() {
        assert!(text.contains(cp["hash"].as_str().unwrap()));
    }
    assert!(text.contains("layer 6"));
}

#[test]
fn infer_reports_bad_input_clearly() {
    let Some(dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    let dir = dir.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("malformed", b"[101, 7592", "token file"),
        ("unknown", b"[101, 99999, 102]", "not in the vocabulary"),
        ("empty", b"[]", "no tokens"),
        ("negative", b"[-1]", "token file"),
    ];
    for (name, body, want) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, body).unwrap();
        let out = worker(&[
            "infer",
            "--model-dir",
            dir,
            "--tokens",
            path.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let missing = worker(&["infer", "--model-dir", "/nonexistent", "--text", "x"]);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1));
    assert!(err.contains("/nonexistent/config.json"), "{err}");
    let nofile = worker(&[
        "infer",
        "--model-dir",
        dir,
        "--tokens",
        "/nonexistent/tokens.json",
    ]);
    assert!(String::from_utf8_lossy(&nofile.stderr).contains("/nonexistent/tokens.json"));
    // Exactly one of --text and --tokens.
    assert_eq!(
        worker(&["infer", "--model-dir", dir]).status.code(),
        Some(2)
    );
    assert_eq!(
        worker(&["infer", "--model-dir", dir, "--text", "a", "--tokens", "b"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn long_text_is_truncated_and_says_so() {
    let Some(dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    let text = "word ".repeat(300);
    let out = worker(&[
        "infer",
        "--model-dir",
        dir.to_str().unwrap(),
        "--text",
        &text,
    ]);
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.contains("256 (truncated from 302 to the model's maximum of 256)"),
        "{s}"
    );
}
