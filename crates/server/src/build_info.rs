//! What the binary is: its version and the git commit it was built from.

/// The crate's version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit (12 hex digits) the binary was built from, or `unknown` when it was built
/// without git (see `build.rs`).
pub const COMMIT: &str = env!("PUNCHCARD_COMMIT");

/// `0.1.0 (commit 0123456789ab)`, as `punchcard --version` prints it.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PUNCHCARD_COMMIT"),
    ")"
);
