//! WebAssembly scripts: validators of script-locked outputs and minting
//! policies, run by the `wasmi` interpreter (pinned to an exact version:
//! its validation and fuel rules are consensus rules).
//!
//! # Script ABI
//! A script is a WebAssembly module that
//! - exports a function `validate: [] -> [i32]`; returning
//!   [`ACCEPT`] (`1`) accepts, any other value rejects;
//! - exports its linear memory as `memory` (at most
//!   [`ScriptLimits::max_memory_pages`] pages, declared or grown);
//! - imports nothing but the host API below, from module `"aether"`;
//! - has no start function, no floating-point types or instructions, and
//!   uses no proposal beyond: mutable globals, sign extension, multi-value,
//!   bulk memory, reference types, tail calls, extended constants.
//!
//! # Host API (module `"aether"`)
//! | import | type | effect | fuel |
//! |---|---|---|---|
//! | `context_size` | `[] -> [i32]` | length of the serialized [`aether_types::ScriptContext`] | [`HOST_CALL_FUEL`] |
//! | `context_read` | `[i32 dst, i32 offset, i32 len] -> []` | copies context bytes `offset..offset+len` to memory at `dst`; traps if either range is out of bounds | [`HOST_CALL_FUEL`] + ⌈len / 8⌉ |
//!
//! The context is the canonical encoding of
//! [`aether_types::ScriptContext`]: purpose, datum, redeemer and the
//! transaction as scripts see it. Both host functions are pure functions of
//! that byte string: there is no clock, randomness, I/O or float, so a
//! script's verdict and fuel use are deterministic.
//!
//! # Fuel
//! Each run gets its redeemer's declared budget. Loading charges
//! `instantiate_fuel_base + instantiate_fuel_per_byte × code length`
//! first; then wasmi charges per executed instruction (its default cost
//! table, eager compilation so that no compile work is charged at run
//! time) and the host API as above. Exhausting the budget fails the script
//! ([`ScriptFailure::OutOfFuel`]).
//!
//! # Failures
//! Anything that goes wrong — malformed module, floats, forbidden import,
//! missing export, memory over the cap, trap, out of fuel, reject — is a
//! [`ScriptFailure`]: the transaction is included, its collateral pays the
//! fee, nothing else changes (see the crate docs).

use crate::params::ScriptLimits;
use aether_types::{Script, ScriptFailure, ScriptHash};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use wasmi::errors::{ErrorKind, MemoryError, TableError};
use wasmi::{
    Caller, CompilationMode, Config, Engine, Extern, ExternType, Linker, Module, Store,
    StoreLimits, StoreLimitsBuilder, TrapCode, ValType,
};

/// Value `validate` returns to accept.
pub const ACCEPT: i32 = 1;

/// Fuel charged for each host call.
pub const HOST_CALL_FUEL: u64 = 10;

/// Host module name.
pub const HOST_MODULE: &str = "aether";

/// Modules kept compiled (a cache: it changes speed, never results).
/// wasmi frees compiled code only with its `Engine`, so when the cache is
/// full the engine is replaced by a fresh one ("generation"), which bounds
/// memory by roughly this many compiled modules.
const MAX_CACHED_MODULES: usize = 1024;

/// Outcome of one script run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptRun {
    /// `Ok` if the script accepted.
    pub verdict: Result<(), ScriptFailure>,
    /// Fuel consumed (never more than the budget).
    pub fuel_used: u64,
}

struct HostState {
    context: Arc<[u8]>,
    limits: StoreLimits,
}

/// An interpreter instance with the modules compiled into it.
struct Generation {
    engine: Engine,
    linker: Linker<HostState>,
    modules: RwLock<HashMap<ScriptHash, Result<Module, ScriptFailure>>>,
}

/// Compiles, checks and runs scripts. Cheap to share between threads.
pub struct ScriptEngine {
    current: RwLock<Arc<Generation>>,
    limits: ScriptLimits,
}

impl std::fmt::Debug for ScriptEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn config(floats: bool) -> Config {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        .floats(floats)
        .compilation_mode(CompilationMode::Eager)
        .allow_start_fn(false)
        .ignore_custom_sections(true)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .wasm_saturating_float_to_int(floats)
        .set_max_recursion_depth(1000)
        .set_max_stack_height(1_000_000);
    config
}

