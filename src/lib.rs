//! wiretally: a passive network sensor that infers which software runs on which hosts of a
//! campus network from the traffic software makes by itself.
//!
//! Layers, from the wire up: [`capture`] reads packets through libpcap; [`pipeline`] decodes
//! them, tracks flows and reassembles stream starts on worker threads; [`app`] turns protocol
//! messages ([`wire`] parses them) into [`event`]s; [`inventory`] keeps hosts and names and writes
//! the event log; [`report`] prints summaries.

#![forbid(unsafe_code)]

pub mod app;
pub mod capture;
pub mod compliance;
pub mod config;
pub mod coverage;
pub mod event;
pub mod inventory;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod policy;
pub mod report;
pub mod sd_notify;
pub mod serve;
pub mod signature;
pub mod wire;
