//! `aether devnet partition`, `aether devnet heal` and `aether devnet
//! faults`: network faults changed while the devnet runs, through each
//! node's `aether_debugSetFaults` (devnet configs set `[consensus]
//! fault_injection = true`).
//!
//! `equivocate INDEX` turns one validator Byzantine: beside each vote it
//! signs a second one for a made-up block in the same round; the others
//! report it on chain and it is slashed (`--off` ends it).
//!
//! A partition is a list of groups of validator indices, e.g. `0,1 2,3`:
//! validators in different groups (or in none) stop hearing each other;
//! every node is told the same groups, each drops what it would send across
//! them. `heal` lifts it. Nodes that do not answer are reported, not
//! skipped silently (a stopped node is told when it restarts only if the
//! command is run again: faults are not persisted).

use super::{DirArgs, connect, open, runtime};
use crate::{CliError, output};
use aether_rpc_types::dto::FaultsDto;
use aether_rpc_types::methods as m;
use serde::Serialize;

/// `aether devnet partition` options.
#[derive(clap::Args, Debug)]
pub(crate) struct PartitionArgs {
    /// Groups of validator indices, each comma-separated (e.g. `0,1 2,3`);
    /// a validator in no group is cut off from all.
    #[arg(value_name = "GROUP", required = true, num_args = 1..)]
    groups: Vec<String>,
    #[command(flatten)]
    pub(crate) dir: DirArgs,
}

/// `aether devnet faults` options (each absent one stays as it is).
#[derive(clap::Args, Debug)]
pub(crate) struct LinkArgs {
    /// Delay of every frame each node sends, milliseconds.
    #[arg(long, value_name = "MS")]
    delay_ms: Option<u64>,
    /// Probability that a frame is lost (0 to 1, any lane).
    #[arg(long, value_name = "P")]
    loss: Option<f64>,
    /// Fraction of each batch of 64 block shreds lost on every link,
    /// exactly (0 to 1; Turbine rebuilds from any half).
    #[arg(long, value_name = "F")]
    shred_loss: Option<f64>,
    #[command(flatten)]
    pub(crate) dir: DirArgs,
}

/// `aether devnet equivocate` options.
#[derive(clap::Args, Debug)]
pub(crate) struct EquivocateArgs {
    /// The validator that starts signing two votes per round.
    #[arg(value_name = "INDEX")]
    index: u16,
    /// Make it honest again.
    #[arg(long)]
    off: bool,
    #[command(flatten)]
    pub(crate) dir: DirArgs,
}

/// What one node answered.
#[derive(Serialize)]
struct NodeAnswer {
    index: u16,
    /// The faults now in force there (absent if the call failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    faults: Option<FaultsDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Report {
    /// What was asked of every node.
    request: FaultsDto,
    nodes: Vec<NodeAnswer>,
}

/// Parses `0,1` `2,3` into groups, checking indices against `validators`.
fn parse_groups(groups: &[String], validators: u16) -> Result<Vec<Vec<u16>>, CliError> {
    let mut seen = std::collections::BTreeSet::new();
    groups
        .iter()
        .map(|g| {
            g.split(',')
                .map(|v| {
                    let i: u16 = v.trim().parse().map_err(|_| {
                        CliError::Failed(format!(
                            "partition group {g:?}: {v:?} is not a validator index"
                        ))
                    })?;
                    if i >= validators {
                        return Err(CliError::Failed(format!(
                            "partition group {g:?}: the devnet has validators 0 to {}",
                            validators - 1
                        )));
                    }
                    if !seen.insert(i) {
                        return Err(CliError::Failed(format!(
                            "validator {i} is in two partition groups"
                        )));
                    }
                    Ok(i)
                })
                .collect()
        })
        .collect()
}

/// `aether devnet partition GROUP...`.
pub(crate) fn partition(args: &PartitionArgs, json: bool) -> Result<(), CliError> {
    let (_, manifest) = open(&args.dir.dir)?;
    let groups = parse_groups(&args.groups, manifest.validators)?;
    let request = FaultsDto {
        partition: Some(groups),
        ..FaultsDto::default()
    };
    set_all(&args.dir, request, json)
}

/// `aether devnet heal`.
pub(crate) fn heal(args: &DirArgs, json: bool) -> Result<(), CliError> {
    let request = FaultsDto {
        partition: Some(vec![]),
        ..FaultsDto::default()
    };
    set_all(args, request, json)
}

