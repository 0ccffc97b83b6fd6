//! The socket server, Kafka's `SocketServer`: an acceptor, and per connection a reader that
//! parses frames and dispatches them in order, and a writer that sends responses in the same
//! order. Only [`writer`] knows about `sendfile(2)`.
//!
//! Many requests may be in flight on one connection: the reader does each request's ordered work
//! at once (appends happen in arrival order, as Kafka processes a connection's requests in order)
//! and queues a [`PendingResponse`]; a long-polling Fetch is a future the writer awaits in turn,
//! so responses always leave in request order.

pub mod connection;
pub mod metrics;
pub mod writer;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use odradek_log::FileSlice;
use odradek_protocol::fetch::{Part, RegionLen};

pub use metrics::NetworkMetrics;

/// A partition's records in a Fetch response (the orphan rule needs a local type).
#[derive(Clone, Debug)]
pub enum FetchRecords {
    /// A segment file region, sent with `sendfile(2)`.
    Segment(FileSlice),
    /// Records rewritten in memory (down-converted for Fetch v0–3), copied to the socket.
    Converted(Bytes),
}

impl RegionLen for FetchRecords {
    fn region_len(&self) -> usize {
        match self {
            FetchRecords::Segment(slice) => slice.len as usize,
            FetchRecords::Converted(bytes) => bytes.len(),
        }
    }
}

/// What goes back on the wire for one request.
pub enum Response {
    /// A complete frame, size prefix included.
    Frame(Bytes),
    /// A Fetch response: bytes and file regions, the first part starting with the size prefix.
    ZeroCopy(Vec<Part<FetchRecords>>),
    /// acks=0 Produce: nothing is sent.
    NoResponse,
    /// Close the connection once every earlier response has been written.
    Close,
}

/// A response that is ready now, or will be (a parked Fetch).
pub enum PendingResponse {
    Ready(Response),
    Later(Pin<Box<dyn Future<Output = Response> + Send>>),
}
