//! The on-disk schema: column families, key formats and record codecs.
//!
//! Pure byte layouts (no RocksDB types), so that they can be fuzzed and
//! documented on their own. Every decoder checks lengths first and returns
//! [`Error::Corruption`] for anything that is not exactly a record its
//! encoder could have written; nothing here panics on any input.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `meta` | ASCII name (below) | see [`MetaKey`] |
//! | `headers` | height (u64 BE) | [`HeaderRecord`]: tx count (u32 LE) ‖ canonical header |
//! | `block_hashes` | block hash (32) | height (u64 BE) |
//! | `blocks` | height (u64 BE) ‖ index (u32 BE) | canonical transaction |
//! | `transactions` | tx id (32) | [`TxLocation`]: height (u64 BE) ‖ index (u32 BE) |
//! | `receipts` | tx id (32) | canonical receipt |
//! | `utxos` | state key (32) = `state_key(out point)` | [`UtxoRecord`]: out point (36) ‖ canonical output |
//! | `address_utxos` | address (33) ‖ out point key (36) | empty |
//! | `jmt_nodes` | Borsh `NodeKey` (version u64 LE ‖ nibble count u64 LE ‖ path bytes) | Borsh `jmt` `Node` |
//! | `objects` | object tree key (32) = `ObjectKey::tree_key` | canonical `Object` |
//! | `due` | due height (u64 BE) ‖ object tree key (32) | canonical `ObjectKey` |
//! | `boundary` | height (u64 BE) | canonical `BoundaryReceipt` |
//! | `object_kinds` | namespace (1: the `ObjectKey` variant index) ‖ object tree key (32) | canonical `ObjectKey` |
//!
//! Big-endian heights make a block's records and the headers sort by
//! height; an address prefix groups an address's out-points.

use crate::error::{Error, Result};
use aether_types::{
    Address, BlockHash, BlockHeader, BoundaryReceipt, Canonical, Object, ObjectKey, OutPoint,
    Receipt, Transaction, TxId, TxOutput,
};

/// Version of this layout, stored under [`MetaKey::SchemaVersion`].
/// Version 2 added protocol objects, their due index and boundary receipts.
pub const SCHEMA_VERSION: u32 = 2;

/// Column family names.
pub mod cf {
    /// Chain metadata (tip, finalized height, state root, schema version, chain id).
    pub const META: &str = "meta";
    /// Block headers by height.
    pub const HEADERS: &str = "headers";
    /// Height by block hash.
    pub const BLOCK_HASHES: &str = "block_hashes";
    /// Block bodies: one record per transaction, by (height, index).
    pub const BLOCKS: &str = "blocks";
    /// Location of each transaction by id.
    pub const TRANSACTIONS: &str = "transactions";
    /// Receipts by transaction id.
    pub const RECEIPTS: &str = "receipts";
    /// The UTxO set by state key.
    pub const UTXOS: &str = "utxos";
    /// Index: address → its unspent out-points.
    pub const ADDRESS_UTXOS: &str = "address_utxos";
    /// Nodes of the Jellyfish Merkle state tree (latest version only).
    pub const JMT_NODES: &str = "jmt_nodes";
    /// Protocol objects by their tree key.
    pub const OBJECTS: &str = "objects";
    /// Index: due height → objects due then.
    pub const DUE: &str = "due";
    /// The block boundary's receipt by height.
    pub const BOUNDARY: &str = "boundary";
    /// Index: object namespace → its objects' keys.
    pub const OBJECT_KINDS: &str = "object_kinds";

    /// Consensus record of a committed block by height (its proposal
    /// signature and finality certificate, as the consensus layer encodes
    /// them; written only by multi-validator nodes).
    pub const CONSENSUS: &str = "consensus";

