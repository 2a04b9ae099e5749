//! Fuzzes the parsers of the text forms (hashes, hex, addresses,
//! out-points, block tags, amounts, and the JSON forms of parameters): they
//! never panic, and whatever parses re-formats to something that parses to
//! the same value.
#![no_main]

use aether_rpc_types::params::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_hash32("fuzz", &text);
    let _ = parse_tx_id(&text);
    let _ = parse_hex_bytes("fuzz", &text, 1024);
    if let Ok(address) = parse_address(&text) {
        assert_eq!(parse_address(&format_address(&address)), Ok(address));
    }
    if let Ok(op) = parse_out_point_text(&text) {
        assert_eq!(parse_out_point_text(&op.to_string()), Ok(op));
    }
    if let Ok(amount) = parse_amount("fuzz", &text) {
        assert_eq!(parse_amount("fuzz", &amount.to_string()), Ok(amount));
    }
    if let Ok(quantity) = parse_signed_amount("fuzz", &text) {
        assert_eq!(parse_signed_amount("fuzz", &quantity.to_string()), Ok(quantity));
    }
    let _ = BlockTag::parse_text(&text);
    if let Ok(param) = serde_json::from_slice::<BlockParam>(data) {
        let _ = param.parse();
    }
    if let Ok(param) = serde_json::from_slice::<OutPointParam>(data) {
        let _ = param.parse();
    }
});
