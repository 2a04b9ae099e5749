//! The `aether.*` keys of the kernel command line (`/proc/cmdline`).
//!
//! | key | values | default |
//! |---|---|---|
//! | `aether.net` | `dhcp`, `off`, or `<ip>/<prefix>[,<gateway>]` (IPv4) | `dhcp` |
//! | `aether.role` | `validator` or `worker` | `validator` |
//! | `aether.rpc` | `<ip>:<port>` the payload's RPC listens on | `0.0.0.0:8545` |
//! | `aether.data` | `tmpfs` or `<block device>[:<fstype>]`, e.g. `/dev/vda:ext4` | `tmpfs` |
//!
//! The command line is part of the launch measurement (SEV hashes table,
//! TDX RTMR2, the UKI's `.cmdline` in PCR11), so these values are measured.
//! Parameters that are not `aether.*` are ignored; an unknown `aether.*` key
//! is reported as a warning (it may come from a newer image definition) and a
//! known key with a bad value is an error: the init does not guess.
//! As in the kernel, the last occurrence of a key wins, and a value may be
//! wrapped in double quotes.

use crate::error::Error;
use std::net::{Ipv4Addr, SocketAddr};

/// How `eth0` is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetConfig {
    /// Ask a DHCPv4 server.
    Dhcp,
    /// Leave `eth0` down (loopback only).
    Off,
    /// A fixed address.
    Static {
        /// The address.
        addr: Ipv4Addr,
        /// Prefix length (0-32).
        prefix: u8,
        /// Default gateway, if any.
        gateway: Option<Ipv4Addr>,
    },
}

/// What the appliance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A validator node.
    Validator,
    /// An AI worker.
    Worker,
}

impl Role {
    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Worker => "worker",
        }
    }
}

/// Where the data directory lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataStore {
    /// A tmpfs: state is lost at power-off.
    Tmpfs,
    /// A block device mounted with the given file system type.
    Disk {
        /// Device path, e.g. `/dev/vda`.
        device: String,
        /// File system type, e.g. `ext4`.
        fstype: String,
    },
}

/// The parsed `aether.*` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootParams {
    /// `aether.net`.
    pub net: NetConfig,
    /// `aether.role`.
    pub role: Role,
    /// `aether.rpc`.
    pub rpc: SocketAddr,
    /// `aether.data`.
    pub data: DataStore,
    /// Unknown `aether.*` keys, reported on the console.
    pub unknown_keys: Vec<String>,
}

impl Default for BootParams {
    fn default() -> Self {
        BootParams {
            net: NetConfig::Dhcp,
            role: Role::Validator,
            rpc: SocketAddr::from(([0, 0, 0, 0], 8545)),
            data: DataStore::Tmpfs,
            unknown_keys: Vec::new(),
        }
    }
}

/// Splits a kernel command line into parameters: whitespace separates them
/// except inside double quotes; the quotes themselves are removed.
pub fn split_params(cmdline: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut any = false;
    for c in cmdline.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                any = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn bad(key: &str, value: &str, reason: &'static str) -> Error {
    Error::BadCmdlineValue {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    }
}

/// Parses `aether.net`'s value.
pub fn parse_net(value: &str) -> Result<NetConfig, Error> {
    const KEY: &str = "aether.net";
    match value {
        "dhcp" => return Ok(NetConfig::Dhcp),
        "off" => return Ok(NetConfig::Off),
        _ => {}
    }
    let (cidr, gateway) = match value.split_once(',') {
        Some((c, g)) => (c, Some(g)),
        None => (value, None),
    };
    let (addr, prefix) = cidr.split_once('/').ok_or_else(|| {
        bad(
            KEY,
            value,
            "expected dhcp, off or <ip>/<prefix>[,<gateway>]",
        )
    })?;
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| bad(KEY, value, "address is not IPv4"))?;
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| bad(KEY, value, "prefix length must be 0-32"))?;
    let gateway = gateway
        .map(|g| g.parse::<Ipv4Addr>())
        .transpose()
        .map_err(|_| bad(KEY, value, "gateway is not IPv4"))?;
    if let Some(gw) = gateway
        && prefix > 0
        && !same_subnet(addr, gw, prefix)
    {
        return Err(bad(KEY, value, "gateway is outside the address's subnet"));
    }
    Ok(NetConfig::Static {
        addr,
        prefix,
        gateway,
    })
}

/// True when `a` and `b` share the first `prefix` bits.
pub fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    let mask = prefix_mask(prefix);
    u32::from(a) & mask == u32::from(b) & mask
}

