//! Parsing of the text forms of the wire (hex, addresses, out-points,
//! block tags, amounts) and the text forms the server writes. The server
//! parses request parameters with it; a client parses result fields.
//!
//! | value | text form |
//! |---|---|
//! | hash, id, key (32 bytes) | 64 hex digits, lowercase on output; `0x` prefix and upper case accepted on input |
//! | byte string | hex, even length, optional `0x` on input |
//! | address | `key:<64 hex>` (ed25519 key hash) or `script:<64 hex>` (script hash) |
//! | out-point | `{"txId": "<64 hex>", "index": n}` or the string `<64 hex>#<n>` |
//! | block | a JSON number, a decimal string, `"latest"`, `"finalized"` or `"earliest"` |
//! | amount (u128) | decimal digits, no sign, no leading `+`, at most 39 digits |
//!
//! Every parser checks lengths before decoding and never panics (property
//! tests and the `parse_params` fuzz target).

use aether_types::{Address, KeyHash, OutPoint, ScriptHash, TxId};
use serde::{Deserialize, Serialize};

/// A value in a text form that could not be parsed: a request parameter
/// (the server reports it as JSON-RPC error `-32602`, invalid params) or a
/// field of a result (a client reports a decoding error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct ParamError {
    /// Which parameter.
    pub what: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ParamError {
    /// An error about `what`.
    pub fn new(what: &'static str, reason: impl Into<String>) -> Self {
        ParamError {
            what,
            reason: reason.into(),
        }
    }
}

fn strip_0x(text: &str) -> &str {
    text.strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text)
}

/// Parses 32 bytes of hex (64 digits, optional `0x`).
pub fn parse_hash32(what: &'static str, text: &str) -> Result<[u8; 32], ParamError> {
    let digits = strip_0x(text);
    if digits.len() != 64 {
        return Err(ParamError::new(
            what,
            format!("expected 64 hex digits, got {} characters", digits.len()),
        ));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|e| ParamError::new(what, format!("not hex: {e}")))?;
    Ok(out)
}

/// Parses a transaction id.
pub fn parse_tx_id(text: &str) -> Result<TxId, ParamError> {
    parse_hash32("transaction id", text).map(TxId)
}

/// Parses hex bytes of at most `max_len` bytes (checked before decoding).
pub fn parse_hex_bytes(
    what: &'static str,
    text: &str,
    max_len: usize,
) -> Result<Vec<u8>, ParamError> {
    let digits = strip_0x(text);
    if digits.len() / 2 > max_len {
        return Err(ParamError::new(
            what,
            format!(
                "{} bytes exceed the limit of {max_len} bytes",
                digits.len() / 2
            ),
        ));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(ParamError::new(what, "odd number of hex digits"));
    }
    hex::decode(digits).map_err(|e| ParamError::new(what, format!("not hex: {e}")))
}

/// Parses a decimal amount (`u128`): digits only, at most 39 of them,
/// checked before conversion.
pub fn parse_amount(what: &'static str, text: &str) -> Result<u128, ParamError> {
    if text.is_empty() || text.len() > 39 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::new(what, "expected a decimal amount"));
    }
    text.parse::<u128>()
        .map_err(|_| ParamError::new(what, "amount does not fit u128"))
}

/// Parses a signed decimal quantity (`i128`, a mint amount): an optional
/// `-` then digits, at most 39 of them.
pub fn parse_signed_amount(what: &'static str, text: &str) -> Result<i128, ParamError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > 39 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::new(what, "expected a signed decimal quantity"));
    }
    text.parse::<i128>()
        .map_err(|_| ParamError::new(what, "quantity does not fit i128"))
}

/// Parses `key:<hex>` or `script:<hex>`.
pub fn parse_address(text: &str) -> Result<Address, ParamError> {
    if let Some(hash) = text.strip_prefix("key:") {
        return Ok(Address::Key(KeyHash(parse_hash32("address", hash)?)));
    }
    if let Some(hash) = text.strip_prefix("script:") {
        return Ok(Address::Script(ScriptHash(parse_hash32("address", hash)?)));
    }
    Err(ParamError::new(
        "address",
        "expected \"key:<64 hex>\" or \"script:<64 hex>\"",
    ))
}

/// The text form of an address (see the module docs).
pub fn format_address(address: &Address) -> String {
    match address {
        Address::Key(hash) => format!("key:{hash}"),
        Address::Script(hash) => format!("script:{hash}"),
    }
}

