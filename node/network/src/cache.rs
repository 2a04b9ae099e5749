//! A map with a fixed capacity that forgets its oldest entries (FIFO by
//! insertion), for every "seen" set of the network: shreds, verified batch
//! roots, transaction digests. Bounded so that no peer can grow a node's
//! memory by sending new ids.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A bounded map (see the module docs).
#[derive(Debug)]
pub struct BoundedMap<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    /// An empty map holding at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        BoundedMap {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Inserts or replaces; a new key evicts the oldest entries beyond the
    /// capacity and returns them.
    pub fn insert(&mut self, key: K, value: V) -> Vec<(K, V)> {
        if let Some(v) = self.map.get_mut(&key) {
            *v = value;
            return Vec::new();
        }
        self.map.insert(key.clone(), value);
        self.order.push_back(key);
        let mut evicted = Vec::new();
        while self.map.len() > self.capacity {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.map.remove(&old) {
                evicted.push((old, v));
            }
        }
        evicted
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// The value of `key`, mutable.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Removes `key` (its slot in the eviction order is skipped later).
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let v = self.map.remove(key)?;
        if let Some(pos) = self.order.iter().position(|k| k == key) {
            self.order.remove(pos);
        }
        Some(v)
    }

    /// The oldest key.
    pub fn oldest(&self) -> Option<&K> {
        self.order.iter().find(|k| self.map.contains_key(*k))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_entries_go_first() {
        let mut m = BoundedMap::new(3);
        for i in 0..3 {
            assert!(m.insert(i, i * 10).is_empty());
        }
        assert!(m.insert(1, 11).is_empty(), "replacing does not evict");
        assert_eq!(m.insert(3, 30), vec![(0, 0)]);
        assert!(!m.contains(&0));
        assert_eq!(m.get(&1), Some(&11));
        assert_eq!(m.remove(&2), Some(20));
        assert!(m.insert(4, 40).is_empty());
        assert_eq!(m.len(), 3);
        assert_eq!(m.insert(5, 50), vec![(1, 11)]);
    }
}
