//! Fuzzes the decoders of every on-disk record (what a damaged database
//! could hand back): never panics, and accepted records re-encode to the
//! same bytes.
#![no_main]

use aether_storage::schema::{
    self, HeaderRecord, Tip, TxLocation, UtxoRecord, decode_address_utxo_key, decode_jmt_node,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tip) = Tip::decode(data) {
        assert_eq!(tip.encode().as_slice(), data);
    }
    if let Ok(location) = TxLocation::decode(b"k", data) {
        assert_eq!(location.encode().as_slice(), data);
    }
    if let Ok(record) = HeaderRecord::decode(b"k", data) {
        assert_eq!(record.encode(), data);
    }
    if let Ok(record) = UtxoRecord::decode(b"k", data) {
        assert_eq!(UtxoRecord::encode(&record.out_point, &record.output), data);
    }
    if let Ok(out_point) = decode_address_utxo_key(data) {
        assert_eq!(&data[33..], &schema::out_point_key(&out_point));
    }
    let _ = schema::decode_transaction(b"k", data);
    let _ = schema::decode_receipt(b"k", data);
    let _ = schema::decode_height("meta", b"k", data);
    let _ = decode_jmt_node(b"k", data);
});