/// Parses the string form of an out-point, `<64 hex>#<index>`.
pub fn parse_out_point_text(text: &str) -> Result<OutPoint, ParamError> {
    let (id, index) = text
        .split_once('#')
        .ok_or_else(|| ParamError::new("out-point", "expected \"<tx id>#<index>\""))?;
    let tx_id = TxId(parse_hash32("out-point", id)?);
    if index.is_empty() || index.len() > 10 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::new("out-point", "index must be a decimal u32"));
    }
    let index: u32 = index
        .parse()
        .map_err(|_| ParamError::new("out-point", "index must be a decimal u32"))?;
    Ok(OutPoint::new(tx_id, index))
}

/// An out-point parameter: an object or a string (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum OutPointParam {
    /// `{"txId": "<64 hex>", "index": n}`.
    Object {
        /// Creating transaction, 64 hex digits.
        #[serde(rename = "txId")]
        tx_id: String,
        /// Output index.
        index: u32,
    },
    /// `"<64 hex>#<index>"`.
    Text(String),
}

impl OutPointParam {
    /// The out-point.
    pub fn parse(&self) -> Result<OutPoint, ParamError> {
        match self {
            OutPointParam::Object { tx_id, index } => Ok(OutPoint::new(
                TxId(parse_hash32("out-point", tx_id)?),
                *index,
            )),
            OutPointParam::Text(text) => parse_out_point_text(text),
        }
    }
}

/// Which block: by height or by tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockTag {
    /// The block at this height.
    Number(u64),
    /// The latest committed block.
    Latest,
    /// The latest finalized block.
    Finalized,
    /// The genesis block (height 0).
    Earliest,
}

impl BlockTag {
    /// Parses the string form: a decimal height or a tag name.
    pub fn parse_text(text: &str) -> Result<BlockTag, ParamError> {
        match text {
            "latest" => Ok(BlockTag::Latest),
            "finalized" => Ok(BlockTag::Finalized),
            "earliest" => Ok(BlockTag::Earliest),
            digits
                if !digits.is_empty()
                    && digits.len() <= 20
                    && digits.bytes().all(|b| b.is_ascii_digit()) =>
            {
                digits
                    .parse::<u64>()
                    .map(BlockTag::Number)
                    .map_err(|_| ParamError::new("block", "height does not fit u64"))
            }
            _ => Err(ParamError::new(
                "block",
                "expected a height or \"latest\", \"finalized\", \"earliest\"",
            )),
        }
    }
}

/// The JSON form of a block parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum BlockParam {
    /// A height.
    Number(u64),
    /// `"latest"`, `"finalized"`, `"earliest"` or a decimal height.
    Tag(String),
}

impl From<BlockTag> for BlockParam {
    fn from(tag: BlockTag) -> Self {
        match tag {
            BlockTag::Number(n) => BlockParam::Number(n),
            BlockTag::Latest => BlockParam::Tag("latest".into()),
            BlockTag::Finalized => BlockParam::Tag("finalized".into()),
            BlockTag::Earliest => BlockParam::Tag("earliest".into()),
        }
    }
}

impl From<u64> for BlockParam {
    fn from(height: u64) -> Self {
        BlockParam::Number(height)
    }
}

impl From<&OutPoint> for OutPointParam {
    fn from(op: &OutPoint) -> Self {
        OutPointParam::Object {
            tx_id: op.tx_id.to_string(),
            index: op.index,
        }
    }
}

