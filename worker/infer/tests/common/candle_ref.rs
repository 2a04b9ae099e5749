//! The independent implementation: candle's BERT (candle-transformers) on
//! the same weights, with sentence-transformers' mean pooling and L2
//! normalisation done in f64 on its output.

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use std::path::Path;

/// candle's BertModel on the CPU.
pub struct CandleBert {
    model: BertModel,
    device: Device,
}

impl CandleBert {
    /// Loads config.json and model.safetensors from `dir`.
    pub fn load(dir: &Path) -> CandleBert {
        let device = Device::Cpu;
        let config: Config =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        let weights = std::fs::read(dir.join("model.safetensors")).unwrap();
        let vb = VarBuilder::from_buffered_safetensors(weights, DTYPE, &device).unwrap();
        CandleBert {
            model: BertModel::load(vb, &config).unwrap(),
            device,
        }
    }

    /// The hidden states of the last layer, `[n][hidden]`.
    pub fn hidden(&self, tokens: &[u32]) -> Vec<Vec<f32>> {
        let ids = Tensor::new(tokens, &self.device)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let types = ids.zeros_like().unwrap();
        let out = self.model.forward(&ids, &types, None).unwrap();
        out.squeeze(0).unwrap().to_vec2().unwrap()
    }

    /// The sentence embedding: mean over tokens, L2-normalised.
    pub fn embed(&self, tokens: &[u32]) -> Vec<f32> {
        let hidden = self.hidden(tokens);
        let n = hidden.len() as f64;
        let mean: Vec<f64> = (0..hidden[0].len())
            .map(|c| hidden.iter().map(|row| f64::from(row[c])).sum::<f64>() / n)
            .collect();
        let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
        mean.iter().map(|v| (v / norm) as f32).collect()
    }
}
