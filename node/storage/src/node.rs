//! The state tree's node records, handled without going through `jmt`:
//! node positions, nodes, their hashes and their encodings, **bit for bit
//! the ones `jmt` 0.12 uses** (the `jmt_nodes` column family holds them
//! and `jmt` reads them back to serve proofs).
//!
//! `jmt` keeps its node constructors private (`InternalNode`, `Children`,
//! `Child` and `NibblePath::new` are not exported), hashes every internal
//! node through a `SimpleHasher` that moves a 1.9 KiB BLAKE3 state per
//! hash, and clones boxed nodes on every step. The batched update
//! ([`crate::update`]) builds nodes itself, so this module re-states
//! `jmt`'s formats; the tests below check each one against `jmt` itself.
//!
//! # Formats (`jmt` 0.12, Borsh)
//! ```text
//! NodeKey  = version u64 LE ‖ nibble count u64 LE ‖ u32 LE byte count ‖ path bytes
//!            (two nibbles a byte, high nibble first; an odd path ends in a 0 nibble)
//! Node     = 0x00                                             Null (an empty tree's root)
//!          | 0x01 ‖ 16 × child ‖ child count u64 LE ‖ leaf count u64 LE   Internal
//!          | 0x02 ‖ key (32) ‖ value hash (32)                 Leaf
//! child    = 0x00 | 0x01 ‖ hash (32) ‖ version u64 LE ‖ (0x00 leaf | 0x01 ‖ leaf count u64 LE)
//! ```
//!
//! # Hashes ([`crate::tree::StateHasher`] domain)
//! With `H(x) = BLAKE3("aether/state-tree/v1" ‖ 0x00 ‖ x)`:
//! - a value: `H(value)`; a leaf: `H("JMT::LeafNode" ‖ key ‖ H(value))`;
//! - an internal node: the root of the 4-level binary tree over its 16
//!   child slots, where a binary node is `H("JMT::IntrnalNode" ‖ left ‖
//!   right)`, an empty range is the placeholder
//!   `"SPARSE_MERKLE_PLACEHOLDER_HASH__"`, and a range holding a single
//!   child that is a leaf is that leaf's hash (it "floats up"); a range
//!   holding a single internal child is hashed down to that child's slot.
//!
//! # Invariants the decoder checks
//! Exact length and tags (so the encoding is canonical: re-encoding gives
//! the bytes back), an internal node's child count and leaf count equal to
//! what its children say, at least one child, and no internal node whose
//! only child is a leaf (`jmt` never writes one).

use crate::tree::STATE_TREE_TAG;
use jmt::Version;
use jmt::proof::{INTERNAL_DOMAIN_SEPARATOR, LEAF_DOMAIN_SEPARATOR};

/// Hash of an empty subtree (and root of the empty tree).
pub(crate) const PLACEHOLDER: [u8; 32] = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";

/// The nibble of `key` at `depth` (0 = the high nibble of the first byte).
pub(crate) fn nibble(key: &[u8; 32], depth: usize) -> u8 {
    let byte = key[depth / 2];
    if depth.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    }
}

/// The position of a node: `jmt`'s `NodeKey` (the version that wrote it
/// and its nibble path from the root).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub(crate) struct NodeId {
    version: Version,
    depth: u8,
    /// The path's nibbles, two a byte; nibbles at `depth` and beyond are 0.
    path: [u8; 32],
}

impl NodeId {
    /// The root of the tree at `version`.
    pub(crate) fn root(version: Version) -> Self {
        NodeId {
            version,
            depth: 0,
            path: [0; 32],
        }
    }

    /// Version that wrote the node.
    pub(crate) fn version(&self) -> Version {
        self.version
    }

    /// Number of nibbles in the path.
    pub(crate) fn depth(&self) -> usize {
        usize::from(self.depth)
    }

    /// The nibble of the path at `depth` (< [`NodeId::depth`]).
    pub(crate) fn nibble(&self, depth: usize) -> u8 {
        nibble(&self.path, depth)
    }

    /// Whether `other` is at the same path (whatever its version).
    pub(crate) fn same_path(&self, other: &NodeId) -> bool {
        self.depth == other.depth && self.path == other.path
    }

