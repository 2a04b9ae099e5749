//! Input helpers shared by the subcommands: files that may be raw binary or hex
//! text, hex arguments, and verification times.

use std::path::Path;
use std::process::ExitCode;

/// Exit status for a usage or I/O error.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Files at least this large are mapped rather than copied.
const MAP_THRESHOLD: u64 = 1 << 20;

/// A whole input file: mapped read-only when it is a large regular file (the
/// firmware is 4 MiB and hashing it is most of a run: copying it into a fresh
/// buffer first cost about a third of the process's time), read otherwise.
pub(crate) enum FileBytes {
    /// A read-only private mapping of the file.
    Mapped(memmap2::Mmap),
    /// The file's contents read into memory.
    Read(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Read(v) => v,
        }
    }
}

/// Reads (or maps) the whole file at `path`.
pub(crate) fn file_bytes(path: &Path) -> std::io::Result<FileBytes> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() >= MAP_THRESHOLD {
        // SAFETY: a private read-only mapping of a regular file this process
        // opened. The one hazard is another process truncating or rewriting
        // the file while it is mapped (SIGBUS, or bytes changing under the
        // hash); the inputs are build artifacts that nothing rewrites during a
        // measurement, the same bargain `sev-snp-measure`-style tools and
        // ripgrep make. No reference to the bytes outlives the run.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) };
        if let Ok(map) = map {
            return Ok(FileBytes::Mapped(map));
        }
    }
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    std::io::Read::read_to_end(&mut &file, &mut data)?;
    Ok(FileBytes::Read(data))
}

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
    fn large_files_are_mapped_small_ones_read_and_both_equal_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..(MAP_THRESHOLD as usize + 4097))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(dir.path().join("big"), &big).unwrap();
        std::fs::write(dir.path().join("small"), b"tiny").unwrap();
        let b = file_bytes(&dir.path().join("big")).unwrap();
        assert!(matches!(b, FileBytes::Mapped(_)));
        assert_eq!(&b[..], &big[..]);
        let s = file_bytes(&dir.path().join("small")).unwrap();
        assert!(matches!(s, FileBytes::Read(_)));
        assert_eq!(&s[..], b"tiny");
        assert!(file_bytes(&dir.path().join("absent")).is_err());
        assert!(
            file_bytes(dir.path()).is_err(),
            "a directory is not an input"
        );
    }

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