    /// Every column family, in a fixed order.
    pub const ALL: [&str; 14] = [
        META,
        HEADERS,
        BLOCK_HASHES,
        BLOCKS,
        TRANSACTIONS,
        RECEIPTS,
        UTXOS,
        ADDRESS_UTXOS,
        JMT_NODES,
        OBJECTS,
        DUE,
        BOUNDARY,
        OBJECT_KINDS,
        CONSENSUS,
    ];
}

/// Keys of the `meta` column family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaKey {
    /// `schema_version` → u32 LE.
    SchemaVersion,
    /// `tip` → height (u64 BE) ‖ block hash (32).
    Tip,
    /// `finalized` → height (u64 BE).
    Finalized,
    /// `state_root` → the 32-byte root after the tip.
    StateRoot,
    /// `chain_id` → u32 LE, the chain id of the first block.
    ChainId,
}

impl MetaKey {
    /// The key bytes.
    pub const fn key(self) -> &'static [u8] {
        match self {
            MetaKey::SchemaVersion => b"schema_version",
            MetaKey::Tip => b"tip",
            MetaKey::Finalized => b"finalized",
            MetaKey::StateRoot => b"state_root",
            MetaKey::ChainId => b"chain_id",
        }
    }
}

fn corrupt(cf: &'static str, key: &[u8], reason: impl Into<String>) -> Error {
    Error::Corruption {
        cf,
        key: hex::encode(key),
        reason: reason.into(),
    }
}

fn fixed<const N: usize>(cf: &'static str, key: &[u8], bytes: &[u8]) -> Result<[u8; N]> {
    <[u8; N]>::try_from(bytes)
        .map_err(|_| corrupt(cf, key, format!("{} bytes, expected {N}", bytes.len())))
}

/// Key of a height (headers): u64 big-endian.
pub fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

/// Decodes a u64 big-endian height value.
pub fn decode_height(cf: &'static str, key: &[u8], bytes: &[u8]) -> Result<u64> {
    Ok(u64::from_be_bytes(fixed::<8>(cf, key, bytes)?))
}

/// Decodes a u32 little-endian value (schema version, chain id).
pub fn decode_u32(cf: &'static str, key: &[u8], bytes: &[u8]) -> Result<u32> {
    Ok(u32::from_le_bytes(fixed::<4>(cf, key, bytes)?))
}

/// Decodes a 32-byte value.
pub fn decode_32(cf: &'static str, key: &[u8], bytes: &[u8]) -> Result<[u8; 32]> {
    fixed::<32>(cf, key, bytes)
}

/// Key of a transaction inside a block body: height (u64 BE) ‖ index (u32 BE).
pub fn block_tx_key(height: u64, index: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&height.to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The chain tip: height and hash of the last committed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tip {
    /// Height of the last committed block.
    pub height: u64,
    /// Its hash.
    pub hash: BlockHash,
}

impl Tip {
    /// `height (u64 BE) ‖ hash`.
    pub fn encode(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[..8].copy_from_slice(&self.height.to_be_bytes());
        out[8..].copy_from_slice(&self.hash.0);
        out
    }

    /// Decodes [`Tip::encode`]'s 40 bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let b = fixed::<40>(cf::META, MetaKey::Tip.key(), bytes)?;
        let mut height = [0u8; 8];
        height.copy_from_slice(&b[..8]);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&b[8..]);
        Ok(Tip {
            height: u64::from_be_bytes(height),
            hash: BlockHash(hash),
        })
    }
}

/// Where a transaction is: its block height and its index in the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxLocation {
    /// Height of the block.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

impl TxLocation {
    /// `height (u64 BE) ‖ index (u32 BE)` (also the key of its record in `blocks`).
    pub fn encode(&self) -> [u8; 12] {
        block_tx_key(self.height, self.index)
    }

    /// Decodes [`TxLocation::encode`]'s 12 bytes.
    pub fn decode(key: &[u8], bytes: &[u8]) -> Result<Self> {
        let b = fixed::<12>(cf::TRANSACTIONS, key, bytes)?;
        let mut height = [0u8; 8];
        height.copy_from_slice(&b[..8]);
        let mut index = [0u8; 4];
        index.copy_from_slice(&b[8..]);
        Ok(TxLocation {
            height: u64::from_be_bytes(height),
            index: u32::from_be_bytes(index),
        })
    }
}