    /// The child slot `nibble` of this node, written at `version`.
    /// The path must be shorter than 64 nibbles.
    pub(crate) fn child(&self, version: Version, nibble: u8) -> Self {
        debug_assert!(nibble < 16 && self.depth < 64);
        let mut path = self.path;
        let at = usize::from(self.depth);
        path[at / 2] |= if at % 2 == 0 { nibble << 4 } else { nibble };
        NodeId {
            version,
            depth: self.depth + 1,
            path,
        }
    }

    /// The same path at another version.
    pub(crate) fn at_version(&self, version: Version) -> Self {
        NodeId { version, ..*self }
    }

    /// `jmt`'s Borsh encoding of the `NodeKey` (the `jmt_nodes` key).
    pub(crate) fn encode(&self) -> Vec<u8> {
        self.key().to_vec()
    }

    /// [`NodeId::encode`] without an allocation.
    pub(crate) fn key(&self) -> NodeKeyBytes {
        let bytes = usize::from(self.depth).div_ceil(2);
        let mut buf = [0u8; 52];
        buf[..8].copy_from_slice(&self.version.to_le_bytes());
        buf[8..16].copy_from_slice(&u64::from(self.depth).to_le_bytes());
        buf[16..20].copy_from_slice(&(bytes as u32).to_le_bytes());
        buf[20..20 + bytes].copy_from_slice(&self.path[..bytes]);
        NodeKeyBytes {
            buf,
            len: 20 + bytes as u8,
        }
    }

    /// Decodes [`NodeId::encode`]'s output (strict: exact length, at most
    /// 64 nibbles, a zero padding nibble).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let version = u64::from_le_bytes(bytes.get(0..8)?.try_into().ok()?);
        let depth = u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?);
        let len = u32::from_le_bytes(bytes.get(16..20)?.try_into().ok()?);
        if depth > 64 || u64::from(len) != depth.div_ceil(2) {
            return None;
        }
        let body = bytes.get(20..)?;
        if body.len() != len as usize {
            return None;
        }
        if depth % 2 == 1 && body.last().is_some_and(|b| b & 0x0f != 0) {
            return None;
        }
        let mut path = [0u8; 32];
        path[..body.len()].copy_from_slice(body);
        Some(NodeId {
            version,
            depth: depth as u8,
            path,
        })
    }
}

/// An encoded [`NodeId`] on the stack (at most 8 + 8 + 4 + 32 bytes).
pub(crate) struct NodeKeyBytes {
    buf: [u8; 52],
    len: u8,
}

impl std::ops::Deref for NodeKeyBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

/// A leaf: the key and the hash of its value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Leaf {
    pub(crate) key: [u8; 32],
    pub(crate) value_hash: [u8; 32],
}

impl Leaf {
    /// The leaf's hash.
    pub(crate) fn hash(&self) -> [u8; 32] {
        let mut buf = [0u8; LEAF_PREIMAGE];
        let at = put_prefix(&mut buf, LEAF_DOMAIN_SEPARATOR);
        buf[at..at + 32].copy_from_slice(&self.key);
        buf[at + 32..].copy_from_slice(&self.value_hash);
        *blake3::hash(&buf).as_bytes()
    }
}

/// A child slot of an internal node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ChildRef {
    pub(crate) hash: [u8; 32],
    pub(crate) version: Version,
    /// `None`: a leaf; `Some(n)`: an internal node with `n` leaves below.
    pub(crate) leaves: Option<u64>,
}

impl ChildRef {
    /// Leaves below the child (1 for a leaf).
    pub(crate) fn leaf_count(&self) -> u64 {
        self.leaves.unwrap_or(1)
    }

    /// Whether the child is a leaf.
    pub(crate) fn is_leaf(&self) -> bool {
        self.leaves.is_none()
    }
}

/// The 16 child slots of an internal node.
pub(crate) type Children = [Option<ChildRef>; 16];

/// A tree node.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum TreeNode {
    /// The root of an empty tree.
    Null,
    /// An internal node (boxed: 1 KiB of slots).
    Internal(Box<Children>),
    /// A leaf.
    Leaf(Leaf),
}

