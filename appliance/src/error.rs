//! Errors of the appliance library.

use thiserror::Error;

/// Everything the appliance's pure logic can reject.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Error {
    /// A known `aether.*` key of the kernel command line has a bad value.
    #[error("kernel command line: {key}={value}: {reason}")]
    BadCmdlineValue {
        /// The key.
        key: String,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// `appliance.toml` is not valid TOML or does not match the schema.
    #[error("appliance config: {0}")]
    Config(String),
    /// The configuration is well-formed but not usable.
    #[error("appliance config: {0}")]
    InvalidConfig(&'static str),
    /// A DHCP message is malformed or not the one expected.
    #[error("dhcp: {0}")]
    Dhcp(&'static str),
    /// A netlink answer is malformed.
    #[error("netlink: {0}")]
    Netlink(&'static str),
    /// The kernel refused a netlink request.
    #[error("netlink request refused: errno {0}")]
    NetlinkErrno(i32),
}
