//! Token files: the `--tokens FILE` input of `aether-worker infer` and of
//! jobs given as token ids.
//!
//! A token file is a JSON array of token ids, e.g. `[101, 7592, 2088, 102]`
//! (whitespace free; at most [`MAX_TOKEN_FILE_BYTES`] bytes). Ids are
//! unsigned 32-bit integers; whether they are in the vocabulary, and the
//! truncation, are the model's checks ([`crate::Model::prepare_tokens`]).

use crate::error::InferError;

/// The largest token file accepted (1 MiB).
pub const MAX_TOKEN_FILE_BYTES: usize = 1 << 20;

/// Parses a token file. Never panics; every malformed input is an error.
pub fn parse_token_file(bytes: &[u8]) -> Result<Vec<u32>, InferError> {
    if bytes.len() > MAX_TOKEN_FILE_BYTES {
        return Err(InferError::TokenFile(format!(
            "{} bytes, more than the limit of {MAX_TOKEN_FILE_BYTES}",
            bytes.len()
        )));
    }
    serde_json::from_slice::<Vec<u32>>(bytes).map_err(|e| {
        InferError::TokenFile(format!(
            "expected a JSON array of token ids (unsigned integers), e.g. [101, 7592, 102]: {e}"
        ))
    })
}

/// A model job's input as the chain carries it: token ids as u32
/// little-endian, 4 bytes each.
pub fn encode_job_tokens(tokens: &[u32]) -> Vec<u8> {
    tokens.iter().flat_map(|t| t.to_le_bytes()).collect()
}

/// The token ids of a model job's input (see [`encode_job_tokens`]); an
/// input whose length is not a multiple of 4 is an error.
pub fn decode_job_tokens(input: &[u8]) -> Result<Vec<u32>, String> {
    if !input.len().is_multiple_of(4) {
        return Err(format!(
            "input of {} bytes is not u32 token ids",
            input.len()
        ));
    }
    Ok(input
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_tokens_round_trip_and_odd_lengths_are_refused() {
        let t = [101, 7592, u32::MAX, 0];
        assert_eq!(decode_job_tokens(&encode_job_tokens(&t)).unwrap(), t);
        assert!(
            decode_job_tokens(&[1, 2, 3])
                .unwrap_err()
                .contains("3 bytes")
        );
    }
    use proptest::prelude::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            parse_token_file(b" [101, 7592,102]\n").unwrap(),
            vec![101, 7592, 102]
        );
        assert_eq!(parse_token_file(b"[]").unwrap(), Vec::<u32>::new());
        for bad in [
            &b""[..],
            b"101 102",
            b"[101, -1]",
            b"[1.5]",
            b"[4294967296]",
            b"{\"a\":1}",
            b"[101,",
            b"[\"101\"]",
        ] {
            let e = parse_token_file(bad).unwrap_err();
            assert!(matches!(e, InferError::TokenFile(_)), "{bad:?}: {e}");
        }
        let big = vec![b' '; MAX_TOKEN_FILE_BYTES + 1];
        assert!(
            parse_token_file(&big)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_token_file(&bytes);
        }

        #[test]
        fn round_trips(ids in proptest::collection::vec(any::<u32>(), 0..50)) {
            let text = serde_json::to_vec(&ids).unwrap();
            prop_assert_eq!(parse_token_file(&text).unwrap(), ids);
        }
    }
}
