//! WASM jobs: a step function run by wasmi with fuel, checkpointed after
//! every step, so the model's challenge path (prove checkpoint j − 1's data,
//! re-run segment j) works for WASM too.
//!
//! # Why a step function
//! A challenger and the chain must start segment j from *data*. wasmi can
//! pause a call when fuel runs out, but the paused call lives in the
//! interpreter's own stacks, which it cannot serialise or rebuild. So the
//! job is written as `state → state`: each call of `step` is one segment,
//! bounded by a fixed fuel budget, and everything that carries over between
//! steps lives where the host can read and restore it — the linear memory
//! and the exported mutable globals.
//!
//! # Job ABI (v1)
//! A job module
//! - imports nothing;
//! - exports its linear memory as `memory` (at most
//!   [`WasmLimits::max_memory_pages`] pages, declared or grown);
//! - exports `step: [] -> [i32]`, returning [`STEP_CONTINUE`] (0) to be
//!   called again or [`STEP_DONE`] (1) when finished; any other value fails
//!   the job;
//! - exports an immutable `i32` global `io`: the byte offset of its I/O
//!   area. Before the first step the host writes there the input as
//!   `u32-le length ‖ bytes`; after the step that returns `STEP_DONE` the
//!   output is read from the same place in the same form;
//! - uses no floating point (rejected at compile time: wasmi's floats are
//!   IEEE but NaN bit patterns are not specified by WebAssembly), no start
//!   function, no SIMD, and no proposal that keeps state outside memory and
//!   globals (bulk memory's `data.drop`/table ops, reference types'
//!   `table.set/grow`); mutable globals, sign extension, multi-value, tail
//!   calls and extended constants are allowed. Rust jobs build with
//!   `-C target-cpu=mvp` (then add nothing that needs more).
//!
//! # Semantics of a step
//! Every step runs in a fresh instance of the module: memory is set to the
//! state's memory (grown to its size), each exported mutable global to the
//! state's value; everything else (non-exported globals, tables) has the
//! module's initial value at the start of every step. Then `step` runs with
//! [`WasmLimits::fuel_per_step`] fuel (wasmi's fuel costs, pinned by its
//! exact version `=2.0.0`, the same as the ledger's). A trap, running out of
//! fuel, a bad status or more than [`WasmLimits::max_steps`] steps fail the
//! job — deterministically, so a re-run fails the same way.
//!
//! # Checkpoints
//! checkpoint 0 is the state after instantiation with the input written;
//! checkpoint k (1..=S) the state after step k, the step S being the one
//! that returned `STEP_DONE`; checkpoint S + 1 is the output. Segment j
//! (1..=S) is one step; segment S + 1 reads the output from a done state.
//!
//! State data (canonical; decoding never panics):
//! ```text
//! u8 version = 1 ‖ u8 kind = 3 ‖ u8 status (0 running, 1 done) ‖ u8 0
//! u32-le steps completed
//! u32-le G, then G globals sorted by name:
//!     u8 name length ‖ name (UTF-8) ‖ u8 type (1 = i32, 2 = i64) ‖ value (4 or 8 bytes, le)
//! u32-le P pages, then P · 65536 bytes of linear memory
//! ```
//! Output data: `u8 1 ‖ u8 4 ‖ u8 0 ‖ u8 0 ‖ u32-le length ‖ bytes`.

use crate::trace::Trace;
use wasmi::{
    CompilationMode, Config, Engine, ExternType, Instance, Linker, Module, Mutability, Store,
    StoreLimits, StoreLimitsBuilder, Val, ValType,
};

/// `step` returns this to be called again.
pub const STEP_CONTINUE: i32 = 0;
/// `step` returns this when the output is ready.
pub const STEP_DONE: i32 = 1;
/// WASM page size.
pub const PAGE: usize = 65_536;

const VERSION: u8 = 1;
const KIND_STATE: u8 = 3;
const KIND_OUTPUT: u8 = 4;

/// The job's resource bounds; part of the job's definition (a different
/// bound can change the result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WasmLimits {
    /// Fuel for each call of `step` (one segment).
    pub fuel_per_step: u64,
    /// Steps before the job fails.
    pub max_steps: u32,
    /// Largest linear memory, in 64 KiB pages.
    pub max_memory_pages: u32,
}

impl Default for WasmLimits {
    fn default() -> Self {
        WasmLimits {
            fuel_per_step: 10_000_000,
            max_steps: 10_000,
            max_memory_pages: 256,
        }
    }
}

