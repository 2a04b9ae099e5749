//! The model end to end: golden hashes, segment re-execution, trace proofs,
//! tokenisation, truncation and bad input.

mod common;

use aether_infer::checkpoint::{Tensor, encode_f32, encode_tokens};
use aether_infer::{InferError, Model, ModelSpec, checkpoint_hash, verify_trace_proof};
use common::{GOLDEN, golden_inputs, model};

#[test]
fn golden_hashes() {
    let Some(model) = model() else { return };
    let got: Vec<(&str, String, String)> = golden_inputs()
        .into_iter()
        .map(|(name, tokens)| {
            let run = model.run(&tokens).unwrap();
            (
                name,
                hex::encode(run.output_sha256()),
                hex::encode(run.trace.root()),
            )
        })
        .collect();
    for (name, out, root) in &got {
        println!("(\"{name}\", \"{out}\", \"{root}\"),");
    }
    let want: Vec<(&str, String, String)> = GOLDEN
        .iter()
        .map(|(n, o, r)| (*n, o.to_string(), r.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn model_id_of_the_files_is_the_pinned_one() {
    let Some(dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    assert_eq!(
        aether_infer::model_id(&dir).unwrap(),
        ModelSpec::ALL_MINILM_L6_V2.model_id()
    );
    let Some(model) = model() else { return };
    assert_eq!(model.id(), ModelSpec::ALL_MINILM_L6_V2.model_id());
}

#[test]
fn every_segment_rerun_alone_reproduces_its_checkpoint() {
    let Some(model) = model() else { return };
    let run = model.run(&golden_inputs()[0].1).unwrap();
    assert_eq!(run.checkpoints.len(), 8);
    assert_eq!(model.segment_count(), 7);
    for j in 1..=model.segment_count() {
        let again = model.run_segment(j, &run.checkpoints[j - 1]).unwrap();
        assert_eq!(again, run.checkpoints[j], "segment {j}");
        assert_eq!(checkpoint_hash(&again), run.trace.hashes()[j]);
    }
    // The checkpoints are what the module docs say.
    assert_eq!(run.checkpoints[0], encode_tokens(&run.tokens));
    for j in 1..=6 {
        match Tensor::decode(&run.checkpoints[j]).unwrap() {
            Tensor::F32 { shape, .. } => assert_eq!(shape, vec![run.tokens.len(), 384]),
            t => panic!("checkpoint {j}: {t:?}"),
        }
    }
    assert_eq!(run.checkpoints[7], encode_f32(&[384], &run.embedding));
    let norm: f32 = run.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");
}

#[test]
fn a_challenger_proves_checkpoint_j_minus_1_and_catches_a_wrong_checkpoint_j() {
    let Some(model) = model() else { return };
    let honest = model.run(&golden_inputs()[0].1).unwrap();
    // A provider that cheats from layer 3 on: checkpoint 3 differs.
    let mut cheat = honest.checkpoints.clone();
    let Tensor::F32 { shape, mut values } = Tensor::decode(&cheat[3]).unwrap() else {
        panic!()
    };
    values[0] += 0.5;
    cheat[3] = encode_f32(&shape, &values);
    let cheat_trace = aether_infer::Trace::of_data(&cheat);
    let j = (0..cheat.len())
        .find(|i| cheat_trace.hashes()[*i] != honest.trace.hashes()[*i])
        .unwrap();
    assert_eq!(j, 3);
    // Checkpoint j-1's data, proven against the provider's root.
    let proof = cheat_trace.proof(j - 1).unwrap();
    let data = &honest.checkpoints[j - 1];
    assert!(verify_trace_proof(
        &cheat_trace.root(),
        j - 1,
        &checkpoint_hash(data),
        &proof
    ));
    // The provider's checkpoint j, proven too, differs from the re-execution.
    let claimed = cheat_trace.hashes()[j];
    assert!(verify_trace_proof(
        &cheat_trace.root(),
        j,
        &claimed,
        &cheat_trace.proof(j).unwrap()
    ));
    let recomputed = checkpoint_hash(&model.run_segment(j, data).unwrap());
    assert_ne!(recomputed, claimed);
    assert_eq!(recomputed, honest.trace.hashes()[j]);
}

#[test]
fn text_tokenises_like_the_golden_ids_and_runs_the_same() {
    let Some(model) = model() else { return };
    let ids = model.tokenize("The weather is lovely today.").unwrap();
    assert_eq!(ids, golden_inputs()[0].1);
    let a = model.run_text("The weather is lovely today.").unwrap();
    let b = model.run(&ids).unwrap();
    assert_eq!(a.trace, b.trace);
    // The tokenizer.json's own padding/truncation to 128 is off.
    assert_eq!(a.tokens.len(), 8);
}

#[test]
fn long_input_is_truncated_to_max_seq_length_keeping_sep() {
    let Some(model) = model() else { return };
    assert_eq!(model.max_seq_len(), 256);
    let text = "word ".repeat(400);
    let ids = model.tokenize(&text).unwrap();
    assert_eq!(ids.len(), 402);
    let run = model.run(&ids).unwrap();
    assert_eq!(run.input_len, 402);
    assert_eq!(run.tokens.len(), 256);
    assert_eq!(run.tokens[255], 102);
    assert_eq!(run.tokens[..255], ids[..255]);
    // Exactly the run of the already-truncated input.
    assert_eq!(model.run(&run.tokens).unwrap().trace, run.trace);
}

#[test]
fn bad_tokens_are_clear_errors() {
    let Some(model) = model() else { return };
    assert!(matches!(model.run(&[]), Err(InferError::EmptyInput)));
    let e = model.run(&[101, 30522, 102]).unwrap_err();
    assert!(
        matches!(
            e,
            InferError::UnknownToken {
                id: 30522,
                position: 1,
                vocab_size: 30522
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("not in the vocabulary"));
    assert!(matches!(
        model.run(&[101, u32::MAX]),
        Err(InferError::UnknownToken { .. })
    ));
}

#[test]
fn segments_refuse_bad_checkpoint_data() {
    let Some(model) = model() else { return };
    let run = model.run(&golden_inputs()[0].1).unwrap();
    let seg_err = |j: usize, data: &[u8]| model.run_segment(j, data).unwrap_err();
    assert!(matches!(
        seg_err(0, &run.checkpoints[0]),
        InferError::NoSuchSegment { .. }
    ));
    assert!(matches!(
        seg_err(8, &run.checkpoints[7]),
        InferError::NoSuchSegment { .. }
    ));
    assert!(matches!(
        seg_err(2, &run.checkpoints[0]),
        InferError::SegmentInput { segment: 2, .. }
    ));
    assert!(matches!(
        seg_err(1, &run.checkpoints[1]),
        InferError::SegmentInput { segment: 1, .. }
    ));
    assert!(matches!(
        seg_err(1, &encode_tokens(&[101, 40000])),
        InferError::SegmentInput { .. }
    ));
    assert!(matches!(
        seg_err(1, &encode_tokens(&vec![101; 257])),
        InferError::SegmentInput { .. }
    ));
    assert!(matches!(
        seg_err(3, &encode_f32(&[2, 383], &[0.0; 766])),
        InferError::SegmentInput { .. }
    ));
    assert!(matches!(
        seg_err(7, &encode_f32(&[384], &[0.0; 384])),
        InferError::SegmentInput { .. }
    ));
    assert!(matches!(
        seg_err(3, &run.checkpoints[2][..100]),
        InferError::Checkpoint(_)
    ));
}

fn copy_model(dir: &std::path::Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for f in aether_infer::MODEL_FILES {
        let dst = tmp.path().join(f);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(dir.join(f), dst).unwrap();
    }
    tmp
}

#[test]
fn missing_or_corrupt_model_files_name_the_file() {
    let Some(dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    let tmp = copy_model(&dir);
    // Corrupt: the pin check names the file and both hashes.
    let cfg = tmp.path().join("1_Pooling/config.json");
    let mut bytes = std::fs::read(&cfg).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&cfg, &bytes).unwrap();
    let e = Model::load(tmp.path()).unwrap_err();
    match &e {
        InferError::HashMismatch {
            file,
            expected,
            actual,
        } => {
            assert_eq!(file, "1_Pooling/config.json");
            assert_eq!(
                expected,
                "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"
            );
            assert_ne!(actual, expected);
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("1_Pooling/config.json"));
    // Missing (the other files intact again).
    bytes[10] ^= 1;
    std::fs::write(&cfg, &bytes).unwrap();
    std::fs::remove_file(tmp.path().join("tokenizer.json")).unwrap();
    let e = Model::load(tmp.path()).unwrap_err();
    assert!(
        matches!(e, InferError::ReadFile { .. }) && e.to_string().contains("tokenizer.json"),
        "{e}"
    );
}

/// A change to a file's bytes.
type Corruption = fn(&mut Vec<u8>);

#[test]
fn unusable_files_with_matching_pins_are_errors_not_panics() {
    let Some(dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    let cases: [(&str, Corruption); 5] = [
        ("model.safetensors", |b| b.truncate(b.len() / 2)),
        ("model.safetensors", |b| {
            b[..8].copy_from_slice(&u64::MAX.to_le_bytes())
        }),
        ("config.json", |b| {
            *b = b.replace_str("\"gelu\"", "\"relu\"")
        }),
        ("sentence_bert_config.json", |b| {
            *b = b"{\"max_seq_length\": 100000}".to_vec()
        }),
        ("tokenizer.json", |b| b.truncate(100)),
    ];
    for (file, corrupt) in cases {
        let tmp = copy_model(&dir);
        let path = tmp.path().join(file);
        let mut bytes = std::fs::read(&path).unwrap();
        corrupt(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        // Trust the corrupted files' hashes: the content checks must catch them.
        let spec = ModelSpec::of_dir(tmp.path()).unwrap();
        let e = Model::load_with_spec(tmp.path(), &spec).unwrap_err();
        assert!(matches!(e, InferError::BadModelFile { .. }), "{file}: {e}");
        assert!(e.to_string().contains(file), "{e}");
    }
}

trait ReplaceStr {
    fn replace_str(&self, from: &str, to: &str) -> Vec<u8>;
}

impl ReplaceStr for Vec<u8> {
    fn replace_str(&self, from: &str, to: &str) -> Vec<u8> {
        String::from_utf8(self.clone())
            .unwrap()
            .replace(from, to)
            .into_bytes()
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Attacker-chosen checkpoint data never panics a segment.
        #[test]
        fn segments_never_panic_on_arbitrary_data(j in 0usize..9, bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let Some(model) = model() else { return Ok(()) };
            let _ = model.run_segment(j, &bytes);
        }

        /// Well-framed but arbitrary tensors: errors or results, never panics,
        /// and a result always has the shape the next segment takes.
        #[test]
        fn segments_never_panic_on_arbitrary_tensors(j in 1usize..8, rows in 1usize..6, wide in any::<bool>(), seed in any::<u32>()) {
            let Some(model) = model() else { return Ok(()) };
            let cols = if wide { 384 } else { 383 };
            let values: Vec<f32> = (0..rows * cols).map(|i| f32::from_bits(seed.wrapping_mul(i as u32 + 1))).collect();
            let data = encode_f32(&[rows, cols], &values);
            if let Ok(out) = model.run_segment(j, &data) {
                prop_assert!(wide && j >= 2);
                prop_assert!(Tensor::decode(&out).is_ok());
            }
            let tokens: Vec<u32> = (0..rows as u32).map(|i| seed.wrapping_add(i) % 40_000).collect();
            match model.run(&tokens) {
                Ok(run) => prop_assert!(tokens.iter().all(|t| *t < 30_522) && run.embedding.len() == 384),
                Err(e) => prop_assert!(matches!(e, InferError::UnknownToken { .. }), "{}", e),
            }
        }
    }
}

/// Jobs run in parallel on shared models: one model serves many threads.
#[test]
fn model_is_shared_between_threads_with_the_same_results() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Model>();
    assert_send_sync::<aether_infer::WasmJob>();
    let Some(model) = model() else { return };
    let tokens = golden_inputs()[0].1.clone();
    let roots: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| model.run(&tokens).unwrap().trace.root()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(roots[0], roots[1]);
    assert_eq!(hex::encode(roots[0]), GOLDEN[0].2);
}
