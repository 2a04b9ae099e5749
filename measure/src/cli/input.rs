//! Input helpers shared by the subcommands: files that may be raw binary or hex
//! text, hex arguments, and verification times.

use std::path::Path;
use std::process::ExitCode;

/// Exit status for a usage or I/O error.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Reads `path`, returning its bytes; a file that is entirely hex text
/// (whitespace ignored, optional `0x` prefix) is decoded.
pub(crate) fn read_binary_or_hex(path: &Path) -> Result<Vec<u8>, String> {
    let raw = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(decode_if_hex(raw))
}

/// Decodes `raw` as hex text when it is entirely hex (whitespace ignored,
/// optional `0x` prefix); otherwise returns it unchanged.
pub(crate) fn decode_if_hex(raw: Vec<u8>) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(&raw) else {
        return raw;
    };
    let compact: String = text.split_whitespace().collect();
    let body = compact.strip_prefix("0x").unwrap_or(&compact);
    if body.is_empty()
        || !body.len().is_multiple_of(2)
        || !body.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return raw;
    }
    hex::decode(body).unwrap_or(raw)
}

/// Parses a hex argument (optional `0x` prefix) of exactly `len` bytes when `len` is given.
pub(crate) fn parse_hex_arg(
    name: &str,
    value: &str,
    len: Option<usize>,
) -> Result<Vec<u8>, String> {
    let body = value.trim().strip_prefix("0x").unwrap_or(value.trim());
    let bytes = hex::decode(body).map_err(|e| format!("{name}: not valid hex ({e})"))?;
    match len {
        Some(n) if bytes.len() != n => Err(format!(
            "{name}: expected {n} bytes ({} hex digits), got {} bytes",
            2 * n,
            bytes.len()
        )),
        _ => Ok(bytes),
    }
}

/// Parses a verification time: RFC 3339 (`2025-07-01T00:00:00Z`) or Unix seconds.
/// `None` means now.
pub(crate) fn parse_time(value: Option<&str>) -> Result<time::OffsetDateTime, String> {
    let Some(value) = value else {
        return Ok(time::OffsetDateTime::now_utc());
    };
    if let Ok(secs) = value.trim().parse::<i64>() {
        return time::OffsetDateTime::from_unix_timestamp(secs)
            .map_err(|e| format!("--at: {value} is out of range: {e}"));
    }
    time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("--at: expected RFC 3339 time or Unix seconds, got {value:?} ({e})"))
}

/// Prints `Error: msg` to stderr and returns the usage/I/O exit status.
pub(crate) fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("Error: {msg}");
    ExitCode::from(EXIT_USAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_files_are_decoded_and_binary_kept() {
        assert_eq!(decode_if_hex(b"0a0B\n 0c".to_vec()), vec![0x0a, 0x0b, 0x0c]);
        assert_eq!(decode_if_hex(b"0x0a0b".to_vec()), vec![0x0a, 0x0b]);
        assert_eq!(decode_if_hex(vec![0xff, 0x00]), vec![0xff, 0x00]);
        assert_eq!(decode_if_hex(b"abc".to_vec()), b"abc".to_vec());
    }

    #[test]
    fn hex_args_check_length() {
        assert_eq!(parse_hex_arg("--x", "0x0102", Some(2)).unwrap(), vec![1, 2]);
        assert!(
            parse_hex_arg("--x", "0102", Some(3))
                .unwrap_err()
                .contains("expected 3 bytes")
        );
        assert!(
            parse_hex_arg("--x", "zz", None)
                .unwrap_err()
                .contains("not valid hex")
        );
    }

    #[test]
    fn times_parse_both_forms() {
        let a = parse_time(Some("1751328000")).unwrap();
        let b = parse_time(Some("2025-07-01T00:00:00Z")).unwrap();
        assert_eq!(a, b);
        assert!(parse_time(Some("yesterday")).is_err());
    }
}
