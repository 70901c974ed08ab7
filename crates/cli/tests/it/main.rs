//! The `punchcard` binary's integration tests, in one test binary: the operator CLI and bench
//! (`cli`) and durability across a killed server (`crash`), running the binary through
//! `process`. They share the server tests' harness for fresh databases.

#[path = "../../../server/tests/it/common/mod.rs"]
mod common;

mod cli;
mod crash;
mod process;