/// Why a WASM job cannot be loaded or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WasmError {
    /// The module does not compile under the job rules (invalid, floats, ...).
    #[error("invalid job module: {0}")]
    InvalidModule(String),
    /// The module breaks the job ABI.
    #[error("job ABI: {0}")]
    Abi(String),
    /// The input does not fit the I/O area.
    #[error("input of {len} bytes does not fit memory of {memory} bytes at io offset {io}")]
    InputTooLarge {
        /// Input length.
        len: usize,
        /// The `io` offset.
        io: u32,
        /// Memory size in bytes.
        memory: usize,
    },
    /// A step trapped (including running out of fuel).
    #[error("step {step} trapped: {reason}")]
    Trap {
        /// The step (1-based).
        step: u32,
        /// The trap.
        reason: String,
    },
    /// A step returned something other than 0 or 1.
    #[error("step {step} returned status {status}")]
    BadStatus {
        /// The step.
        step: u32,
        /// The status.
        status: i32,
    },
    /// The job did not finish within `max_steps`.
    #[error("no output after {0} steps")]
    TooManySteps(u32),
    /// The output length points outside memory.
    #[error("output of {len} bytes at io offset {io} lies outside memory")]
    OutputOutOfBounds {
        /// Claimed length.
        len: u32,
        /// The `io` offset.
        io: u32,
    },
    /// Checkpoint data does not decode or does not fit the module.
    #[error("checkpoint data: {0}")]
    Checkpoint(String),
    /// No such segment for this checkpoint.
    #[error("segment {segment} cannot follow checkpoint data of {steps} steps")]
    Segment {
        /// The segment asked for.
        segment: usize,
        /// Steps completed in the data.
        steps: u32,
    },
}

/// A global's value in a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalValue {
    /// An i32.
    I32(i32),
    /// An i64.
    I64(i64),
}

/// A job's state between steps (decoded checkpoint data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmState {
    /// `step` returned [`STEP_DONE`].
    pub done: bool,
    /// Steps completed.
    pub steps: u32,
    /// Exported mutable globals, sorted by name.
    pub globals: Vec<(String, GlobalValue)>,
    /// The linear memory (a whole number of pages).
    pub memory: Vec<u8>,
}

