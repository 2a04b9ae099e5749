//! Account key files: the secret key as 64 hex digits (whitespace, a
//! trailing newline and a `0x` prefix allowed), or the JSON written by
//! `aether keys new` (`{"secret_key": "<hex>", ...}`; only `secret_key` is
//! read). The node, the CLI and the worker read keys through here.

use crate::ed25519::Keypair;
use std::path::Path;

/// Parses a secret key in either key-file form.
pub fn parse_secret_key(text: &str) -> Result<Keypair, String> {
    let trimmed = text.trim();
    let hex_text = if trimmed.starts_with('{') {
        #[derive(serde::Deserialize)]
        struct KeyJson {
            secret_key: String,
        }
        let parsed: KeyJson =
            serde_json::from_str(trimmed).map_err(|e| format!("not a key file: {e}"))?;
        parsed.secret_key
    } else {
        trimmed.to_string()
    };
    let hex_text = hex_text.strip_prefix("0x").unwrap_or(&hex_text);
    let bytes = hex::decode(hex_text).map_err(|e| format!("secret key is not hex: {e}"))?;
    let secret: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("secret key has {} bytes, expected 32", b.len()))?;
    Ok(Keypair::from_secret_bytes(&secret))
}

/// Reads a key file; the error names the file.
pub fn read_key_file(path: &Path) -> Result<Keypair, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
    parse_secret_key(&text).map_err(|reason| format!("key file {}: {reason}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_in_both_forms() {
        let k = Keypair::from_secret_bytes(&[3; 32]);
        let hex_form = parse_secret_key(&format!("0x{}\n", "03".repeat(32))).unwrap();
        let json_form = parse_secret_key(&format!(
            "{{\"secret_key\": \"{}\", \"address\": \"x\"}}",
            "03".repeat(32)
        ))
        .unwrap();
        assert_eq!(hex_form.public_key(), k.public_key());
        assert_eq!(json_form.public_key(), k.public_key());
        assert!(parse_secret_key("abcd").unwrap_err().contains("2 bytes"));
        assert!(
            parse_secret_key("{\"nope\": 1}")
                .unwrap_err()
                .contains("not a key file")
        );
        assert!(parse_secret_key("zz").unwrap_err().contains("not hex"));
        let e = read_key_file(Path::new("/nonexistent/key.json")).unwrap_err();
        assert!(e.contains("/nonexistent/key.json"), "{e}");
    }
}
