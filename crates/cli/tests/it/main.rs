//! The `punchcard` binary's integration tests, in one test binary: the operator CLI and bench
//! (`cli`), durability across a killed server (`crash`) and what an operator runs and reads
//! (`operations`: the version, logs and the systemd unit), running the binary through
//! `process`. They share the server tests' harness for fresh databases.

#[path = "../../../server/tests/it/common/mod.rs"]
mod common;

mod cli;
mod crash;
mod operations;
mod process;