impl Generation {
    fn new() -> Self {
        let engine = Engine::new(&config(false));
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap(
                HOST_MODULE,
                "context_size",
                |mut caller: Caller<'_, HostState>| -> Result<i32, wasmi::Error> {
                    charge(&mut caller, HOST_CALL_FUEL)?;
                    i32::try_from(caller.data().context.len())
                        .map_err(|_| wasmi::Error::new("context larger than i32"))
                },
            )
            .expect("host function names are unique");
        linker
            .func_wrap(
                HOST_MODULE,
                "context_read",
                |mut caller: Caller<'_, HostState>,
                 dst: i32,
                 offset: i32,
                 len: i32|
                 -> Result<(), wasmi::Error> {
                    // i32 arguments are unsigned addresses and lengths.
                    let (dst, offset, len) = (dst as u32, offset as u32, len as u32);
                    charge(
                        &mut caller,
                        HOST_CALL_FUEL.saturating_add(u64::from(len).div_ceil(8)),
                    )?;
                    let context = caller.data().context.clone();
                    let start = offset as usize;
                    let end = start
                        .checked_add(len as usize)
                        .filter(|end| *end <= context.len())
                        .ok_or_else(|| wasmi::Error::new("context read out of range"))?;
                    let memory = caller
                        .get_export("memory")
                        .and_then(Extern::into_memory)
                        .ok_or_else(|| wasmi::Error::new("no exported memory"))?;
                    memory
                        .write(&mut caller, dst as usize, &context[start..end])
                        .map_err(|_| wasmi::Error::new("context write out of memory bounds"))
                },
            )
            .expect("host function names are unique");
        Generation {
            engine,
            linker,
            modules: RwLock::new(HashMap::new()),
        }
    }
}

impl ScriptEngine {
    /// An engine enforcing `limits`.
    pub fn new(limits: ScriptLimits) -> Self {
        ScriptEngine {
            current: RwLock::new(Arc::new(Generation::new())),
            limits,
        }
    }

    /// The limits enforced.
    pub fn limits(&self) -> &ScriptLimits {
        &self.limits
    }

    /// Compiles and checks a script against the ABI without running it.
    pub fn check(&self, script: &Script) -> Result<(), ScriptFailure> {
        let generation = self.generation();
        self.module(&generation, &script.hash(), script).map(|_| ())
    }

