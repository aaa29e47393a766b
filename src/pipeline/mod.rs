//! From captured frames to ordered observations: decoding, flows, stream starts, workers.

pub mod batch;
pub mod decode;
pub mod engine;
pub mod flow;
pub mod fragment;
pub mod stats;
pub mod stream;
pub mod worker;
