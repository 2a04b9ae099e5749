//! `aether-measure replay`: replay a TCG2 crypto-agile event log (CCEL or
//! TPM) into RTMR0-3 or PCRs. See docs/measure-tdx.md.

use super::input::usage_error;
use aether_tdx_launch::eventlog::{
    TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512, algorithm_info, event_type_label,
};
use aether_tdx_launch::{CcelTable, EventLog};
use std::path::PathBuf;
use std::process::ExitCode;

/// How to interpret the register index of the events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    /// Confidential-computing event log: MR index 1..4 = RTMR0..3, SHA-384.
    Ccel,
    /// TPM 2.0 log: PCR index, every SHA-256/384/512 bank in the log.
    Tpm,
}

/// Options of `aether-measure replay`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The event log (e.g. the CCEL area, or /sys/kernel/security/tpm0/binary_bios_measurements).
    #[arg(long, value_name = "FILE")]
    event_log: PathBuf,
    /// The ACPI CCEL table (/sys/firmware/acpi/tables/CCEL); its LAML bounds the log.
    #[arg(long, value_name = "FILE")]
    ccel_table: Option<PathBuf>,
    /// Register kind.
    #[arg(long, value_enum, default_value = "ccel")]
    kind: Kind,
    /// Print one JSON object with the registers and every event.
    #[arg(long)]
    json: bool,
}

/// Runs `aether-measure replay`.
pub(crate) fn run(args: Args) -> ExitCode {
    let mut log_bytes = match std::fs::read(&args.event_log) {
        Ok(b) => b,
        Err(e) => {
            return usage_error(format!(
                "cannot read event log {}: {e}",
                args.event_log.display()
            ));
        }
    };
    let fail = |msg: String| {
        eprintln!("Error: {msg}");
        ExitCode::from(1)
    };
    let table = match &args.ccel_table {
        None => None,
        Some(p) => {
            let raw = match std::fs::read(p) {
                Ok(b) => b,
                Err(e) => {
                    return usage_error(format!("cannot read CCEL table {}: {e}", p.display()));
                }
            };
            match CcelTable::parse(&raw) {
                Ok(t) => Some(t),
                Err(e) => return fail(e.to_string()),
            }
        }
    };
    if let Some(t) = &table {
        // The log area is LAML bytes; anything beyond is not part of it.
        if let Ok(laml) = usize::try_from(t.laml) {
            log_bytes.truncate(laml);
        }
    }
    let log = match EventLog::parse(&log_bytes) {
        Ok(l) => l,
        Err(e) => return fail(e.to_string()),
    };
    let mut registers: Vec<(String, String)> = Vec::new();
    match args.kind {
        Kind::Ccel => match log.replay_rtmrs() {
            Ok(r) => {
                for (i, v) in r.iter().enumerate() {
                    registers.push((format!("RTMR{i}"), hex::encode(v)));
                }
            }
            Err(e) => return fail(e.to_string()),
        },
        Kind::Tpm => {
            let banks: Vec<u16> = log
                .spec_id
                .algorithms
                .iter()
                .map(|a| a.alg_id)
                .filter(|a| [TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512].contains(a))
                .collect();
            if banks.is_empty() {
                return fail("event log has no SHA-256, SHA-384 or SHA-512 bank".into());
            }
            for alg in banks {
                let name = algorithm_info(alg)
                    .map_or("?", |(n, _)| n)
                    .to_ascii_lowercase()
                    .replace('-', "");
                match log.replay_pcrs(alg) {
                    Ok(pcrs) => {
                        for (idx, v) in pcrs {
                            registers.push((format!("PCR{idx}.{name}"), hex::encode(v)));
                        }
                    }
                    Err(e) => return fail(e.to_string()),
                }
            }
        }
    }
    if args.json {
        let events: Vec<serde_json::Value> = log
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                serde_json::json!({
                    "index": i,
                    "offset": e.offset,
                    "register_index": e.register_index,
                    "register": match (args.kind, e.register_index) {
                        (Kind::Ccel, 1..=4) => format!("RTMR{}", e.register_index - 1),
                        (Kind::Ccel, 0) => "MRTD".to_string(),
                        (Kind::Ccel, n) => format!("MR{n}"),
                        (Kind::Tpm, n) => format!("PCR{n}"),
                    },
                    "event_type": e.event_type,
                    "event_type_name": event_type_label(e.event_type),
                    "digests": e.digests.iter().map(|d| serde_json::json!({
                        "algorithm": algorithm_info(d.alg_id).map_or_else(|| format!("{:#06x}", d.alg_id), |(n, _)| n.to_string()),
                        "digest": hex::encode(&d.digest),
                    })).collect::<Vec<_>>(),
                    "description": e.description(),
                    "data_digest_matches": e.data_digest_matches(if args.kind == Kind::Ccel { TPM_ALG_SHA384 } else { TPM_ALG_SHA256 }),
                    "data": hex::encode(&e.data),
                })
            })
            .collect();
        let regs: serde_json::Map<String, serde_json::Value> = registers
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let obj = serde_json::json!({
            "kind": format!("{:?}", args.kind).to_lowercase(),
            "registers": regs,
            "ccel_table": table,
            "spec_id": log.spec_id,
            "log_len": log.log_len,
            "trailing_len": log.trailing_len,
            "events": events,
        });
        match serde_json::to_string_pretty(&obj) {
            Ok(s) => println!("{s}"),
            Err(e) => return usage_error(format!("cannot encode JSON: {e}")),
        }
    } else {
        if let Some(t) = &table {
            println!("CCEL_LASA={:#x}", t.lasa);
            println!("CCEL_LAML={:#x}", t.laml);
        }
        for (k, v) in registers {
            println!("{k}={v}");
        }
    }
    ExitCode::SUCCESS
}