    /// The current generation, replaced by a fresh one when its cache is full.
    fn generation(&self) -> Arc<Generation> {
        let current = match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let full = current
            .modules
            .read()
            .map(|m| m.len() >= MAX_CACHED_MODULES)
            .unwrap_or(true);
        if !full {
            return current;
        }
        let fresh = Arc::new(Generation::new());
        match self.current.write() {
            Ok(mut guard) => *guard = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        fresh
    }

    fn module(
        &self,
        generation: &Generation,
        hash: &ScriptHash,
        script: &Script,
    ) -> Result<Module, ScriptFailure> {
        if let Ok(cache) = generation.modules.read()
            && let Some(entry) = cache.get(hash)
        {
            return entry.clone();
        }
        let compiled = self.compile(&generation.engine, script);
        if let Ok(mut cache) = generation.modules.write() {
            cache.insert(*hash, compiled.clone());
        }
        compiled
    }

    fn compile(&self, engine: &Engine, script: &Script) -> Result<Module, ScriptFailure> {
        let Script::Wasm(code) = script;
        let module = match Module::new(engine, code.as_slice()) {
            Ok(module) => module,
            // To name the reason, compile again under the same rules but
            // with floats allowed, in a throw-away engine (wasmi frees code
            // only with its engine). Only invalid modules take this path.
            Err(_) if Module::new(&Engine::new(&config(true)), code.as_slice()).is_ok() => {
                return Err(ScriptFailure::FloatsUsed);
            }
            Err(_) => return Err(ScriptFailure::InvalidModule),
        };
        for import in module.imports() {
            let allowed = import.module() == HOST_MODULE
                && match (import.name(), import.ty()) {
                    ("context_size", ExternType::Func(f)) => {
                        f.params().is_empty() && f.results() == [ValType::I32]
                    }
                    ("context_read", ExternType::Func(f)) => {
                        f.params() == [ValType::I32, ValType::I32, ValType::I32]
                            && f.results().is_empty()
                    }
                    _ => false,
                };
            if !allowed {
                return Err(ScriptFailure::ForbiddenImport);
            }
        }
        let mut has_validate = false;
        let mut has_memory = false;
        for export in module.exports() {
            match (export.name(), export.ty()) {
                ("validate", ExternType::Func(f)) => {
                    has_validate = f.params().is_empty() && f.results() == [ValType::I32];
                }
                ("memory", ExternType::Memory(m)) => {
                    if m.minimum() > u64::from(self.limits.max_memory_pages) {
                        return Err(ScriptFailure::ResourceLimit);
                    }
                    has_memory = true;
                }
                _ => {}
            }
        }
        if !(has_validate && has_memory) {
            return Err(ScriptFailure::BadExports);
        }
        Ok(module)
    }

    /// Runs `script` (whose hash is `hash`) on the encoded context with a
    /// fuel budget of `fuel`.
    pub fn run(
        &self,
        script: &Script,
        hash: &ScriptHash,
        context: Arc<[u8]>,
        fuel: u64,
    ) -> ScriptRun {
        let load = self
            .limits
            .instantiate_fuel_per_byte
            .saturating_mul(script.code_len() as u64)
            .saturating_add(self.limits.instantiate_fuel_base);
        if load > fuel {
            return ScriptRun {
                verdict: Err(ScriptFailure::OutOfFuel),
                fuel_used: fuel,
            };
        }
        let fail = |failure, fuel_used| ScriptRun {
            verdict: Err(failure),
            fuel_used,
        };
        let generation = self.generation();
        let module = match self.module(&generation, hash, script) {
            Ok(module) => module,
            Err(failure) => return fail(failure, load),
        };
        let budget = fuel - load;
        let memory_bytes = (self.limits.max_memory_pages as usize).saturating_mul(65_536);
        let limits = StoreLimitsBuilder::new()
            .memory_size(memory_bytes)
            .table_elements(self.limits.max_table_elements as usize)
            .instances(1)
            .memories(1)
            .tables(1)
            .build();
        let mut store = Store::new(&generation.engine, HostState { context, limits });
        store.limiter(|state| &mut state.limits);
        if store.set_fuel(budget).is_err() {
            // Only fails when fuel metering is off, which `config` forbids.
            return fail(ScriptFailure::Trapped, load);
        }
        let used = |store: &Store<HostState>| {
            load.saturating_add(budget.saturating_sub(store.get_fuel().unwrap_or(0)))
        };
        let instance = match generation.linker.instantiate_and_start(&mut store, &module) {
            Ok(instance) => instance,
            Err(error) => {
                let failure = classify(&error);
                return fail(failure, used(&store));
            }
        };
        let validate = match instance.get_typed_func::<(), i32>(&store, "validate") {
            Ok(f) => f,
            Err(_) => return fail(ScriptFailure::BadExports, used(&store)),
        };
        let result = validate.call(&mut store, ());
        let fuel_used = used(&store);
        match result {
            Ok(ACCEPT) => ScriptRun {
                verdict: Ok(()),
                fuel_used,
            },
            Ok(code) => fail(ScriptFailure::Rejected { code }, fuel_used),
            Err(error) => match classify(&error) {
                // wasmi stops before a block it cannot pay for, possibly
                // with fuel left; an exhausted run used its whole budget.
                ScriptFailure::OutOfFuel => fail(ScriptFailure::OutOfFuel, fuel),
                failure => fail(failure, fuel_used),
            },
        }
    }
}

/// Charges host-call fuel, trapping with out-of-fuel if the budget is short.
fn charge(caller: &mut Caller<'_, HostState>, cost: u64) -> Result<(), wasmi::Error> {
    let left = caller.get_fuel()?;
    match left.checked_sub(cost) {
        Some(rest) => caller.set_fuel(rest),
        None => {
            caller.set_fuel(0)?;
            Err(wasmi::Error::from(TrapCode::OutOfFuel))
        }
    }
}

fn classify(error: &wasmi::Error) -> ScriptFailure {
    match error.kind() {
        ErrorKind::Memory(MemoryError::ResourceLimiterDeniedAllocation)
        | ErrorKind::Table(TableError::ResourceLimiterDeniedAllocation) => {
            ScriptFailure::ResourceLimit
        }
        ErrorKind::Linker(_) => ScriptFailure::ForbiddenImport,
        kind if kind.as_trap_code() == Some(TrapCode::OutOfFuel) => ScriptFailure::OutOfFuel,
        _ => ScriptFailure::Trapped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::WasmCode;

    fn limits() -> ScriptLimits {
        crate::ProtocolParams::dev().scripts
    }

    fn script(wat_text: &str) -> Script {
        Script::Wasm(WasmCode::new(wat::parse_str(wat_text).unwrap()).unwrap())
    }

    fn reader(len: u32) -> Script {
        script(&format!(
            r#"(module
                 (import "aether" "context_read" (func $read (param i32 i32 i32)))
                 (memory (export "memory") 1)
                 (func (export "validate") (result i32)
                   (call $read (i32.const 0) (i32.const 0) (i32.const {len}))
                   i32.const 1))"#
        ))
    }

    #[test]
    fn context_read_charges_per_byte() {
        let engine = ScriptEngine::new(limits());
        let context: Arc<[u8]> = vec![7u8; 1000].into();
        let run = |s: &Script| engine.run(s, &s.hash(), context.clone(), 1_000_000);
        let (short, long) = (reader(0), reader(800));
        let (a, b) = (run(&short), run(&long));
        assert_eq!(a.verdict, Ok(()));
        assert_eq!(b.verdict, Ok(()));
        // Same code length and instructions; only the copy differs.
        assert_eq!(short.code_len(), long.code_len() - 1);
        assert_eq!(
            b.fuel_used - a.fuel_used,
            800 / 8 + limits().instantiate_fuel_per_byte
        );
        // Reading past the context traps.
        assert_eq!(run(&reader(1001)).verdict, Err(ScriptFailure::Trapped));
    }

    #[test]
    fn load_cost_is_charged_first() {
        let engine = ScriptEngine::new(limits());
        let s = reader(0);
        let load = limits().instantiate_fuel_base + s.code_len() as u64;
        let ctx: Arc<[u8]> = vec![].into();
        let out = engine.run(&s, &s.hash(), ctx.clone(), load - 1);
        assert_eq!(
            out,
            ScriptRun {
                verdict: Err(ScriptFailure::OutOfFuel),
                fuel_used: load - 1
            }
        );
        let ok = engine.run(&s, &s.hash(), ctx, load + 1_000);
        assert_eq!(ok.verdict, Ok(()));
        assert!(ok.fuel_used > load);
    }

    #[test]
    fn disabled_proposals_and_start_functions_are_invalid() {
        let engine = ScriptEngine::new(limits());
        let modules = [
            // SIMD
            r#"(module (memory (export "memory") 1)
                 (func (export "validate") (result i32)
                   v128.const i64x2 1 2 drop i32.const 1))"#,
            // memory64
            r#"(module (memory (export "memory") i64 1)
                 (func (export "validate") (result i32) i32.const 1))"#,
            // multi-memory
            r#"(module (memory (export "memory") 1) (memory 1)
                 (func (export "validate") (result i32) i32.const 1))"#,
            // start function
            r#"(module (memory (export "memory") 1)
                 (func $init) (start $init)
                 (func (export "validate") (result i32) i32.const 1))"#,
        ];
        for text in modules {
            assert_eq!(
                engine.check(&script(text)),
                Err(ScriptFailure::InvalidModule),
                "{text}"
            );
        }
        // Imported memory is not part of the host API.
        let imported = script(
            r#"(module (import "aether" "memory" (memory 1)) (export "memory" (memory 0))
                 (func (export "validate") (result i32) i32.const 1))"#,
        );
        assert_eq!(engine.check(&imported), Err(ScriptFailure::ForbiddenImport));
        // A host function imported with the wrong type.
        let wrong_type = script(
            r#"(module (import "aether" "context_size" (func (result i64)))
                 (memory (export "memory") 1)
                 (func (export "validate") (result i32) i32.const 1))"#,
        );
        assert_eq!(
            engine.check(&wrong_type),
            Err(ScriptFailure::ForbiddenImport)
        );
    }

    #[test]
    fn results_survive_cache_generations() {
        let engine = ScriptEngine::new(limits());
        let probe = reader(8);
        let ctx: Arc<[u8]> = vec![1u8; 64].into();
        let before = engine.run(&probe, &probe.hash(), ctx.clone(), 100_000);
        // Fill the cache past its bound with distinct modules.
        for i in 0..=MAX_CACHED_MODULES as u32 {
            let s = script(&format!(
                r#"(module (memory (export "memory") 1)
                     (func (export "validate") (result i32) i32.const {i} drop i32.const 1))"#
            ));
            assert_eq!(engine.check(&s), Ok(()));
        }
        let after = engine.run(&probe, &probe.hash(), ctx, 100_000);
        assert_eq!(before, after);
    }
}