fn ck(msg: impl Into<String>) -> WasmError {
    WasmError::Checkpoint(msg.into())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WasmError> {
        let (head, rest) = self.0.split_at_checked(n).ok_or_else(|| ck("truncated"))?;
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, WasmError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, WasmError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

impl WasmState {
    /// The canonical encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.memory.len());
        out.extend_from_slice(&[VERSION, KIND_STATE, u8::from(self.done), 0]);
        out.extend_from_slice(&self.steps.to_le_bytes());
        out.extend_from_slice(&(self.globals.len() as u32).to_le_bytes());
        for (name, value) in &self.globals {
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            match value {
                GlobalValue::I32(v) => {
                    out.push(1);
                    out.extend_from_slice(&v.to_le_bytes());
                }
                GlobalValue::I64(v) => {
                    out.push(2);
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        out.extend_from_slice(&((self.memory.len() / PAGE) as u32).to_le_bytes());
        out.extend_from_slice(&self.memory);
        out
    }

    /// Decodes state data; refuses anything non-canonical. Memory is bounded
    /// by `max_pages`; never panics.
    pub fn decode(bytes: &[u8], max_pages: u32) -> Result<WasmState, WasmError> {
        let mut r = Reader(bytes);
        let head = r.take(4)?;
        if head[0] != VERSION || head[1] != KIND_STATE || head[2] > 1 || head[3] != 0 {
            return Err(ck(format!("bad header {head:?}")));
        }
        let steps = r.u32()?;
        let count = r.u32()?;
        // Each global takes at least 6 bytes: bound the count before allocating.
        if count as usize > r.0.len() / 6 {
            return Err(ck("global count exceeds the data"));
        }
        let mut globals: Vec<(String, GlobalValue)> = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let len = r.u8()? as usize;
            let name =
                std::str::from_utf8(r.take(len)?).map_err(|_| ck("global name is not UTF-8"))?;
            let value = match r.u8()? {
                1 => GlobalValue::I32(i32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"))),
                2 => GlobalValue::I64(i64::from_le_bytes(r.take(8)?.try_into().expect("8 bytes"))),
                t => return Err(ck(format!("global type {t}"))),
            };
            if globals
                .last()
                .is_some_and(|(prev, _)| prev.as_str() >= name)
            {
                return Err(ck("globals not sorted by name, or repeated"));
            }
            globals.push((name.to_string(), value));
        }
        let pages = r.u32()?;
        if pages > max_pages {
            return Err(ck(format!("{pages} memory pages, more than {max_pages}")));
        }
        let memory = r.take(pages as usize * PAGE)?.to_vec();
        if !r.0.is_empty() {
            return Err(ck(format!("{} trailing bytes", r.0.len())));
        }
        Ok(WasmState {
            done: head[2] == 1,
            steps,
            globals,
            memory,
        })
    }
}

/// Encodes a job's output as its last checkpoint's data.
pub fn encode_output(output: &[u8]) -> Vec<u8> {
    let mut out = vec![VERSION, KIND_OUTPUT, 0, 0];
    out.extend_from_slice(&(output.len() as u32).to_le_bytes());
    out.extend_from_slice(output);
    out
}

/// A finished WASM job.
#[derive(Clone, Debug)]
pub struct WasmRun {
    /// The output bytes.
    pub output: Vec<u8>,
    /// Steps taken.
    pub steps: u32,
    /// Every checkpoint's data: states 0..=steps, then the output.
    pub checkpoints: Vec<Vec<u8>>,
    /// Checkpoint hashes and the trace root.
    pub trace: Trace,
}

/// A compiled job module, checked against the ABI.
pub struct WasmJob {
    engine: Engine,
    module: Module,
    limits: WasmLimits,
    /// Exported mutable globals, sorted by name, with their types.
    globals: Vec<(String, ValType)>,
}

impl std::fmt::Debug for WasmJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmJob")
            .field("limits", &self.limits)
            .field("globals", &self.globals)
            .finish_non_exhaustive()
    }
}

fn config() -> Config {
    let mut c = Config::default();
    c.consume_fuel(true)
        .floats(false)
        .compilation_mode(CompilationMode::Eager)
        .allow_start_fn(false)
        .ignore_custom_sections(true)
        .wasm_bulk_memory(false)
        .wasm_reference_types(false)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .wasm_saturating_float_to_int(false)
        .set_max_recursion_depth(1000)
        .set_max_stack_height(1_000_000);
    c
}

struct Instantiated {
    store: Store<StoreLimits>,
    instance: Instance,
    memory: wasmi::Memory,
}

impl WasmJob {
    /// Compiles `code` and checks it against the job ABI.
    pub fn new(code: &[u8], limits: WasmLimits) -> Result<WasmJob, WasmError> {
        let engine = Engine::new(&config());
        let module =
            Module::new(&engine, code).map_err(|e| WasmError::InvalidModule(e.to_string()))?;
        if let Some(import) = module.imports().next() {
            return Err(WasmError::Abi(format!(
                "imports {}::{}; a job imports nothing",
                import.module(),
                import.name()
            )));
        }
        let (mut step, mut memory, mut io) = (false, false, false);
        let mut globals = Vec::new();
        for export in module.exports() {
            match (export.name(), export.ty()) {
                ("step", ExternType::Func(f)) => {
                    if !(f.params().is_empty() && f.results() == [ValType::I32]) {
                        return Err(WasmError::Abi("step must be [] -> [i32]".into()));
                    }
                    step = true;
                }
                ("memory", ExternType::Memory(m)) => {
                    if m.minimum() > u64::from(limits.max_memory_pages) {
                        return Err(WasmError::Abi(format!(
                            "memory of {} pages, more than {}",
                            m.minimum(),
                            limits.max_memory_pages
                        )));
                    }
                    memory = true;
                }
                ("io", ExternType::Global(g)) => {
                    if g.content() != ValType::I32 || g.mutability() != Mutability::Const {
                        return Err(WasmError::Abi("io must be an immutable i32 global".into()));
                    }
                    io = true;
                }
                (name, ExternType::Global(g)) if g.mutability() == Mutability::Var => {
                    if !matches!(g.content(), ValType::I32 | ValType::I64) {
                        return Err(WasmError::Abi(format!(
                            "mutable global {name} is not i32 or i64"
                        )));
                    }
                    if name.len() > 255 {
                        return Err(WasmError::Abi("exported global name over 255 bytes".into()));
                    }
                    globals.push((name.to_string(), g.content()));
                }
                _ => {}
            }
        }
        for (present, what) in [(step, "step"), (memory, "memory"), (io, "io")] {
            if !present {
                return Err(WasmError::Abi(format!("missing export {what}")));
            }
        }
        globals.sort();
        Ok(WasmJob {
            engine,
            module,
            limits,
            globals,
        })
    }

    /// The job's limits.
    pub fn limits(&self) -> &WasmLimits {
        &self.limits
    }

    fn instantiate(&self) -> Result<Instantiated, WasmError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.max_memory_pages as usize * PAGE)
            .instances(1)
            .memories(1)
            .tables(1)
            .build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|l| l);
        let instance = Linker::new(&self.engine)
            .instantiate_and_start(&mut store, &self.module)
            .map_err(|e| WasmError::InvalidModule(e.to_string()))?;
        let memory = instance
            .get_memory(&store, "memory")
            .ok_or_else(|| WasmError::Abi("missing export memory".into()))?;
        Ok(Instantiated {
            store,
            instance,
            memory,
        })
    }

    fn io_offset(inst: &Instantiated) -> Result<u32, WasmError> {
        match inst
            .instance
            .get_global(&inst.store, "io")
            .map(|g| g.get(&inst.store))
        {
            Some(Val::I32(v)) => Ok(v as u32),
            _ => Err(WasmError::Abi("missing export io".into())),
        }
    }

    fn capture(&self, inst: &Instantiated, steps: u32, done: bool) -> WasmState {
        let globals = self
            .globals
            .iter()
            .map(|(name, _)| {
                let value = match inst
                    .instance
                    .get_global(&inst.store, name)
                    .map(|g| g.get(&inst.store))
                {
                    Some(Val::I64(v)) => GlobalValue::I64(v),
                    Some(Val::I32(v)) => GlobalValue::I32(v),
                    // Checked in `new`: exported mutable globals are i32 or i64.
                    other => unreachable!("global {name} holds {other:?}"),
                };
                (name.clone(), value)
            })
            .collect();
        WasmState {
            done,
            steps,
            globals,
            memory: inst.memory.data(&inst.store).to_vec(),
        }
    }

    /// Checkpoint 0: the module instantiated, the input written to its I/O area.
    pub fn initial_state(&self, input: &[u8]) -> Result<Vec<u8>, WasmError> {
        let mut inst = self.instantiate()?;
        let io = Self::io_offset(&inst)?;
        let size = inst.memory.data(&inst.store).len();
        let fits = (io as usize)
            .checked_add(4)
            .and_then(|e| e.checked_add(input.len()))
            .is_some_and(|end| end <= size);
        if !fits || input.len() > u32::MAX as usize {
            return Err(WasmError::InputTooLarge {
                len: input.len(),
                io,
                memory: size,
            });
        }
        let data = inst.memory.data_mut(&mut inst.store);
        let at = io as usize;
        data[at..at + 4].copy_from_slice(&(input.len() as u32).to_le_bytes());
        data[at + 4..at + 4 + input.len()].copy_from_slice(input);
        Ok(self.capture(&inst, 0, false).encode())
    }

    /// One step from `state`.
    fn step(&self, state: &WasmState) -> Result<WasmState, WasmError> {
        let step = state
            .steps
            .checked_add(1)
            .ok_or(WasmError::TooManySteps(state.steps))?;
        if step > self.limits.max_steps {
            return Err(WasmError::TooManySteps(self.limits.max_steps));
        }
        let mut inst = self.instantiate()?;
        let names: Vec<&str> = self.globals.iter().map(|(n, _)| n.as_str()).collect();
        let given: Vec<&str> = state.globals.iter().map(|(n, _)| n.as_str()).collect();
        if names != given {
            return Err(ck(format!(
                "globals {given:?}, the module exports {names:?}"
            )));
        }
        for ((name, ty), (_, value)) in self.globals.iter().zip(&state.globals) {
            let val = match (ty, value) {
                (ValType::I32, GlobalValue::I32(v)) => Val::I32(*v),
                (ValType::I64, GlobalValue::I64(v)) => Val::I64(*v),
                _ => return Err(ck(format!("global {name} has the wrong type"))),
            };
            let global = inst
                .instance
                .get_global(&inst.store, name)
                .ok_or_else(|| ck("global vanished"))?;
            global
                .set(&mut inst.store, val)
                .map_err(|e| ck(e.to_string()))?;
        }
        let have = inst.memory.data(&inst.store).len();
        if state.memory.len() < have {
            return Err(ck(format!(
                "memory of {} bytes is smaller than the module's initial {have}",
                state.memory.len()
            )));
        }
        inst.memory
            .grow(&mut inst.store, ((state.memory.len() - have) / PAGE) as u64)
            .map_err(|e| ck(e.to_string()))?;
        inst.memory
            .data_mut(&mut inst.store)
            .copy_from_slice(&state.memory);
        let func = inst
            .instance
            .get_typed_func::<(), i32>(&inst.store, "step")
            .map_err(|e| WasmError::Abi(e.to_string()))?;
        inst.store
            .set_fuel(self.limits.fuel_per_step)
            .map_err(|e| WasmError::InvalidModule(e.to_string()))?;
        let status = func
            .call(&mut inst.store, ())
            .map_err(|e| WasmError::Trap {
                step,
                reason: e.to_string(),
            })?;
        let done = match status {
            STEP_CONTINUE => false,
            STEP_DONE => true,
            status => return Err(WasmError::BadStatus { step, status }),
        };
        Ok(self.capture(&inst, step, done))
    }

    /// The output of a done state.
    fn output(&self, state: &WasmState) -> Result<Vec<u8>, WasmError> {
        let inst = self.instantiate()?;
        let io = Self::io_offset(&inst)?;
        let at = io as usize;
        let len_bytes = state
            .memory
            .get(at..at.saturating_add(4))
            .ok_or(WasmError::OutputOutOfBounds { len: 0, io })?;
        let len = u32::from_le_bytes(len_bytes.try_into().expect("4 bytes"));
        state
            .memory
            .get(at + 4..(at + 4).saturating_add(len as usize))
            .map(<[u8]>::to_vec)
            .ok_or(WasmError::OutputOutOfBounds { len, io })
    }

    /// Runs the job on `input`, recording every checkpoint.
    pub fn run(&self, input: &[u8]) -> Result<WasmRun, WasmError> {
        let mut checkpoints = vec![self.initial_state(input)?];
        let mut state = WasmState::decode(&checkpoints[0], self.limits.max_memory_pages)?;
        while !state.done {
            state = self.step(&state)?;
            checkpoints.push(state.encode());
        }
        let output = self.output(&state)?;
        checkpoints.push(encode_output(&output));
        Ok(WasmRun {
            output,
            steps: state.steps,
            trace: Trace::of_data(&checkpoints),
            checkpoints,
        })
    }

    /// Re-executes segment `segment` from checkpoint `segment − 1`'s data:
    /// a step if that state is running, the output if it is done.
    pub fn run_segment(&self, segment: usize, input: &[u8]) -> Result<Vec<u8>, WasmError> {
        let state = WasmState::decode(input, self.limits.max_memory_pages)?;
        if segment == 0 || state.steps as usize != segment - 1 {
            return Err(WasmError::Segment {
                segment,
                steps: state.steps,
            });
        }
        if state.done {
            Ok(encode_output(&self.output(&state)?))
        } else {
            Ok(self.step(&state)?.encode())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn state_round_trips() {
        let s = WasmState {
            done: true,
            steps: 3,
            globals: vec![
                ("a".into(), GlobalValue::I64(-5)),
                ("b".into(), GlobalValue::I32(9)),
            ],
            memory: vec![7; PAGE],
        };
        assert_eq!(WasmState::decode(&s.encode(), 1).unwrap(), s);
        assert!(WasmState::decode(&s.encode(), 0).is_err());
        let unsorted = WasmState {
            globals: vec![
                ("b".into(), GlobalValue::I32(9)),
                ("a".into(), GlobalValue::I64(-5)),
            ],
            ..s.clone()
        };
        assert!(WasmState::decode(&unsorted.encode(), 1).is_err());
    }

    proptest! {
        #[test]
        fn state_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Ok(s) = WasmState::decode(&bytes, 4) {
                prop_assert_eq!(s.encode(), bytes);
            }
        }

        #[test]
        fn state_decode_never_panics_on_plausible_headers(
            status in 0u8..3, steps in any::<u32>(), count in 0u32..4,
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = vec![1, 3, status, 0];
            bytes.extend_from_slice(&steps.to_le_bytes());
            bytes.extend_from_slice(&count.to_le_bytes());
            bytes.extend_from_slice(&body);
            if let Ok(s) = WasmState::decode(&bytes, 4) {
                prop_assert_eq!(s.encode(), bytes);
            }
        }
    }
}
