//! Deterministic newc cpio archives for the initrd.
//!
//! Entries are sorted by path (parents before children), every timestamp is
//! 0, owner and group are 0, inode numbers are assigned 1, 2, … in that order
//! and device numbers of the archive itself are 0: the bytes depend only on
//! the paths, modes and contents. The `cpio` crate writes the newc records.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// What an archive entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory with permission bits.
    Dir(u32),
    /// A regular file with permission bits and contents.
    File(u32, Vec<u8>),
    /// A character device with permission bits, major and minor.
    CharDev(u32, u32, u32),
}

/// A set of entries keyed by path (no leading `/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    entries: BTreeMap<String, Node>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Tree::default()
    }

    /// Adds `node` at `path` (leading `/` optional), creating parent
    /// directories with mode 0755. A later insert at the same path replaces.
    pub fn insert(&mut self, path: &str, node: Node) -> Result<()> {
        let path = path.trim_start_matches('/');
        if path.is_empty()
            || path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(Error::Cpio(format!("invalid path {path:?}")));
        }
        let mut parent = String::new();
        for comp in path
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map(|(_, p)| p)
            .unwrap_or(&[])
        {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(comp);
            self.entries
                .entry(parent.clone())
                .or_insert(Node::Dir(0o755));
        }
        self.entries.insert(path.to_string(), node);
        Ok(())
    }

    /// The paths, in archive order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The node at `path`.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.entries.get(path.trim_start_matches('/'))
    }

    /// Writes the newc archive.
    pub fn to_newc(&self) -> Result<Vec<u8>> {
        use cpio::newc::{Builder, trailer};
        let mut out = Vec::new();
        for (ino, (path, node)) in (1u32..).zip(&self.entries) {
            let (mode, nlink, data, rdev): (u32, u32, &[u8], (u32, u32)) = match node {
                Node::Dir(perm) => (0o040000 | (perm & 0o7777), 2, &[], (0, 0)),
                Node::File(perm, data) => (0o100000 | (perm & 0o7777), 1, data, (0, 0)),
                Node::CharDev(perm, maj, min) => (0o020000 | (perm & 0o7777), 1, &[], (*maj, *min)),
            };
            let size = u32::try_from(data.len())
                .map_err(|_| Error::Cpio(format!("{path} is larger than 4 GiB")))?;
            let mut w = Builder::new(path)
                .ino(ino)
                .mode(mode)
                .uid(0)
                .gid(0)
                .nlink(nlink)
                .mtime(0)
                .dev_major(0)
                .dev_minor(0)
                .rdev_major(rdev.0)
                .rdev_minor(rdev.1)
                .write(&mut out, size);
            std::io::Write::write_all(&mut w, data).map_err(|e| Error::Cpio(e.to_string()))?;
            w.finish().map_err(|e| Error::Cpio(e.to_string()))?;
        }
        trailer(&mut out).map_err(|e| Error::Cpio(e.to_string()))?;
        Ok(out)
    }
}

/// Compresses with zstd at a fixed level, single-threaded, with the content
/// size and a checksum in the frame: the same input gives the same bytes.
pub fn zstd_compress(data: &[u8], level: i32) -> Result<Vec<u8>> {
    let mut c = zstd::bulk::Compressor::new(level).map_err(|e| Error::Cpio(e.to_string()))?;
    c.include_checksum(true)
        .map_err(|e| Error::Cpio(e.to_string()))?;
    c.include_contentsize(true)
        .map_err(|e| Error::Cpio(e.to_string()))?;
    c.compress(data).map_err(|e| Error::Cpio(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tree {
        let mut t = Tree::new();
        t.insert("/usr/bin/aether", Node::File(0o755, b"bin".to_vec()))
            .unwrap();
        t.insert("/init", Node::File(0o755, b"init".to_vec()))
            .unwrap();
        t.insert("/dev/console", Node::CharDev(0o600, 5, 1))
            .unwrap();
        t
    }

    #[test]
    fn parents_first_sorted_and_deterministic() {
        let t = sample();
        assert_eq!(
            t.paths().collect::<Vec<_>>(),
            vec![
                "dev",
                "dev/console",
                "init",
                "usr",
                "usr/bin",
                "usr/bin/aether"
            ]
        );
        assert_eq!(t.to_newc().unwrap(), sample().to_newc().unwrap());
    }

    #[test]
    fn records_round_trip_through_a_reader() {
        let bytes = sample().to_newc().unwrap();
        let mut rest: &[u8] = &bytes;
        let mut seen = Vec::new();
        loop {
            let r = cpio::newc::Reader::new(rest).unwrap();
            if r.entry().is_trailer() {
                break;
            }
            let e = r.entry();
            assert_eq!((e.uid(), e.gid(), e.mtime()), (0, 0, 0));
            seen.push((
                e.name().to_string(),
                e.mode(),
                e.rdev_major(),
                e.rdev_minor(),
            ));
            rest = r.finish().unwrap();
        }
        assert!(seen.contains(&("dev/console".into(), 0o020600, 5, 1)));
        assert!(seen.contains(&("init".into(), 0o100755, 0, 0)));
    }

    #[test]
    fn rejects_bad_paths() {
        let mut t = Tree::new();
        for p in ["", "/", "a/../b", "a//b", "./a"] {
            assert!(t.insert(p, Node::Dir(0o755)).is_err(), "{p}");
        }
    }

    #[test]
    fn zstd_is_stable() {
        let data = sample().to_newc().unwrap();
        let a = zstd_compress(&data, 19).unwrap();
        assert_eq!(a, zstd_compress(&data, 19).unwrap());
        assert_eq!(zstd::bulk::decompress(&a, data.len()).unwrap(), data);
    }
}
