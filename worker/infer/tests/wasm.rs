//! WASM step jobs: runs, checkpoints, segment re-execution, and the ABI's
//! refusals.

use aether_infer::wasm::{GlobalValue, STEP_DONE, WasmError, WasmState};
use aether_infer::{Trace, WasmJob, WasmLimits, checkpoint_hash, verify_trace_proof};

/// FNV-style fold of the input, 16 bytes per step.
const FOLD: &str = aether_testkit::WASM_FOLD_JOB;

/// Keeps its state in memory (a counter at 0) and grows memory by a page
/// on step 2; a non-exported mutable global restarts at 0 every step.
const MEMORY_STATE: &str = r#"(module
  (memory (export "memory") 1 4)
  (global (export "io") i32 (i32.const 64))
  (global $scratch (mut i32) (i32.const 0))
  (func (export "step") (result i32)
    (global.set $scratch (i32.add (global.get $scratch) (i32.const 1)))
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (global.get $scratch)))
    (if (i32.eq (i32.load (i32.const 0)) (i32.const 2))
      (then (drop (memory.grow (i32.const 1)))
            (i32.store8 (i32.const 70000) (i32.const 7))))
    (if (result i32) (i32.eq (i32.load (i32.const 0)) (i32.const 5))
      (then (i32.store (i32.const 64) (i32.const 2))
            (i32.store8 (i32.const 68) (i32.load8_u (i32.const 70000)))
            (i32.store8 (i32.const 69) (memory.size))
            (i32.const 1))
      (else (i32.const 0)))))"#;

fn job(wat: &str) -> WasmJob {
    WasmJob::new(&wat::parse_str(wat).unwrap(), WasmLimits::default()).unwrap()
}

fn fnv(input: &[u8]) -> u64 {
    input.iter().fold(14695981039346656037u64, |acc, b| {
        (acc ^ u64::from(*b)).wrapping_mul(1099511628211)
    })
}

#[test]
fn fold_job_runs_in_steps_with_the_right_output() {
    let j = job(FOLD);
    let input: Vec<u8> = (0..100u8).collect();
    let run = j.run(&input).unwrap();
    assert_eq!(run.output, fnv(&input).to_le_bytes());
    assert_eq!(run.steps, 7); // ceil(100 / 16)
    assert_eq!(run.checkpoints.len(), 9); // states 0..=7, then the output
    assert_eq!(run.trace, Trace::of_data(&run.checkpoints));
    let last_state = WasmState::decode(&run.checkpoints[7], 256).unwrap();
    assert!(last_state.done);
    assert_eq!(
        last_state.globals[1],
        ("pos".to_string(), GlobalValue::I32(100))
    );
    // Deterministic.
    assert_eq!(j.run(&input).unwrap().trace, run.trace);
    // Empty input: one step.
    assert_eq!(j.run(&[]).unwrap().output, fnv(&[]).to_le_bytes());
}

#[test]
fn every_segment_rerun_from_its_checkpoint_reproduces_the_next() {
    for (wat, input) in [
        (FOLD, (0..100u8).collect::<Vec<u8>>()),
        (MEMORY_STATE, vec![]),
    ] {
        let j = job(wat);
        let run = j.run(&input).unwrap();
        for s in 1..run.checkpoints.len() {
            let again = j.run_segment(s, &run.checkpoints[s - 1]).unwrap();
            assert_eq!(again, run.checkpoints[s], "segment {s}");
            // What a challenger does: prove checkpoint s-1 against the root.
            let proof = run.trace.proof(s - 1).unwrap();
            assert!(verify_trace_proof(
                &run.trace.root(),
                s - 1,
                &checkpoint_hash(&run.checkpoints[s - 1]),
                &proof
            ));
        }
        // A segment number that does not match the data's step count is refused.
        assert!(matches!(
            j.run_segment(3, &run.checkpoints[1]),
            Err(WasmError::Segment {
                segment: 3,
                steps: 1
            })
        ));
    }
}

#[test]
fn memory_state_grows_and_non_exported_globals_restart_each_step() {
    let run = job(MEMORY_STATE).run(&[]).unwrap();
    // $scratch is 1 at every step (reset), so the counter goes 1, 2, 3, 4, 5.
    assert_eq!(run.steps, 5);
    assert_eq!(run.output, vec![7, 2]); // the byte written in the grown page; 2 pages
    let s1 = WasmState::decode(&run.checkpoints[1], 256).unwrap();
    let s2 = WasmState::decode(&run.checkpoints[2], 256).unwrap();
    assert_eq!((s1.memory.len(), s2.memory.len()), (65536, 131072));
}

#[test]
fn a_tampered_state_changes_the_next_checkpoint() {
    let j = job(FOLD);
    let run = j.run(&(0..100u8).collect::<Vec<u8>>()).unwrap();
    let mut state = WasmState::decode(&run.checkpoints[3], 256).unwrap();
    state.memory[1028 + 50] ^= 1;
    let next = j.run_segment(4, &state.encode()).unwrap();
    assert_ne!(checkpoint_hash(&next), run.trace.hashes()[4]);
}

