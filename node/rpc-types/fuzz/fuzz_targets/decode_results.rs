//! Fuzzes what a client does with a node's answer: deserialize a result
//! (JSON from an untrusted node) and decode its fields into protocol types.
//! Nothing panics; what decodes re-encodes to the same wire form.
#![no_main]

use aether_rpc_types::dto::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(dto) = serde_json::from_slice::<ParamsDto>(data)
        && let Ok(params) = dto.parse()
    {
        assert_eq!(ParamsDto::from(&params).parse(), Ok(params));
    }
    if let Ok(dto) = serde_json::from_slice::<UtxosDto>(data) {
        for u in &dto.utxos {
            let _ = u.out_point.parse();
            let _ = u.output.parse_address();
            let _ = u.output.parse_value();
        }
    }
    if let Ok(dto) = serde_json::from_slice::<TransactionDto>(data)
        && let Ok(tx) = dto.parse_raw()
    {
        assert_eq!(TransactionDto::new(&tx, None).parse_raw(), Ok(tx));
    }
    if let Ok(dto) = serde_json::from_slice::<HeaderDto>(data) {
        let _ = dto.parse_hash();
        let _ = dto.parse_state_root();
    }
    if let Ok(dto) = serde_json::from_slice::<ReceiptDto>(data) {
        let _ = dto.parse_tx_id();
    }
});