impl TreeNode {
    /// The node's hash.
    pub(crate) fn hash(&self) -> [u8; 32] {
        match self {
            TreeNode::Null => PLACEHOLDER,
            TreeNode::Internal(children) => internal_hash(children),
            TreeNode::Leaf(leaf) => leaf.hash(),
        }
    }

    /// `jmt`'s Borsh encoding of the node (the `jmt_nodes` value).
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            TreeNode::Null => vec![0],
            TreeNode::Leaf(leaf) => {
                let mut out = Vec::with_capacity(65);
                out.push(2);
                out.extend_from_slice(&leaf.key);
                out.extend_from_slice(&leaf.value_hash);
                out
            }
            TreeNode::Internal(children) => encode_internal(children),
        }
    }

    /// Decodes a node encoding, checking the invariants of the module docs.
    /// Never panics.
    pub(crate) fn decode(bytes: &[u8]) -> Result<TreeNode, &'static str> {
        let (&tag, body) = bytes.split_first().ok_or("empty node record")?;
        match tag {
            0 if body.is_empty() => Ok(TreeNode::Null),
            2 if body.len() == 64 => Ok(TreeNode::Leaf(Leaf {
                key: body[..32].try_into().map_err(|_| "leaf key")?,
                value_hash: body[32..].try_into().map_err(|_| "leaf value hash")?,
            })),
            1 => decode_internal(body).map(|c| TreeNode::Internal(Box::new(c))),
            0 | 2 => Err("node record has the wrong length"),
            _ => Err("unknown node tag"),
        }
    }
}

fn encode_internal(children: &Children) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 16 * 50 + 16);
    out.push(1);
    let (mut count, mut leaves) = (0u64, 0u64);
    for slot in children {
        match slot {
            None => out.push(0),
            Some(child) => {
                count += 1;
                leaves += child.leaf_count();
                out.push(1);
                out.extend_from_slice(&child.hash);
                out.extend_from_slice(&child.version.to_le_bytes());
                match child.leaves {
                    None => out.push(0),
                    Some(n) => {
                        out.push(1);
                        out.extend_from_slice(&n.to_le_bytes());
                    }
                }
            }
        }
    }
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&leaves.to_le_bytes());
    out
}

/// A cursor over a record being decoded.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("node record is truncated");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().map_err(|_| "u64")?))
    }

    fn hash(&mut self) -> Result<[u8; 32], &'static str> {
        self.take(32)?.try_into().map_err(|_| "hash")
    }
}

fn decode_internal(body: &[u8]) -> Result<Children, &'static str> {
    let mut r = Reader(body);
    let mut children: Children = [None; 16];
    let (mut count, mut leaves) = (0u64, 0u64);
    for slot in children.iter_mut() {
        match r.byte()? {
            0 => {}
            1 => {
                let hash = r.hash()?;
                let version = r.u64()?;
                let kind = match r.byte()? {
                    0 => None,
                    1 => Some(r.u64()?),
                    _ => return Err("unknown child kind"),
                };
                let child = ChildRef {
                    hash,
                    version,
                    leaves: kind,
                };
                count += 1;
                leaves = leaves
                    .checked_add(child.leaf_count())
                    .ok_or("leaf count overflows")?;
                *slot = Some(child);
            }
            _ => return Err("unknown child slot tag"),
        }
    }
    if r.u64()? != count {
        return Err("child count disagrees with the slots");
    }
    if r.u64()? != leaves {
        return Err("leaf count disagrees with the children");
    }
    if !r.0.is_empty() {
        return Err("trailing bytes after the node");
    }
    if count == 0 {
        return Err("internal node without children");
    }
    if count == 1 && children.iter().flatten().all(ChildRef::is_leaf) {
        return Err("internal node whose only child is a leaf");
    }
    Ok(children)
}

/// Length of `STATE_TREE_TAG ‖ 0x00`.
const PREFIX: usize = STATE_TREE_TAG.len() + 1;
const LEAF_PREIMAGE: usize = PREFIX + 13 + 64;
const INTERNAL_PREIMAGE: usize = PREFIX + 16 + 64;