/// A stored header with the number of transactions of its block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderRecord {
    /// Transactions in the block (records `0..tx_count` in `blocks`).
    pub tx_count: u32,
    /// The header.
    pub header: BlockHeader,
}

impl HeaderRecord {
    /// `tx_count (u32 LE) ‖ canonical header`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.tx_count.to_le_bytes().to_vec();
        self.header.encode_into(&mut out);
        out
    }

    /// Decodes [`HeaderRecord::encode`]; the header must be canonical.
    pub fn decode(key: &[u8], bytes: &[u8]) -> Result<Self> {
        let (count, header) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt(cf::HEADERS, key, "shorter than the tx count"))?;
        let header = BlockHeader::decode(header)
            .map_err(|e| corrupt(cf::HEADERS, key, format!("header: {e}")))?;
        Ok(HeaderRecord {
            tx_count: u32::from_le_bytes(*count),
            header,
        })
    }
}

/// An entry of the UTxO set as stored: the out-point (the key is only its
/// hash) and the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UtxoRecord {
    /// The out-point.
    pub out_point: OutPoint,
    /// The unspent output.
    pub output: TxOutput,
}

impl UtxoRecord {
    /// Length of the out-point prefix.
    pub const OUT_POINT_LEN: usize = 36;

    /// `canonical out point (36) ‖ canonical output`.
    pub fn encode(out_point: &OutPoint, output: &TxOutput) -> Vec<u8> {
        let mut out = out_point.encode();
        output.encode_into(&mut out);
        out
    }

    /// Decodes [`UtxoRecord::encode`].
    pub fn decode(key: &[u8], bytes: &[u8]) -> Result<Self> {
        let (out_point, output) = bytes
            .split_first_chunk::<{ Self::OUT_POINT_LEN }>()
            .ok_or_else(|| corrupt(cf::UTXOS, key, "shorter than an out-point"))?;
        let out_point = OutPoint::decode(out_point)
            .map_err(|e| corrupt(cf::UTXOS, key, format!("out-point: {e}")))?;
        let output = TxOutput::decode(output)
            .map_err(|e| corrupt(cf::UTXOS, key, format!("output: {e}")))?;
        Ok(UtxoRecord { out_point, output })
    }

    /// The output bytes of an encoded record (the state tree's value),
    /// without decoding them.
    pub fn output_bytes<'a>(key: &[u8], bytes: &'a [u8]) -> Result<&'a [u8]> {
        bytes
            .get(Self::OUT_POINT_LEN..)
            .ok_or_else(|| corrupt(cf::UTXOS, key, "shorter than an out-point"))
    }
}

/// Address part of an `address_utxos` key: tag (0 key, 1 script) ‖ hash.
pub fn address_prefix(address: &Address) -> [u8; 33] {
    let mut out = [0u8; 33];
    let (tag, hash) = match address {
        Address::Key(h) => (0u8, h.0),
        Address::Script(h) => (1u8, h.0),
    };
    out[0] = tag;
    out[1..].copy_from_slice(&hash);
    out
}

/// An out-point as a sortable key part: tx id ‖ index (u32 BE).
pub fn out_point_key(out_point: &OutPoint) -> [u8; 36] {
    let mut out = [0u8; 36];
    out[..32].copy_from_slice(&out_point.tx_id.0);
    out[32..].copy_from_slice(&out_point.index.to_be_bytes());
    out
}

/// `address_utxos` key: [`address_prefix`] ‖ [`out_point_key`].
pub fn address_utxo_key(address: &Address, out_point: &OutPoint) -> [u8; 69] {
    let mut out = [0u8; 69];
    out[..33].copy_from_slice(&address_prefix(address));
    out[33..].copy_from_slice(&out_point_key(out_point));
    out
}

