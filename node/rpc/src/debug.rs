//! Debug methods a node serves only when its operator turns them on: today
//! `aether_debugSetFaults`, the runtime control of a validator's fault
//! injection, for test networks (`aether devnet partition` / `heal`).
//!
//! They live in their own [`RpcModule`], merged into the server by
//! [`RpcServer::start_with_extra`](crate::RpcServer::start_with_extra), so a
//! node that does not enable them does not even know their names (and the
//! OpenRPC document, which lists the standard methods, leaves them out).

use aether_rpc_types::dto::FaultsDto;
use aether_rpc_types::methods::DEBUG_SET_FAULTS;
use jsonrpsee::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::types::error::INVALID_PARAMS_CODE;
use std::sync::Arc;

/// Applies fault settings to a running node (implemented by the node over
/// its network's fault plan).
pub trait FaultControl: Send + Sync + 'static {
    /// Checks and applies `faults`; returns the settings now in force, or
    /// why they were refused (nothing changes then).
    fn set_faults(&self, faults: &FaultsDto) -> Result<FaultsDto, String>;
}

/// The module of `aether_debugSetFaults` over `control`. Its one
/// parameter is a [`FaultsDto`] object (by position or as `{"faults": ..}`).
pub fn fault_module(control: Arc<dyn FaultControl>) -> RpcModule<()> {
    let mut module = RpcModule::new(());
    module
        .register_method(DEBUG_SET_FAULTS, move |params, _, _| {
            let invalid = |m: String| ErrorObjectOwned::owned(INVALID_PARAMS_CODE, m, None::<()>);
            let faults: FaultsDto = if params.is_object() {
                #[derive(serde::Deserialize)]
                struct Named {
                    faults: FaultsDto,
                }
                params
                    .parse::<Named>()
                    .map(|n| n.faults)
                    .map_err(|e| invalid(e.message().to_string()))?
            } else {
                params
                    .one::<FaultsDto>()
                    .map_err(|e| invalid(e.message().to_string()))?
            };
            control.set_faults(&faults).map_err(invalid)
        })
        .expect("one method in a fresh module");
    module
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records what it was asked; refuses a loss above 1.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<FaultsDto>>);

    impl FaultControl for Recorder {
        fn set_faults(&self, faults: &FaultsDto) -> Result<FaultsDto, String> {
            if faults.loss.is_some_and(|l| l > 1.0) {
                return Err("loss above 1".into());
            }
            self.0.lock().unwrap().push(faults.clone());
            Ok(faults.clone())
        }
    }

    #[tokio::test]
    async fn set_faults_parses_its_object_and_reports_refusals() {
        let recorder = Arc::new(Recorder::default());
        let module = fault_module(recorder.clone());
        let partition = FaultsDto {
            partition: Some(vec![vec![0, 1], vec![2, 3]]),
            ..FaultsDto::default()
        };
        let got: FaultsDto = module
            .call(
                DEBUG_SET_FAULTS,
                jsonrpsee::rpc_params![serde_json::json!({"partition": [[0, 1], [2, 3]]})],
            )
            .await
            .unwrap();
        assert_eq!(got, partition);
        // By name: a delay alone (the partition stays as it was).
        let mut named = jsonrpsee::core::params::ObjectParams::new();
        named
            .insert("faults", serde_json::json!({"delayMs": 50}))
            .unwrap();
        let heal: FaultsDto = module.call(DEBUG_SET_FAULTS, named).await.unwrap();
        assert_eq!(heal.partition, None);
        assert_eq!(heal.delay_ms, Some(50));
        // Unknown fields, wrong shapes and refused values are errors; the
        // control saw only the two valid calls.
        for bad in [
            serde_json::json!({"partitions": [[0]]}),
            serde_json::json!({"partition": "0,1"}),
            serde_json::json!({"loss": 2.0}),
        ] {
            let err = module
                .call::<_, FaultsDto>(DEBUG_SET_FAULTS, jsonrpsee::rpc_params![bad.clone()])
                .await
                .unwrap_err();
            assert!(
                matches!(&err, jsonrpsee::core::server::MethodsError::JsonRpc(e) if e.code() == INVALID_PARAMS_CODE),
                "{bad}: {err:?}"
            );
        }
        assert_eq!(recorder.0.lock().unwrap().len(), 2);
    }
}
