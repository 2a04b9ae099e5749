//! The command lines of the shipped image definitions parse to what the
//! definitions intend, through the library's public API (what `aether-init`
//! runs at boot).

use aether_appliance::cmdline::{self, DataStore, NetConfig, Role};

fn def_cmdline(name: &str) -> String {
    let path = format!("{}/../images/defs/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("cmdline = "))
        .unwrap_or_else(|| panic!("{path} has no cmdline"));
    line.trim_start_matches("cmdline = ")
        .trim_matches('"')
        .to_string()
}

#[test]
fn validator_definition_cmdline() {
    let p = cmdline::parse(&def_cmdline("validator")).unwrap();
    assert_eq!(p.role, Role::Validator);
    assert_eq!(p.net, NetConfig::Dhcp);
    assert_eq!(p.rpc.to_string(), "0.0.0.0:8545");
    assert_eq!(p.data, DataStore::Tmpfs);
    assert!(p.unknown_keys.is_empty());
}

#[test]
fn smoke_definition_cmdline() {
    let p = cmdline::parse(&def_cmdline("smoke")).unwrap();
    assert_eq!(p.net, NetConfig::Off);
    assert!(p.unknown_keys.is_empty());
}