/// Writes `STATE_TREE_TAG ‖ 0x00 ‖ separator` at the start of `buf` and
/// returns the length written.
fn put_prefix(buf: &mut [u8], separator: &[u8]) -> usize {
    buf[..STATE_TREE_TAG.len()].copy_from_slice(STATE_TREE_TAG.as_bytes());
    buf[STATE_TREE_TAG.len()] = 0;
    buf[PREFIX..PREFIX + separator.len()].copy_from_slice(separator);
    PREFIX + separator.len()
}

/// `H("JMT::IntrnalNode" ‖ left ‖ right)`: one BLAKE3 call over a
/// 101-byte stack buffer.
fn hash_pair(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; INTERNAL_PREIMAGE];
    let at = put_prefix(&mut buf, INTERNAL_DOMAIN_SEPARATOR);
    buf[at..at + 32].copy_from_slice(left);
    buf[at + 32..].copy_from_slice(right);
    *blake3::hash(&buf).as_bytes()
}

/// The hash of an internal node with these children (`jmt`'s
/// `InternalNode::hash`, see the module docs).
pub(crate) fn internal_hash(children: &Children) -> [u8; 32] {
    let (mut exists, mut leaves) = (0u16, 0u16);
    for (i, child) in children.iter().enumerate() {
        if let Some(child) = child {
            exists |= 1 << i;
            if child.is_leaf() {
                leaves |= 1 << i;
            }
        }
    }
    merkle(children, 0, 16, exists, leaves)
}

