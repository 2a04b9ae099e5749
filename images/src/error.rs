//! Errors of the image tool.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can stop an image build or boot.
#[derive(Debug, Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An image definition or TEE profile is invalid.
    #[error("definition {path}: {reason}")]
    Definition {
        /// The definition file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A required input is missing.
    #[error("missing input {what}: {hint}")]
    MissingInput {
        /// What is missing.
        what: String,
        /// How to provide it.
        hint: String,
    },
    /// An external command failed.
    #[error("command `{command}` failed: {reason}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status and stderr tail.
        reason: String,
    },
    /// Writing or reading the GPT disk image failed.
    #[error("disk image: {reason}")]
    Disk {
        /// What failed.
        reason: String,
    },
    /// A PE/COFF image (stub, kernel, UKI) is malformed or unexpected.
    #[error("PE image {what}: {reason}")]
    Pe {
        /// Which image.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The cpio archive cannot represent an entry.
    #[error("cpio: {0}")]
    Cpio(String),
    /// A launch measurement failed.
    #[error("measurement {what}: {reason}")]
    Measure {
        /// Which measurement.
        what: String,
        /// The library's error.
        reason: String,
    },
    /// A manifest is malformed.
    #[error("manifest {path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Attaches the path to an I/O error.
pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