/// `aether devnet faults`.
pub(crate) fn links(args: &LinkArgs, json: bool) -> Result<(), CliError> {
    for (name, value) in [("--loss", args.loss), ("--shred-loss", args.shred_loss)] {
        if let Some(p) = value
            && !(0.0..=1.0).contains(&p)
        {
            return Err(CliError::Failed(format!("{name} {p}: not between 0 and 1")));
        }
    }
    if args.delay_ms.is_none() && args.loss.is_none() && args.shred_loss.is_none() {
        return Err(CliError::Failed(
            "nothing to set: give --delay-ms, --loss or --shred-loss".into(),
        ));
    }
    let request = FaultsDto {
        partition: None,
        delay_ms: args.delay_ms,
        loss: args.loss,
        shred_loss: args.shred_loss,
        equivocate: None,
    };
    set_all(&args.dir, request, json)
}

/// `aether devnet equivocate INDEX [--off]`: only that node is told.
pub(crate) fn equivocate(args: &EquivocateArgs, json: bool) -> Result<(), CliError> {
    let (_, manifest) = open(&args.dir.dir)?;
    if args.index >= manifest.validators {
        return Err(CliError::Failed(format!(
            "the devnet has validators 0 to {}",
            manifest.validators - 1
        )));
    }
    let request = FaultsDto {
        equivocate: Some(!args.off),
        ..FaultsDto::default()
    };
    set_nodes(&args.dir, request, Some(args.index), json)
}

fn set_all(args: &DirArgs, request: FaultsDto, json: bool) -> Result<(), CliError> {
    set_nodes(args, request, None, json)
}

/// Sends `request` to every node, or to node `only`.
fn set_nodes(
    args: &DirArgs,
    request: FaultsDto,
    only: Option<u16>,
    json: bool,
) -> Result<(), CliError> {
    let (_, manifest) = open(&args.dir)?;
    let nodes: Vec<NodeAnswer> = runtime()?.block_on(async {
        let mut out = Vec::new();
        for node in &manifest.nodes {
            if only.is_some_and(|i| i != node.index) {
                continue;
            }
            let answer = match connect(&node.rpc_url).await {
                Ok(client) => client
                    .request::<FaultsDto>(m::DEBUG_SET_FAULTS, jsonrpsee::rpc_params![&request])
                    .await
                    .map_err(|e| {
                        let e = e.to_string();
                        if e.contains("not found") {
                            format!("{e} (its config lacks `[consensus] fault_injection = true`: a devnet created by an older aether; recreate it with `up --fresh`)")
                        } else {
                            e
                        }
                    }),
                Err(e) => Err(e.to_string()),
            };
            out.push(NodeAnswer {
                index: node.index,
                faults: answer.as_ref().ok().cloned(),
                error: answer.err(),
            });
        }
        out
    });
    let failed = nodes.iter().filter(|n| n.error.is_some()).count();
    let report = Report { request, nodes };
    output::print(json, &report, || {
        for n in &report.nodes {
            match (&n.faults, &n.error) {
                (Some(f), _) => println!("node-{}: {}", n.index, describe(f)),
                (None, Some(e)) => println!("node-{}: not applied: {e}", n.index),
                (None, None) => {}
            }
        }
    });
    if failed == report.nodes.len() {
        return Err(CliError::Failed("no node applied the change".into()));
    }
    Ok(())
}

/// `partition [0,1] | [2,3], delay 0 ms, loss 0, shred loss 0.5`.
fn describe(f: &FaultsDto) -> String {
    let partition = match &f.partition {
        Some(groups) if !groups.is_empty() => groups
            .iter()
            .map(|g| {
                let ids: Vec<String> = g.iter().map(u16::to_string).collect();
                format!("[{}]", ids.join(","))
            })
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "none".into(),
    };
    format!(
        "partition {partition}, delay {} ms, loss {}, shred loss {}{}",
        f.delay_ms.unwrap_or(0),
        f.loss.unwrap_or(0.0),
        f.shred_loss.unwrap_or(0.0),
        if f.equivocate == Some(true) {
            ", EQUIVOCATING (two votes per round)"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_parsed_and_checked() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_groups(&s(&["0,1", "2, 3"]), 4).unwrap(),
            vec![vec![0, 1], vec![2, 3]]
        );
        assert_eq!(parse_groups(&s(&["2"]), 4).unwrap(), vec![vec![2]]);
        for (bad, why) in [
            (s(&["0,1", "1,2"]), "two partition groups"),
            (s(&["0,4"]), "validators 0 to 3"),
            (s(&["0,x"]), "not a validator index"),
            (s(&["0,,1"]), "not a validator index"),
        ] {
            let e = parse_groups(&bad, 4).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
