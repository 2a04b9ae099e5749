//! Transaction gossip: announce by digest, pull what is new.
//!
//! ```text
//!   A: announce_txs([tx])   store tx, mark seen ── TxAnnounce [d] ──► B
//!   B: d seen? drop (no pull, no signature work)
//!      else mark d requested ◄──────────────── TxRequest [d] ──────── B
//!   A: answer from its store ──────────────── Txs [tx] ─────────────► B
//!   B: H(tx) requested? deliver once to the pool (which checks it and,
//!      if valid, announces it in turn); unsolicited or unknown: dropped
//!      and counted against A
//! ```
//! The digest is `H("aether/network-tx/v1", tx bytes)`: the network never
//! parses a transaction, so the digest is of the bytes (two encodings of
//! one body with different witnesses are two network items; the pool
//! dedups by transaction id after that).
//!
//! Everything is bounded: the seen map (requested and held digests, the
//! oldest forgotten first), the store of transactions this node offers
//! (count and bytes), the digests per message. A digest requested from a
//! peer that never answered may be requested from the next peer that
//! announces it once `pull_timeout` has passed.

use crate::cache::BoundedMap;
use aether_types::{Digest, ValidatorIndex, tagged_hash};
use bytes::Bytes;
use std::time::{Duration, Instant};

/// Hash tag of a transaction's gossip digest.
pub const TX_TAG: &str = "aether/network-tx/v1";

/// The gossip digest of a transaction's bytes.
pub fn tx_digest(tx: &[u8]) -> Digest {
    tagged_hash(TX_TAG, &[tx])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Requested { at: Instant },
    Have,
}

/// Limits of the gossip state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GossipLimits {
    /// Digests remembered (requested or held).
    pub seen: usize,
    /// Transactions offered to peers (count).
    pub store: usize,
    /// Transactions offered to peers (bytes).
    pub store_bytes: usize,
    /// After this, a requested digest may be requested again elsewhere.
    pub pull_timeout: Duration,
}

/// A transaction pulled from a peer, delivered once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedTx {
    /// The peer it came from.
    pub from: ValidatorIndex,
    /// Its gossip digest.
    pub digest: Digest,
    /// Its bytes (unchecked: the pool verifies it).
    pub bytes: Vec<u8>,
}

/// The gossip state of one node (pure).
#[derive(Debug)]
pub struct TxGossip {
    limits: GossipLimits,
    seen: BoundedMap<Digest, Seen>,
    store: BoundedMap<Digest, Bytes>,
    store_bytes: usize,
}

impl TxGossip {
    /// Empty state.
    pub fn new(limits: GossipLimits) -> Self {
        TxGossip {
            limits,
            seen: BoundedMap::new(limits.seen),
            store: BoundedMap::new(limits.store),
            store_bytes: 0,
        }
    }

    /// Offers a transaction to peers: stores it, marks it held; returns its
    /// digest and whether it is new (only new ones are announced).
    pub fn add_local(&mut self, tx: Vec<u8>) -> (Digest, bool) {
        let digest = tx_digest(&tx);
        let new = self.seen.get(&digest) != Some(&Seen::Have) || !self.store.contains(&digest);
        self.seen.insert(digest, Seen::Have);
        if !self.store.contains(&digest) {
            self.store_bytes += tx.len();
            for (_, old) in self.store.insert(digest, Bytes::from(tx)) {
                self.store_bytes -= old.len();
            }
            while self.store_bytes > self.limits.store_bytes {
                let Some(oldest) = self.oldest_stored() else {
                    break;
                };
                if let Some(old) = self.store.remove(&oldest) {
                    self.store_bytes -= old.len();
                }
            }
        }
        (digest, new)
    }

    fn oldest_stored(&self) -> Option<Digest> {
        self.store.oldest().copied()
    }

    /// A peer announced `digests`: returns those to pull from it.
    pub fn on_announce(&mut self, digests: &[Digest], now: Instant) -> Vec<Digest> {
        let mut wanted = Vec::new();
        for d in digests {
            let pull = match self.seen.get(d) {
                None => true,
                Some(Seen::Have) => false,
                Some(Seen::Requested { at }) => {
                    now.saturating_duration_since(*at) >= self.limits.pull_timeout
                }
            };
            if pull && !wanted.contains(d) {
                self.seen.insert(*d, Seen::Requested { at: now });
                wanted.push(*d);
            }
        }
        wanted
    }

    /// A peer asked for `digests`: the ones this node offers.
    pub fn on_request(&self, digests: &[Digest], max_bytes: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut bytes = 0;
        for d in digests {
            if let Some(tx) = self.store.get(d) {
                if bytes + tx.len() > max_bytes && !out.is_empty() {
                    break;
                }
                bytes += tx.len();
                out.push(tx.to_vec());
            }
        }
        out
    }

    /// Transactions arrived from `from`: the new, requested ones (each
    /// delivered once) and the number of unsolicited ones.
    pub fn on_txs(&mut self, from: ValidatorIndex, txs: Vec<Vec<u8>>) -> (Vec<ReceivedTx>, usize) {
        let mut new = Vec::new();
        let mut unsolicited = 0;
        for tx in txs {
            let digest = tx_digest(&tx);
            match self.seen.get(&digest) {
                Some(Seen::Requested { .. }) => {
                    self.seen.insert(digest, Seen::Have);
                    new.push(ReceivedTx {
                        from,
                        digest,
                        bytes: tx,
                    });
                }
                Some(Seen::Have) => {}
                None => unsolicited += 1,
            }
        }
        (new, unsolicited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gossip() -> TxGossip {
        TxGossip::new(GossipLimits {
            seen: 100,
            store: 3,
            store_bytes: 8,
            pull_timeout: Duration::from_millis(500),
        })
    }

    #[test]
    fn pulls_each_digest_once() {
        let mut g = gossip();
        let now = Instant::now();
        let (a, b) = (tx_digest(b"a"), tx_digest(b"b"));
        assert_eq!(g.on_announce(&[a, b, a], now), vec![a, b]);
        assert!(g.on_announce(&[a], now).is_empty(), "already requested");
        let (new, unsolicited) = g.on_txs(
            ValidatorIndex(1),
            vec![b"a".to_vec(), b"a".to_vec(), b"zz".to_vec()],
        );
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].digest, a);
        assert_eq!(unsolicited, 1);
        assert!(g.on_announce(&[a], now + Duration::from_secs(9)).is_empty());
        // b was never answered: pulled again after the timeout.
        assert_eq!(g.on_announce(&[b], now + Duration::from_secs(1)), vec![b]);
    }

    #[test]
    fn the_store_is_bounded() {
        let mut g = gossip();
        for t in [&b"1234"[..], b"5678", b"9"] {
            g.add_local(t.to_vec());
        }
        assert!(g.store_bytes <= 8);
        assert!(
            g.on_request(&[tx_digest(b"1234")], 100).is_empty(),
            "evicted by bytes"
        );
        assert_eq!(g.on_request(&[tx_digest(b"9")], 100), vec![b"9".to_vec()]);
        let (_, new) = g.add_local(b"9".to_vec());
        assert!(!new);
        for t in [&b"a"[..], b"b", b"c"] {
            g.add_local(t.to_vec());
        }
        assert!(
            g.on_request(&[tx_digest(b"9")], 100).is_empty(),
            "evicted by count"
        );
        assert_eq!(
            g.on_request(&[tx_digest(b"a"), tx_digest(b"b")], 1).len(),
            1,
            "bounded response"
        );
    }
}