/// The netmask of a prefix length (`24` → `0xffffff00`); prefixes over 32 count as 32.
pub fn prefix_mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

/// Parses the `aether.*` parameters of a whole command line.
pub fn parse(cmdline: &str) -> Result<BootParams, Error> {
    let mut params = BootParams::default();
    for param in split_params(cmdline) {
        let Some(rest) = param.strip_prefix("aether.") else {
            continue;
        };
        let (key, value) = rest.split_once('=').unwrap_or((rest, ""));
        let full = format!("aether.{key}");
        match key {
            "net" => params.net = parse_net(value)?,
            "role" => {
                params.role = match value {
                    "validator" => Role::Validator,
                    "worker" => Role::Worker,
                    _ => return Err(bad(&full, value, "expected validator or worker")),
                }
            }
            "rpc" => {
                params.rpc = value
                    .parse()
                    .map_err(|_| bad(&full, value, "expected <ip>:<port>"))?
            }
            "data" => {
                params.data = if value == "tmpfs" {
                    DataStore::Tmpfs
                } else {
                    let (device, fstype) = value.split_once(':').unwrap_or((value, "ext4"));
                    if !device.starts_with("/dev/") || device.len() <= 5 {
                        return Err(bad(
                            &full,
                            value,
                            "expected tmpfs or /dev/<disk>[:<fstype>]",
                        ));
                    }
                    if fstype.is_empty() || !fstype.chars().all(|c| c.is_ascii_alphanumeric()) {
                        return Err(bad(&full, value, "file system type must be alphanumeric"));
                    }
                    DataStore::Disk {
                        device: device.to_string(),
                        fstype: fstype.to_string(),
                    }
                }
            }
            _ => params.unknown_keys.push(full),
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_without_aether_keys() {
        let p = parse("console=ttyS0 quiet panic=-1").unwrap();
        assert_eq!(p, BootParams::default());
    }

    #[test]
    fn parses_all_keys() {
        let p = parse(
            "console=ttyS0 aether.net=10.0.2.15/24,10.0.2.2 aether.role=worker \
             aether.rpc=127.0.0.1:9000 aether.data=/dev/vdb:xfs aether.future=1",
        )
        .unwrap();
        assert_eq!(
            p.net,
            NetConfig::Static {
                addr: Ipv4Addr::new(10, 0, 2, 15),
                prefix: 24,
                gateway: Some(Ipv4Addr::new(10, 0, 2, 2))
            }
        );
        assert_eq!(p.role, Role::Worker);
        assert_eq!(p.rpc, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(
            p.data,
            DataStore::Disk {
                device: "/dev/vdb".into(),
                fstype: "xfs".into()
            }
        );
        assert_eq!(p.unknown_keys, vec!["aether.future".to_string()]);
    }

    #[test]
    fn last_occurrence_wins_and_quotes_are_removed() {
        let p = parse("aether.net=off \"aether.net=dhcp\"").unwrap();
        assert_eq!(p.net, NetConfig::Dhcp);
        assert_eq!(split_params("a=\"b c\"  d"), vec!["a=b c", "d"]);
    }

    #[test]
    fn static_without_gateway_and_disk_default_fstype() {
        let p = parse("aether.net=192.168.1.5/32 aether.data=/dev/vda").unwrap();
        assert_eq!(
            p.net,
            NetConfig::Static {
                addr: Ipv4Addr::new(192, 168, 1, 5),
                prefix: 32,
                gateway: None
            }
        );
        assert_eq!(
            p.data,
            DataStore::Disk {
                device: "/dev/vda".into(),
                fstype: "ext4".into()
            }
        );
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "aether.net=10.0.2.15",
            "aether.net=10.0.2.15/33",
            "aether.net=::1/64",
            "aether.net=10.0.2.15/24,10.0.3.1",
            "aether.net=10.0.2.15/24,gw",
            "aether.role=miner",
            "aether.rpc=8545",
            "aether.data=vda",
            "aether.data=/dev/vda:ext4;rm",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn masks() {
        assert_eq!(prefix_mask(0), 0);
        assert_eq!(prefix_mask(24), 0xffff_ff00);
        assert_eq!(prefix_mask(32), u32::MAX);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn static_round_trip(a: u32, p in 0u8..=32) {
            let addr = Ipv4Addr::from(a);
            let v = format!("{addr}/{p}");
            prop_assert_eq!(parse_net(&v).unwrap(), NetConfig::Static { addr, prefix: p, gateway: None });
        }
    }
}
