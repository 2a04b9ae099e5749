//! `aether sim` from the release binary: a run across every scenario ends
//! with its one summary line and exit 0; one seed replays to the same
//! trace digest; an unknown scenario is a usage error.

mod common;

use common::aether;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = aether().arg("sim").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_run_over_every_scenario_ends_with_its_summary_line() {
    let (code, stdout, stderr) = run(&["--seeds", "11", "--threads", "2"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("seeds run: 11, blocks finalized: "),
        "{last}"
    );
    assert!(last.ends_with("violations found: 0"), "{last}");
    let blocks: u64 = last
        .split("blocks finalized: ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(blocks > 0, "{last}");
}

#[test]
fn one_seed_replays_to_the_same_digest_and_bad_scenarios_are_usage_errors() {
    let args = [
        "--seeds",
        "1",
        "--first-seed",
        "7",
        "--scenario",
        "equivocating-leader",
    ];
    let (code, a, _) = run(&args);
    assert_eq!(code, Some(0), "{a}");
    let (_, b, _) = run(&args);
    assert_eq!(a, b);
    assert!(a.contains("digest "), "{a}");
    let (code, _, stderr) = run(&["--scenario", "no-such-scenario", "--seeds", "2"]);
    assert_eq!(code, Some(2), "{stderr}");
}
