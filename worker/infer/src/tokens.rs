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

#[cfg(test)]
mod tests {
    use super::*;
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
