//! The app's own tooling behind the `a2i-review` command: what a user of a2i-review runs on
//! a workstation, as opposed to the two Lambda functions (the `a2i-review` library crate) and
//! the A2I emulator they are tested against (`a2i-local`, used here only through its public
//! API: builder, handle, wire types and SDK client helpers).
//!
//! # Module map
//! - [`pipeline`]: a2i-local plus the real start and status handlers, wired in one process.
//! - [`demo`]: `a2i-review demo`, the whole pipeline on the sample data with a scripted reviewer.
//! - [`evaluate`]: `a2i-review evaluate`, a dry run of the start handler's decision on files.
//! - [`loops`]: `a2i-review loops`, the app's human loops over the A2I API and the registry.
//! - [`redrive`]: `a2i-review redrive`, failed invocations from an on-failure queue, replayed.
//!
//! Each subcommand is a module with a `run` entry point that writes to the streams it is
//! given, so tests drive it in process; `src/main.rs` only parses the command line, maps
//! flags to the module's options and turns the outcome into an exit status.

#![warn(missing_docs)]

pub mod demo;
pub mod evaluate;
pub mod loops;
pub mod pipeline;
pub mod redrive;