/// The out-point of an `address_utxos` key.
pub fn decode_address_utxo_key(key: &[u8]) -> Result<OutPoint> {
    let b = fixed::<69>(cf::ADDRESS_UTXOS, key, key)?;
    if b[0] > 1 {
        return Err(corrupt(cf::ADDRESS_UTXOS, key, "address tag out of range"));
    }
    let mut tx_id = [0u8; 32];
    tx_id.copy_from_slice(&b[33..65]);
    let mut index = [0u8; 4];
    index.copy_from_slice(&b[65..]);
    Ok(OutPoint::new(TxId(tx_id), u32::from_be_bytes(index)))
}

/// Decodes a transaction record of `blocks`.
pub fn decode_transaction(key: &[u8], bytes: &[u8]) -> Result<Transaction> {
    Transaction::decode(bytes).map_err(|e| corrupt(cf::BLOCKS, key, e.to_string()))
}

/// Decodes a receipt record.
pub fn decode_receipt(key: &[u8], bytes: &[u8]) -> Result<Receipt> {
    Receipt::decode(bytes).map_err(|e| corrupt(cf::RECEIPTS, key, e.to_string()))
}

/// Decodes a `jmt_nodes` value. The bytes must be the canonical Borsh
/// encoding of a node (re-encoding gives them back).
pub fn decode_jmt_node(key: &[u8], bytes: &[u8]) -> Result<jmt::storage::Node> {
    let node = borsh::from_slice::<jmt::storage::Node>(bytes)
        .map_err(|e| corrupt(cf::JMT_NODES, key, e.to_string()))?;
    if borsh::to_vec(&node).ok().as_deref() != Some(bytes) {
        return Err(corrupt(cf::JMT_NODES, key, "not a canonical node encoding"));
    }
    Ok(node)
}

/// The `jmt_nodes` key of a node.
pub fn jmt_node_key(node_key: &jmt::storage::NodeKey) -> Vec<u8> {
    borsh::to_vec(node_key).expect("encoding into a Vec is infallible")
}

/// Key of an object's entry in the `due` index.
pub fn due_key(height: u64, key: &ObjectKey) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..8].copy_from_slice(&height.to_be_bytes());
    out[8..].copy_from_slice(&key.tree_key().0);
    out
}

/// The prefix of a namespace in the `object_kinds` index (the first byte
/// of the key's canonical encoding: its variant index).
pub fn object_kind_prefix(key: &ObjectKey) -> [u8; 1] {
    [key.encode()[0]]
}

/// Key of an object in the `object_kinds` index.
pub fn object_kind_key(key: &ObjectKey) -> [u8; 33] {
    let mut out = [0u8; 33];
    out[0] = object_kind_prefix(key)[0];
    out[1..].copy_from_slice(&key.tree_key().0);
    out
}

/// Decodes an object record.
pub fn decode_object(key: &[u8], bytes: &[u8]) -> Result<Object> {
    Object::decode(bytes).map_err(|e| corrupt(cf::OBJECTS, key, e.to_string()))
}

/// Decodes a `due` index value (the object's key).
pub fn decode_due(key: &[u8], bytes: &[u8]) -> Result<ObjectKey> {
    ObjectKey::decode(bytes).map_err(|e| corrupt(cf::DUE, key, e.to_string()))
}

