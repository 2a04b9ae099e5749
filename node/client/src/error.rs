//! The client's error type.

use crate::builder::BuildError;
use aether_types::TxId;
use std::time::Duration;

/// Why a call to the node, or a client-side step around it, failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The node URL cannot be used (not `http(s)://` or `ws(s)://`, ...).
    #[error("invalid node URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The node could not be reached, or the connection broke.
    #[error("cannot reach the node at {url}: {reason}")]
    Transport {
        /// The node's URL.
        url: String,
        /// The transport's error.
        reason: String,
    },
    /// The node answered with a JSON-RPC error (see `docs/rpc.md` for the
    /// codes and `data.kind` names).
    #[error("the node refused {method}: {message} (code {code}){}", data_suffix(.data))]
    Refused {
        /// The method called.
        method: &'static str,
        /// The JSON-RPC error code.
        code: i32,
        /// The error message.
        message: String,
        /// The error's `data` member, as the node sent it (JSON text).
        data: Option<String>,
    },
    /// The node did not answer within the request timeout.
    #[error("{method}: the node at {url} did not answer in time")]
    Timeout {
        /// The method called.
        method: &'static str,
        /// The node's URL.
        url: String,
    },
    /// The node's answer does not have the documented shape.
    #[error("{method}: cannot decode the node's answer: {reason}")]
    Decode {
        /// The method called.
        method: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A subscription was asked for over HTTP.
    #[error("subscriptions need a WebSocket connection (ws://), not {url}")]
    NeedsWebSocket {
        /// The node's URL.
        url: String,
    },
    /// A transaction was accepted but no receipt appeared in time.
    #[error("transaction {tx_id} was not included within {} ms", .waited.as_millis())]
    NotIncluded {
        /// The transaction.
        tx_id: TxId,
        /// How long the client waited.
        waited: Duration,
    },
    /// The transaction could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Any other failure of the JSON-RPC client.
    #[error("{method}: {reason}")]
    Other {
        /// The method called.
        method: &'static str,
        /// What failed.
        reason: String,
    },
}

fn data_suffix(data: &Option<String>) -> String {
    data.as_ref().map(|d| format!(" {d}")).unwrap_or_default()
}

impl ClientError {
    /// The JSON-RPC error code, for [`ClientError::Refused`].
    pub fn code(&self) -> Option<i32> {
        match self {
            ClientError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The error's `data.kind` (the failed check), for
    /// [`ClientError::Refused`].
    pub fn kind(&self) -> Option<String> {
        let ClientError::Refused { data: Some(d), .. } = self else {
            return None;
        };
        let value: serde_json::Value = serde_json::from_str(d).ok()?;
        value.get("kind")?.as_str().map(str::to_string)
    }

    pub(crate) fn from_rpc(
        url: &str,
        method: &'static str,
        error: jsonrpsee::core::client::Error,
    ) -> Self {
        use jsonrpsee::core::client::Error;
        match error {
            Error::Call(obj) => ClientError::Refused {
                method,
                code: obj.code(),
                message: obj.message().to_string(),
                data: obj.data().map(|d| d.get().to_string()),
            },
            Error::Transport(t) => ClientError::Transport {
                url: url.to_string(),
                reason: t.to_string(),
            },
            Error::RestartNeeded(e) => ClientError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            },
            Error::ServiceDisconnect => ClientError::Transport {
                url: url.to_string(),
                reason: "the connection closed".to_string(),
            },
            Error::RequestTimeout => ClientError::Timeout {
                method,
                url: url.to_string(),
            },
            Error::ParseError(e) => ClientError::Decode {
                method,
                reason: e.to_string(),
            },
            other => ClientError::Other {
                method,
                reason: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_print_code_and_data_and_expose_the_kind() {
        let e = ClientError::Refused {
            method: "aether_sendTransaction",
            code: 1004,
            message: "fee too low".into(),
            data: Some(r#"{"kind":"FeeTooLow","fee":"1","min":"2"}"#.into()),
        };
        assert_eq!(
            e.to_string(),
            r#"the node refused aether_sendTransaction: fee too low (code 1004) {"kind":"FeeTooLow","fee":"1","min":"2"}"#
        );
        assert_eq!(e.code(), Some(1004));
        assert_eq!(e.kind().as_deref(), Some("FeeTooLow"));
        let bare = ClientError::Refused {
            method: "aether_status",
            code: -32601,
            message: "Method not found".into(),
            data: None,
        };
        assert_eq!(
            bare.to_string(),
            "the node refused aether_status: Method not found (code -32601)"
        );
        assert_eq!(bare.kind(), None);
        let timeout = ClientError::Timeout {
            method: "aether_status",
            url: "http://x".into(),
        };
        assert_eq!(timeout.code(), None);
        assert_eq!(
            timeout.to_string(),
            "aether_status: the node at http://x did not answer in time"
        );
    }
}
