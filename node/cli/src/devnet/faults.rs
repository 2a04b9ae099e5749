//! `aether devnet partition` and `aether devnet heal`: network faults
//! changed while the devnet runs, through each node's
//! `aether_debugSetFaults` (devnet configs set `[consensus]
//! fault_injection = true`).
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
    partition: Option<Vec<Vec<u16>>>,
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
    set_all(&args.dir, Some(groups), json)
}

/// `aether devnet heal`.
pub(crate) fn heal(args: &DirArgs, json: bool) -> Result<(), CliError> {
    set_all(args, None, json)
}

fn set_all(args: &DirArgs, partition: Option<Vec<Vec<u16>>>, json: bool) -> Result<(), CliError> {
    let (_, manifest) = open(&args.dir)?;
    let request = FaultsDto {
        partition: partition.clone(),
        ..FaultsDto::default()
    };
    let nodes: Vec<NodeAnswer> = runtime()?.block_on(async {
        let mut out = Vec::new();
        for node in &manifest.nodes {
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
    let report = Report { partition, nodes };
    output::print(json, &report, || {
        match &report.partition {
            Some(groups) => println!(
                "partition {}",
                groups
                    .iter()
                    .map(|g| format!(
                        "[{}]",
                        g.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
                    ))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            None => println!("partition healed"),
        }
        for n in &report.nodes {
            match &n.error {
                None => println!("  node-{}: applied", n.index),
                Some(e) => println!("  node-{}: not applied: {e}", n.index),
            }
        }
    });
    if failed == report.nodes.len() {
        return Err(CliError::Failed("no node applied the change".into()));
    }
    Ok(())
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
