//! Job data kept off chain ([`JobData::External`]): fetching it from its
//! location and checking it against the size and hash the chain holds.
//! The worker fetches external inputs with it, `aether job result` large
//! outputs.

use aether_types::{Digest, JobData};
use std::io::Read;
use std::time::Duration;

/// The most external job data fetched (64 MiB).
pub const MAX_EXTERNAL_DATA: u64 = 64 << 20;

/// Why job data could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data is larger than the caller accepts.
    #[error("{size} bytes at {location}: above the {limit}-byte limit")]
    TooLarge {
        /// Where it is.
        location: String,
        /// Its size on chain.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The GET failed or sent more than announced.
    #[error("GET {url}: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The bytes are not the data the chain names.
    #[error(
        "{location}: {got_size} bytes hashing to {got}, the chain says {size} bytes hashing to {want}"
    )]
    Mismatch {
        /// Where they came from.
        location: String,
        /// Hash of what was fetched.
        got: Digest,
        /// Bytes fetched.
        got_size: u64,
        /// The hash on chain.
        want: Digest,
        /// The size on chain.
        size: u64,
    },
}

/// GET `url` (http or https), at most `limit` bytes. One agent (30 s per
/// request) serves every call, so connections to a host are reused.
pub fn fetch(url: &str, limit: u64) -> Result<Vec<u8>, DataError> {
    static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
    let agent = AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent()
    });
    let failed = |reason: String| DataError::Fetch {
        url: url.to_string(),
        reason,
    };
    let response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| failed(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(failed(format!("more than {limit} bytes")));
    }
    Ok(bytes)
}

/// The bytes of `data`: inline, or fetched from its location (when its
/// size is at most `limit`) and checked against its size and hash.
pub fn data_bytes(data: &JobData, limit: u64) -> Result<Vec<u8>, DataError> {
    match data {
        JobData::Inline(b) => Ok(b.as_slice().to_vec()),
        JobData::External {
            hash,
            size,
            location,
        } => {
            let location = location.as_str();
            if *size > limit {
                return Err(DataError::TooLarge {
                    location: location.to_string(),
                    size: *size,
                    limit,
                });
            }
            let bytes = fetch(location, *size)?;
            let got = JobData::hash_bytes(&bytes);
            if got != *hash || bytes.len() as u64 != *size {
                return Err(DataError::Mismatch {
                    location: location.to_string(),
                    got,
                    got_size: bytes.len() as u64,
                    want: *hash,
                    size: *size,
                });
            }
            Ok(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::BoundedString;

    /// Serves `body` to one GET on a loopback port; the URL.
    fn serve_once(body: Vec<u8>) -> String {
        format!("http://{}/data", aether_testkit::serve_once("200 OK", body))
    }

    fn external(bytes: &[u8], location: String) -> JobData {
        JobData::External {
            hash: JobData::hash_bytes(bytes),
            size: bytes.len() as u64,
            location: BoundedString::new(location).unwrap(),
        }
    }

    #[test]
    fn external_data_is_fetched_and_checked() {
        let good = b"the job's large output".to_vec();
        let d = external(&good, serve_once(good.clone()));
        assert_eq!(data_bytes(&d, 1 << 20).unwrap(), good);

        // Other bytes of the same length: the hash check fails.
        let d = external(&good, serve_once(b"the job's LARGE output".to_vec()));
        assert!(matches!(
            data_bytes(&d, 1 << 20),
            Err(DataError::Mismatch { .. })
        ));
        // More bytes than the chain announced are never read in full.
        let d = external(&good, serve_once([good.clone(), good.clone()].concat()));
        assert!(matches!(
            data_bytes(&d, 1 << 20),
            Err(DataError::Fetch { .. })
        ));
        // Larger than the caller accepts: no request at all.
        let d = external(&good, "http://127.0.0.1:9/never".into());
        assert!(matches!(data_bytes(&d, 4), Err(DataError::TooLarge { .. })));
        // Nobody listening.
        assert!(matches!(
            data_bytes(&d, 1 << 20),
            Err(DataError::Fetch { .. })
        ));
        let inline = JobData::inline(b"small".to_vec()).unwrap();
        assert_eq!(data_bytes(&inline, 0).unwrap(), b"small");
    }
}
