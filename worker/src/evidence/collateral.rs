//! Where certificates and collateral come from when the platform does not
//! hand them out with the report: a file, or a URL fetched over HTTP(S).
//!
//! | what | production source | form |
//! |---|---|---|
//! | SEV-SNP VCEK | AMD KDS, `https://kdsintf.amd.com/vcek/v1/{product}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..` (hwid = CHIP_ID, SPLs = REPORTED_TCB), or the host's certificate table | DER (KDS), PEM bundle accepted |
//! | SEV-SNP VLEK | the cloud (e.g. AWS loads it into the host's table) | DER/PEM |
//! | TDX collateral | the provider's PCCS (`/sgx/certification/v4/tcb?fmspc=..`, `/qe/identity`, `/pckcrl`, root CA CRL) or Intel PCS, for the FMSPC of the quote's PCK certificate | dcap-qvl `QuoteCollateralV3` JSON (what `aether-evidence` takes) |
//!
//! A worker is configured with a file it keeps current (a cron job or a
//! sidecar that asks PCCS/KDS) or a URL that serves the final bytes. Not
//! done here: assembling `QuoteCollateralV3` from a PCCS's separate
//! answers, and computing the KDS URL from a report: there is no network
//! to AMD or Intel from this project's machines, so neither could be
//! tested against the real services.

use std::path::PathBuf;
use std::time::Duration;

/// The largest certificate or collateral accepted.
pub const MAX_BYTES: u64 = 4 << 20;
/// Time allowed for a URL fetch.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// A file or a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A local file.
    File(PathBuf),
    /// An `http://` or `https://` URL.
    Url(String),
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("http://") || s.starts_with("https://") {
            Ok(Source::Url(s.to_string()))
        } else if let Some(p) = s.strip_prefix("file:") {
            Ok(Source::File(p.into()))
        } else if s.is_empty() || s.contains("://") {
            Err(format!(
                "{s:?}: expected a file path, file:PATH, or an http(s):// URL"
            ))
        } else {
            Ok(Source::File(s.into()))
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Url(u) => f.write_str(u),
        }
    }
}

impl Source {
    /// The bytes (at most [`MAX_BYTES`]), or why not.
    pub fn fetch(&self) -> Result<Vec<u8>, String> {
        match self {
            Source::File(p) => {
                use std::io::Read;
                let f = std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
                let mut v = Vec::new();
                f.take(MAX_BYTES + 1)
                    .read_to_end(&mut v)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                if v.len() as u64 > MAX_BYTES {
                    return Err(format!("{}: larger than {MAX_BYTES} bytes", p.display()));
                }
                Ok(v)
            }
            Source::Url(u) => {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(FETCH_TIMEOUT))
                    .build()
                    .into();
                let mut resp = agent.get(u).call().map_err(|e| format!("{u}: {e}"))?;
                resp.body_mut()
                    .with_config()
                    .limit(MAX_BYTES)
                    .read_to_vec()
                    .map_err(|e| format!("{u}: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(
            "/etc/vcek.der".parse(),
            Ok(Source::File("/etc/vcek.der".into()))
        );
        assert_eq!(
            "file:rel/c.json".parse(),
            Ok(Source::File("rel/c.json".into()))
        );
        assert_eq!(
            "https://pccs.example:8081/c.json".parse(),
            Ok(Source::Url("https://pccs.example:8081/c.json".into()))
        );
        assert!("ftp://x".parse::<Source>().is_err());
        assert!("".parse::<Source>().is_err());
    }

    #[test]
    fn files_are_read_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(&p, b"{}").unwrap();
        assert_eq!(Source::File(p.clone()).fetch().unwrap(), b"{}");
        std::fs::File::create(&p)
            .unwrap()
            .set_len(MAX_BYTES + 1)
            .unwrap();
        assert!(Source::File(p).fetch().unwrap_err().contains("larger than"));
        let missing = Source::File(dir.path().join("none")).fetch().unwrap_err();
        assert!(missing.contains("none"), "{missing}");
    }

    /// A one-shot HTTP/1.1 server on 127.0.0.1 answering `status` and `body`.
    fn serve_once(status: &'static str, body: Vec<u8>) -> String {
        let addr = aether_testkit::serve_once(status, body);
        format!("http://{addr}/collateral.json")
    }

    #[test]
    fn urls_are_fetched_and_errors_named() {
        let url = serve_once("200 OK", b"{\"tcb_info\": 1}".to_vec());
        assert_eq!(Source::Url(url).fetch().unwrap(), b"{\"tcb_info\": 1}");
        let url = serve_once("404 Not Found", b"no".to_vec());
        let err = Source::Url(url.clone()).fetch().unwrap_err();
        assert!(err.contains(&url) && err.contains("404"), "{err}");
    }
}
