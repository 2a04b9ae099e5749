//! Cross-check against an independent implementation (candle's BERT) and
//! against the figures published in the sentence-transformers documentation.

mod common;

#[path = "common/candle_ref.rs"]
mod candle_ref;

use candle_ref::CandleBert;
use common::{cosine, model};

const SENTENCES: [&str; 8] = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "A man is playing guitar.",
    "Proof-of-stake chains finalise blocks once two thirds of the stake has voted.",
    "Ünïcödé, punctuation!? and numbers 12345 — all go through WordPiece.",
    "a",
    "Deterministic inference means that anyone who re-runs the job gets the same bits, on any x86-64 processor, whatever the build flags, because every sum is computed in one fixed order.",
];

#[test]
fn cosine_with_candle_is_at_least_0_9999() {
    let Some(model) = model() else { return };
    let Some(dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    let candle = CandleBert::load(&dir);
    let mut long = "many words ".repeat(200);
    long.push('.');
    for text in SENTENCES.iter().copied().chain([long.as_str()]) {
        let run = model.run_text(text).unwrap();
        let theirs = candle.embed(&run.tokens);
        let c = cosine(&run.embedding, &theirs);
        println!("1 - cosine {:.1e}  {text:.40}", 1.0 - c);
        assert!(c >= 0.9999, "{text}: cosine {c}");
    }
    // Layer by layer too: our last hidden states against candle's.
    let run = model.run_text(SENTENCES[0]).unwrap();
    let aether_infer::checkpoint::Tensor::F32 { values, .. } =
        aether_infer::checkpoint::Tensor::decode(&run.checkpoints[6]).unwrap()
    else {
        panic!("hidden states")
    };
    let theirs: Vec<f32> = candle.hidden(&run.tokens).concat();
    let max_diff = values
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        max_diff < 1e-3,
        "largest difference of the last hidden states: {max_diff}"
    );
}

/// The quick-start example of the sentence-transformers documentation,
/// "Usage" page (https://sbert.net/docs/sentence_transformer/usage/usage.html):
/// `SentenceTransformer("all-MiniLM-L6-v2")` on these three sentences prints
/// `tensor([[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]])`.
/// The figures are rounded to 4 decimals, so we allow 1e-4.
#[test]
fn published_example_similarities() {
    let Some(model) = model() else { return };
    let e: Vec<Vec<f32>> = [
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
    ]
    .iter()
    .map(|s| model.run_text(s).unwrap().embedding)
    .collect();
    for ((i, j), published) in [((0, 1), 0.6660), ((0, 2), 0.1046), ((1, 2), 0.1411)] {
        let ours = cosine(&e[i], &e[j]);
        println!("similarity({i},{j}) = {ours:.6}, published {published}");
        assert!(
            (ours - published).abs() <= 1e-4,
            "({i},{j}): {ours} vs published {published}"
        );
    }
}