#[test]
fn the_abi_refuses_bad_modules() {
    let abi =
        |wat: &str| WasmJob::new(&wat::parse_str(wat).unwrap(), WasmLimits::default()).unwrap_err();
    let floats = abi(
        r#"(module (memory (export "memory") 1) (global (export "io") i32 (i32.const 0))
        (func (export "step") (result i32) (drop (f32.add (f32.const 1) (f32.const 2))) (i32.const 1)))"#,
    );
    assert!(matches!(floats, WasmError::InvalidModule(_)), "{floats}");
    let import = abi(
        r#"(module (import "env" "f" (func)) (memory (export "memory") 1)
        (global (export "io") i32 (i32.const 0)) (func (export "step") (result i32) (i32.const 1)))"#,
    );
    assert!(matches!(import, WasmError::Abi(_)), "{import}");
    let no_step =
        abi(r#"(module (memory (export "memory") 1) (global (export "io") i32 (i32.const 0)))"#);
    assert!(no_step.to_string().contains("step"), "{no_step}");
    let no_io = abi(
        r#"(module (memory (export "memory") 1) (func (export "step") (result i32) (i32.const 1)))"#,
    );
    assert!(no_io.to_string().contains("io"), "{no_io}");
    let mutable_io = abi(
        r#"(module (memory (export "memory") 1) (global (export "io") (mut i32) (i32.const 0))
        (func (export "step") (result i32) (i32.const 1)))"#,
    );
    assert!(mutable_io.to_string().contains("immutable"), "{mutable_io}");
    let bad_sig = abi(
        r#"(module (memory (export "memory") 1) (global (export "io") i32 (i32.const 0))
        (func (export "step") (param i32) (result i32) (i32.const 1)))"#,
    );
    assert!(matches!(bad_sig, WasmError::Abi(_)));
    let big = abi(
        r#"(module (memory (export "memory") 300) (global (export "io") i32 (i32.const 0))
        (func (export "step") (result i32) (i32.const 1)))"#,
    );
    assert!(matches!(big, WasmError::Abi(_)), "{big}");
    let bulk = abi(
        r#"(module (memory (export "memory") 1) (global (export "io") i32 (i32.const 0))
        (data $d "abc") (func (export "step") (result i32) (data.drop $d) (i32.const 1)))"#,
    );
    assert!(matches!(bulk, WasmError::InvalidModule(_)), "{bulk}");
    assert!(matches!(
        WasmJob::new(b"not wasm", WasmLimits::default()),
        Err(WasmError::InvalidModule(_))
    ));
}

const HEADER: &str = r#"(memory (export "memory") 1) (global (export "io") i32 (i32.const 0))"#;

#[test]
fn failing_jobs_fail_deterministically() {
    let limits = WasmLimits {
        fuel_per_step: 10_000,
        max_steps: 5,
        max_memory_pages: 2,
    };
    let mk = |body: &str| {
        WasmJob::new(
            &wat::parse_str(format!("(module {HEADER} {body})")).unwrap(),
            limits,
        )
        .unwrap()
    };
    let spin = mk(r#"(func (export "step") (result i32) (loop $l (br $l)) (i32.const 1))"#);
    let e = spin.run(&[]).unwrap_err();
    assert!(
        matches!(&e, WasmError::Trap { step: 1, .. }) && e.to_string().contains("fuel"),
        "{e}"
    );
    assert_eq!(spin.run(&[]).unwrap_err(), e);
    let never = mk(r#"(func (export "step") (result i32) (i32.const 0))"#);
    assert_eq!(never.run(&[]).unwrap_err(), WasmError::TooManySteps(5));
    let status = mk(r#"(func (export "step") (result i32) (i32.const 7))"#);
    assert_eq!(
        status.run(&[]).unwrap_err(),
        WasmError::BadStatus { step: 1, status: 7 }
    );
    let trap = mk(r#"(func (export "step") (result i32) unreachable)"#);
    assert!(matches!(
        trap.run(&[]).unwrap_err(),
        WasmError::Trap { step: 1, .. }
    ));
    let out_of_bounds = mk(&format!(
        r#"(func (export "step") (result i32) (i32.store (i32.const 0) (i32.const 100000)) (i32.const {STEP_DONE}))"#
    ));
    assert!(matches!(
        out_of_bounds.run(&[]).unwrap_err(),
        WasmError::OutputOutOfBounds { len: 100000, .. }
    ));
    let done = mk(r#"(func (export "step") (result i32) (i32.const 1))"#);
    assert!(matches!(
        done.run(&vec![0u8; 70000]).unwrap_err(),
        WasmError::InputTooLarge { .. }
    ));
}

#[test]
fn segments_refuse_bad_state_data() {
    let j = job(FOLD);
    let run = j.run(&[1, 2, 3]).unwrap();
    let state = WasmState::decode(&run.checkpoints[0], 256).unwrap();
    // Globals of another module.
    let mut other = state.clone();
    other.globals.pop();
    assert!(matches!(
        j.run_segment(1, &other.encode()),
        Err(WasmError::Checkpoint(_))
    ));
    let mut wrong_type = state.clone();
    wrong_type.globals[0].1 = GlobalValue::I32(0);
    assert!(matches!(
        j.run_segment(1, &wrong_type.encode()),
        Err(WasmError::Checkpoint(_))
    ));
    // Less memory than the module starts with.
    let mut small = state.clone();
    small.memory.clear();
    assert!(matches!(
        j.run_segment(1, &small.encode()),
        Err(WasmError::Checkpoint(_))
    ));
    // Truncated, trailing, or more pages than the limit.
    let bytes = state.encode();
    assert!(j.run_segment(1, &bytes[..bytes.len() - 1]).is_err());
    assert!(
        j.run_segment(1, &[bytes.clone(), vec![0]].concat())
            .is_err()
    );
    let mut huge = state;
    huge.memory = vec![0; 257 * 65536];
    assert!(matches!(
        j.run_segment(1, &huge.encode()),
        Err(WasmError::Checkpoint(_))
    ));
}
