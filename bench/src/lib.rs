//! The pieces of the bench, also used by tests that run real function binaries: a Lambda
//! Runtime API emulator, a counting proxy for DynamoDB, events and measurements.

pub mod emulator;
pub mod events;
pub mod measure;
pub mod proxy;
pub mod report;
pub mod ttft;