/// Decodes a boundary receipt record.
pub fn decode_boundary(key: &[u8], bytes: &[u8]) -> Result<BoundaryReceipt> {
    BoundaryReceipt::decode(bytes).map_err(|e| corrupt(cf::BOUNDARY, key, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{ConsensusFields, Digest, KeyHash, PublicKey, ScriptHash};
    use proptest::prelude::*;

    fn header() -> BlockHeader {
        BlockHeader {
            version: aether_types::HEADER_VERSION,
            chain_id: aether_types::ChainId(9),
            height: 3,
            timestamp_ms: 77,
            parent_hash: BlockHash([1; 32]),
            tx_root: Digest([2; 32]),
            receipts_root: Digest([3; 32]),
            state_root: Digest([4; 32]),
            data_root: Digest([0; 32]),
            consensus: ConsensusFields::SingleValidator {
                proposer: PublicKey([5; 32]),
            },
        }
    }

    #[test]
    fn records_roundtrip() {
        let tip = Tip {
            height: 1 << 40,
            hash: BlockHash([9; 32]),
        };
        assert_eq!(Tip::decode(&tip.encode()).unwrap(), tip);
        let loc = TxLocation {
            height: 5,
            index: 7,
        };
        assert_eq!(TxLocation::decode(b"k", &loc.encode()).unwrap(), loc);
        let rec = HeaderRecord {
            tx_count: 12,
            header: header(),
        };
        assert_eq!(HeaderRecord::decode(b"k", &rec.encode()).unwrap(), rec);
        let op = OutPoint::new(TxId([6; 32]), 258);
        let out = TxOutput::coin(Address::Script(ScriptHash([8; 32])), 1_000);
        let bytes = UtxoRecord::encode(&op, &out);
        let back = UtxoRecord::decode(b"k", &bytes).unwrap();
        assert_eq!((back.out_point, back.output.clone()), (op, out.clone()));
        assert_eq!(
            UtxoRecord::output_bytes(b"k", &bytes).unwrap(),
            out.encode()
        );
        let addr = Address::Key(KeyHash([1; 32]));
        let key = address_utxo_key(&addr, &op);
        assert_eq!(&key[..33], &address_prefix(&addr));
        assert_eq!(decode_address_utxo_key(&key).unwrap(), op);
    }

    #[test]
    fn address_keys_sort_by_out_point() {
        let addr = Address::Key(KeyHash([1; 32]));
        let a = address_utxo_key(&addr, &OutPoint::new(TxId([1; 32]), 255));
        let b = address_utxo_key(&addr, &OutPoint::new(TxId([1; 32]), 256));
        assert!(a < b, "index is big-endian");
        assert!(block_tx_key(1, u32::MAX) < block_tx_key(2, 0));
    }

    #[test]
    fn wrong_lengths_are_corruption() {
        assert!(matches!(
            Tip::decode(&[0; 39]),
            Err(Error::Corruption { .. })
        ));
        assert!(TxLocation::decode(b"k", &[0; 13]).is_err());
        assert!(HeaderRecord::decode(b"k", &[0; 3]).is_err());
        assert!(UtxoRecord::decode(b"k", &[0; 35]).is_err());
        assert!(decode_height(cf::BLOCK_HASHES, b"k", &[0; 7]).is_err());
        assert!(decode_address_utxo_key(&[2; 69]).is_err());
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Tip::decode(&bytes);
            let _ = TxLocation::decode(b"k", &bytes);
            if let Ok(r) = HeaderRecord::decode(b"k", &bytes) {
                prop_assert_eq!(r.encode(), bytes.clone());
            }
            if let Ok(r) = UtxoRecord::decode(b"k", &bytes) {
                prop_assert_eq!(UtxoRecord::encode(&r.out_point, &r.output), bytes.clone());
            }
            let _ = decode_address_utxo_key(&bytes);
            let _ = decode_transaction(b"k", &bytes);
            let _ = decode_receipt(b"k", &bytes);
            if let Ok(node) = decode_jmt_node(b"k", &bytes) {
                prop_assert_eq!(borsh::to_vec(&node).unwrap(), bytes.clone());
            }
        }

        #[test]
        fn header_record_mutations_never_panic(at in any::<usize>(), x in 1u8.., cut in any::<usize>()) {
            let mut bytes = HeaderRecord { tx_count: 3, header: header() }.encode();
            let i = at % bytes.len();
            bytes[i] ^= x;
            bytes.truncate(cut % (bytes.len() + 1));
            let _ = HeaderRecord::decode(b"k", &bytes);
        }
    }
}