impl BlockParam {
    /// The block tag.
    pub fn parse(&self) -> Result<BlockTag, ParamError> {
        match self {
            BlockParam::Number(n) => Ok(BlockTag::Number(*n)),
            BlockParam::Tag(text) => BlockTag::parse_text(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hashes_and_addresses() {
        let h = "ab".repeat(32);
        assert_eq!(parse_hash32("x", &h).unwrap(), [0xab; 32]);
        assert_eq!(parse_hash32("x", &format!("0x{h}")).unwrap(), [0xab; 32]);
        assert_eq!(parse_hash32("x", &h.to_uppercase()).unwrap(), [0xab; 32]);
        assert!(parse_hash32("x", &h[..62]).is_err());
        assert!(parse_hash32("x", &format!("{}zz", &h[..62])).is_err());
        let a = Address::Key(KeyHash([7; 32]));
        assert_eq!(parse_address(&format_address(&a)).unwrap(), a);
        let s = Address::Script(ScriptHash([8; 32]));
        assert_eq!(parse_address(&format_address(&s)).unwrap(), s);
        assert!(parse_address(&h).is_err());
        assert!(parse_address("key:").is_err());
    }

    #[test]
    fn out_points_and_blocks() {
        let op = OutPoint::new(TxId([1; 32]), 7);
        assert_eq!(parse_out_point_text(&op.to_string()).unwrap(), op);
        assert!(parse_out_point_text(&format!("{}#", TxId([1; 32]))).is_err());
        assert!(parse_out_point_text(&format!("{}#4294967296", TxId([1; 32]))).is_err());
        assert!(parse_out_point_text(&format!("{}#+1", TxId([1; 32]))).is_err());
        assert_eq!(BlockTag::parse_text("latest").unwrap(), BlockTag::Latest);
        assert_eq!(BlockTag::parse_text("12").unwrap(), BlockTag::Number(12));
        assert!(BlockTag::parse_text("99999999999999999999").is_err());
        assert!(BlockTag::parse_text("-1").is_err());
        assert!(BlockTag::parse_text("").is_err());
        let p: BlockParam = serde_json::from_str("5").unwrap();
        assert_eq!(p.parse().unwrap(), BlockTag::Number(5));
        let p: BlockParam = serde_json::from_str("\"finalized\"").unwrap();
        assert_eq!(p.parse().unwrap(), BlockTag::Finalized);
        assert!(serde_json::from_str::<BlockParam>("-5").is_err());
        assert!(serde_json::from_str::<BlockParam>("1.5").is_err());
        for tag in [
            BlockTag::Number(7),
            BlockTag::Latest,
            BlockTag::Finalized,
            BlockTag::Earliest,
        ] {
            assert_eq!(BlockParam::from(tag).parse().unwrap(), tag);
        }
        let op = OutPoint::new(TxId([3; 32]), 9);
        assert_eq!(OutPointParam::from(&op).parse().unwrap(), op);
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("a", "0").unwrap(), 0);
        assert_eq!(
            parse_amount("a", &u128::MAX.to_string()).unwrap(),
            u128::MAX
        );
        for bad in [
            "",
            "-1",
            "+1",
            "1.5",
            " 1",
            "340282366920938463463374607431768211456",
        ] {
            assert!(parse_amount("a", bad).is_err(), "{bad:?}");
        }
        assert!(parse_amount("a", &"1".repeat(40)).is_err());
        assert_eq!(parse_signed_amount("q", "-5").unwrap(), -5);
        assert_eq!(parse_signed_amount("q", "5").unwrap(), 5);
        assert_eq!(
            parse_signed_amount("q", &i128::MIN.to_string()).unwrap(),
            i128::MIN
        );
        for bad in ["", "-", "--1", "+1", "1-", &u128::MAX.to_string()] {
            assert!(parse_signed_amount("q", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hex_bytes_bound_checked_first() {
        assert_eq!(parse_hex_bytes("tx", "0x0102", 2).unwrap(), vec![1, 2]);
        assert!(parse_hex_bytes("tx", "010203", 2).is_err());
        assert!(parse_hex_bytes("tx", "012", 2).is_err());
        assert!(parse_hex_bytes("tx", "zz", 2).is_err());
        assert_eq!(parse_hex_bytes("tx", "", 2).unwrap(), Vec::<u8>::new());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in ".{0,100}", bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            for t in [text.as_str(), lossy.as_str()] {
                let _ = parse_hash32("x", t);
                let _ = parse_address(t);
                let _ = parse_out_point_text(t);
                let _ = BlockTag::parse_text(t);
                let _ = parse_hex_bytes("x", t, 16);
                let _ = parse_amount("x", t);
                let _ = parse_signed_amount("x", t);
            }
        }

        #[test]
        fn roundtrips(bytes in any::<[u8; 32]>(), index in any::<u32>(), key in any::<bool>()) {
            let op = OutPoint::new(TxId(bytes), index);
            prop_assert_eq!(parse_out_point_text(&op.to_string()).unwrap(), op);
            let a = if key { Address::Key(KeyHash(bytes)) } else { Address::Script(ScriptHash(bytes)) };
            prop_assert_eq!(parse_address(&format_address(&a)).unwrap(), a);
            prop_assert_eq!(parse_hex_bytes("x", &hex::encode(bytes), 32).unwrap(), bytes.to_vec());
            let amount = u128::from_le_bytes(bytes[..16].try_into().unwrap());
            prop_assert_eq!(parse_amount("x", &amount.to_string()).unwrap(), amount);
            let signed = i128::from_le_bytes(bytes[16..].try_into().unwrap());
            prop_assert_eq!(parse_signed_amount("x", &signed.to_string()).unwrap(), signed);
        }
    }
}