fn merkle(children: &Children, start: u32, width: u32, exists: u16, leaves: u16) -> [u8; 32] {
    let mask = (((1u32 << width) - 1) << start) as u16;
    let (range, range_leaves) = (exists & mask, leaves & mask);
    if range == 0 {
        PLACEHOLDER
    } else if width == 1 || (range.count_ones() == 1 && range_leaves != 0) {
        children[range.trailing_zeros() as usize].map_or(PLACEHOLDER, |c| c.hash)
    } else {
        let half = width / 2;
        hash_pair(
            &merkle(children, start, half, range, range_leaves),
            &merkle(children, start + half, half, range, range_leaves),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::StateHasher;
    use jmt::storage::{LeafNode, Node, NodeKey};
    use jmt::{KeyHash, SimpleHasher, ValueHash};
    use proptest::prelude::*;

    fn child() -> impl Strategy<Value = Option<ChildRef>> {
        prop::option::of(
            (
                any::<[u8; 32]>(),
                0u64..1 << 40,
                prop::option::of(2u64..1000),
            )
                .prop_map(|(hash, version, leaves)| ChildRef {
                    hash,
                    version,
                    leaves,
                }),
        )
    }

    fn children() -> impl Strategy<Value = Children> {
        prop::array::uniform16(child()).prop_filter("jmt's internal node invariant", |c| {
            let n = c.iter().flatten().count();
            n > 1 || (n == 1 && c.iter().flatten().all(|c| !c.is_leaf()))
        })
    }

    /// `jmt`'s view of an encoding (its own decoder).
    fn as_jmt(bytes: &[u8]) -> Node {
        borsh::from_slice::<Node>(bytes).expect("jmt decodes our encoding")
    }

    proptest! {
        #[test]
        fn internal_nodes_match_jmt(children in children()) {
            let node = TreeNode::Internal(Box::new(children));
            let bytes = node.encode();
            let theirs = as_jmt(&bytes);
            // Same bytes back from jmt, same hash as jmt computes.
            prop_assert_eq!(borsh::to_vec(&theirs).unwrap(), bytes.clone());
            let Node::Internal(internal) = &theirs else { panic!("not internal") };
            prop_assert_eq!(internal.hash::<StateHasher>(), node.hash());
            prop_assert_eq!(internal.leaf_count() as u64,
                children.iter().flatten().map(ChildRef::leaf_count).sum::<u64>());
            prop_assert_eq!(TreeNode::decode(&bytes).unwrap(), node);
        }

        #[test]
        fn leaves_match_jmt(key in any::<[u8; 32]>(), value in prop::collection::vec(any::<u8>(), 0..300)) {
            let value_hash = ValueHash::with::<StateHasher>(&value);
            let theirs = LeafNode::new(KeyHash(key), value_hash);
            let ours = Leaf { key, value_hash: value_hash.0 };
            prop_assert_eq!(ours.hash(), theirs.hash::<StateHasher>());
            let bytes = TreeNode::Leaf(ours).encode();
            prop_assert_eq!(borsh::to_vec(&Node::Leaf(theirs)).unwrap(), bytes.clone());
            prop_assert_eq!(TreeNode::decode(&bytes).unwrap(), TreeNode::Leaf(ours));
        }

        #[test]
        fn node_ids_match_jmt(version in any::<u64>(), key in any::<[u8; 32]>(), depth in 0usize..=64) {
            let mut id = NodeId::root(version);
            for d in 0..depth {
                id = id.child(version, nibble(&key, d));
            }
            let bytes = id.encode();
            let theirs = borsh::from_slice::<NodeKey>(&bytes).expect("jmt decodes our key");
            prop_assert_eq!(borsh::to_vec(&theirs).unwrap(), bytes.clone());
            prop_assert_eq!(theirs.version(), version);
            prop_assert_eq!(theirs.nibble_path().num_nibbles(), depth);
            for d in 0..depth {
                prop_assert_eq!(u8::from(theirs.nibble_path().get_nibble(d)), nibble(&key, d));
            }
            prop_assert_eq!(NodeId::decode(&bytes), Some(id));
        }

        #[test]
        fn decoding_never_panics_and_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..900)) {
            if let Ok(node) = TreeNode::decode(&bytes) {
                prop_assert_eq!(node.encode(), bytes.clone());
            }
            if let Some(id) = NodeId::decode(&bytes) {
                prop_assert_eq!(id.encode(), bytes);
            }
        }

        #[test]
        fn mutated_internal_nodes_never_panic(children in children(), at in any::<usize>(), x in 1u8.., cut in any::<usize>()) {
            let mut bytes = TreeNode::Internal(Box::new(children)).encode();
            let i = at % bytes.len();
            bytes[i] ^= x;
            bytes.truncate(cut % (bytes.len() + 1));
            if let Ok(node) = TreeNode::decode(&bytes) {
                prop_assert_eq!(node.encode(), bytes);
            }
        }
    }

    #[test]
    fn null_and_damaged_records() {
        assert_eq!(TreeNode::decode(&[0]).unwrap(), TreeNode::Null);
        assert_eq!(
            borsh::to_vec(&as_jmt(&TreeNode::Null.encode())).unwrap(),
            [0]
        );
        assert_eq!(TreeNode::Null.hash(), PLACEHOLDER);
        for bad in [&[][..], &[0, 0], &[3], &[2; 64], &[1]] {
            assert!(TreeNode::decode(bad).is_err(), "{bad:?}");
        }
        // An internal node whose counts lie, or that jmt would never write.
        let one_leaf = {
            let mut c: Children = [None; 16];
            c[3] = Some(ChildRef {
                hash: [1; 32],
                version: 1,
                leaves: None,
            });
            c
        };
        assert!(TreeNode::decode(&encode_internal(&one_leaf)).is_err());
        let mut two = one_leaf;
        two[4] = Some(ChildRef {
            hash: [2; 32],
            version: 1,
            leaves: None,
        });
        let mut bytes = encode_internal(&two);
        assert!(TreeNode::decode(&bytes).is_ok());
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        assert!(TreeNode::decode(&bytes).is_err(), "leaf count");
        let mut bytes = encode_internal(&two);
        bytes[n - 9] ^= 1;
        assert!(TreeNode::decode(&bytes).is_err(), "child count");
    }

    #[test]
    fn hash_pair_is_the_state_hasher() {
        let (l, r) = ([5u8; 32], [6u8; 32]);
        let mut h = StateHasher::new();
        h.update(INTERNAL_DOMAIN_SEPARATOR);
        h.update(&l);
        h.update(&r);
        assert_eq!(hash_pair(&l, &r), h.finalize());
    }
}
