//! The Aether appliance's PID 1 (`aether-init`), as a library of pure logic
//! plus the thin I/O edge in `main.rs`.
//!
//! The appliance image holds exactly two programs: this init and one payload
//! (the `aether` node for validators, the worker for AI providers). There is
//! no shell, no login and no SSH. At boot the init:
//!
//! 1. mounts `/proc`, `/sys`, `/dev` (devtmpfs), `/tmp` and `/run` (tmpfs),
//!    configfs on `/sys/kernel/config` when the kernel has it (configfs-tsm
//!    reports) and the data directory (tmpfs, or a virtio disk named on the
//!    command line);
//! 2. waits until the kernel's random pool is initialised (`getrandom`);
//! 3. reads the `aether.*` keys of the kernel command line ([`cmdline`]);
//! 4. brings up `lo` and `eth0` with a static address or DHCP ([`netlink`],
//!    [`dhcp`]);
//! 5. derives the sealing key from the TEE where it can ([`seal`]);
//! 6. starts the payload from `/etc/aether/appliance.toml` ([`config`]),
//!    streams its output to the console with a prefix, restarts it with
//!    back-off ([`restart`]) and powers the VM off when it keeps failing, on
//!    `SIGTERM` or when the ACPI power button is pressed ([`input`]), after
//!    stopping the payload with `SIGTERM`; it reaps every orphan meanwhile.
//!
//! Everything that decides (parsing, message encoding, restart policy, key
//! derivation) lives in these modules and is unit-tested on the host; the
//! binary only performs the system calls.

pub mod cmdline;
pub mod config;
pub mod dhcp;
pub mod error;
pub mod input;
pub mod netlink;
pub mod restart;
pub mod seal;

pub use error::Error;

/// Path of the payload configuration inside the initrd.
pub const CONFIG_PATH: &str = "/etc/aether/appliance.toml";

/// Prefixes one line of payload output for the console: `[name] line`.
///
/// Invalid UTF-8 is replaced (the console is for humans); a trailing newline
/// (and carriage return) is dropped and exactly one is added.
pub fn console_line(prefix: &str, raw: &[u8]) -> String {
    let mut line = raw;
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    format!("[{prefix}] {}\n", String::from_utf8_lossy(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_line_prefixes_and_normalises_newlines() {
        assert_eq!(console_line("aether", b"hello\r\n"), "[aether] hello\n");
        assert_eq!(console_line("aether", b"x"), "[aether] x\n");
        assert_eq!(console_line("p", b"\xff\n"), "[p] \u{fffd}\n");
    }
}
