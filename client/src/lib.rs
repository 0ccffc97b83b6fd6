//! A small async Kafka wire client: one TCP connection, typed requests and responses through the
//! `kafka-protocol` codec, optional pipelining. The tests use it to play the controller and to
//! send malformed input; the perf tool uses it to produce and fetch at full speed.
//! [`controller_stub`] plays Kafka's controller for a single broker until Odradek has one.
//! [`group`] is a consumer group member (the consumer protocol, the assignors, join/sync,
//! heartbeats and offsets); [`partitioner`] is Kafka's default partitioner.

pub mod api_versions;
pub mod batch;
pub mod controller_stub;
pub mod error_name;
pub mod group;
pub mod partitioner;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },
    #[error("cannot decode {what}: {reason}")]
    Decode { what: &'static str, reason: String },
    #[error("response correlation id {got} does not match request {expected}")]
    CorrelationMismatch { expected: i32, got: i32 },
    #[error("response frame of {0} bytes is larger than the client accepts")]
    FrameTooLarge(usize),
    #[error("{what}: error code {code}")]
    Refused { what: String, code: i16 },
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// Largest response frame accepted (Kafka's `fetch.max.bytes` default is 50 MiB).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// One connection to a broker.
pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_correlation_id: i32,
    client_id: StrBytes,
}

impl Connection {
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        Ok(Connection {
            reader: BufReader::with_capacity(256 * 1024, r),
            writer: w,
            next_correlation_id: 1,
            client_id: StrBytes::from_static_str("odradek-client"),
        })
    }

    /// Sets the `client_id` of the request headers that follow (Kafka's `client.id`), which the
    /// broker shows, e.g. as a group member's CLIENT-ID.
    pub fn set_client_id(&mut self, client_id: &str) {
        self.client_id = StrBytes::from_string(client_id.to_string());
    }

    /// Sends `req` at `version` and waits for its response.
    pub async fn send<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response> {
        let correlation_id = self.write_request(req, version).await?;
        self.read_response::<R>(version, correlation_id).await
    }

    /// Writes a request without waiting (pipelining); returns its correlation id.
    pub async fn write_request<R: Request>(&mut self, req: &R, version: i16) -> Result<i32> {
        let frame = self.encode_request(req, version)?;
        self.writer.write_all(&frame).await?;
        Ok(self.next_correlation_id - 1)
    }

    /// Encodes a request frame (size prefix included) and consumes a correlation id.
    pub fn encode_request<R: Request>(&mut self, req: &R, version: i16) -> Result<Bytes> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(self.client_id.clone());
        let mut buf = BytesMut::with_capacity(64);
        buf.put_i32(0);
        header
            .encode(&mut buf, R::header_version(version))
            .map_err(|e| ClientError::Encode {
                what: "request header",
                reason: e.to_string(),
            })?;
        req.encode(&mut buf, version)
            .map_err(|e| ClientError::Encode {
                what: std::any::type_name::<R>(),
                reason: format!("{e:#}"),
            })?;
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        Ok(buf.freeze())
    }

    /// Reads the next response frame and decodes it as `R`'s response.
    pub async fn read_response<R: Request>(
        &mut self,
        version: i16,
        correlation_id: i32,
    ) -> Result<R::Response> {
        let mut frame = self.read_frame().await?;
        let api_key = ApiKey::try_from(R::KEY).map_err(|_| ClientError::Decode {
            what: "api key",
            reason: R::KEY.to_string(),
        })?;
        let header = ResponseHeader::decode(&mut frame, api_key.response_header_version(version))
            .map_err(|e| ClientError::Decode {
            what: "response header",
            reason: e.to_string(),
        })?;
        if header.correlation_id != correlation_id {
            return Err(ClientError::CorrelationMismatch {
                expected: correlation_id,
                got: header.correlation_id,
            });
        }
        R::Response::decode(&mut frame, version).map_err(|e| ClientError::Decode {
            what: std::any::type_name::<R::Response>(),
            reason: format!("{e:#}"),
        })
    }

    /// Writes raw bytes (for malformed-input tests).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer.write_all(bytes).await?;
        Ok(())
    }

    /// Reads one size-prefixed frame and returns the bytes after the size.
    pub async fn read_frame(&mut self) -> Result<Bytes> {
        let size = self.reader.read_i32().await?;
        if size < 0 || size as usize > MAX_RESPONSE_BYTES {
            return Err(ClientError::FrameTooLarge(size as usize));
        }
        let mut buf = vec![0u8; size as usize];
        self.reader.read_exact(&mut buf).await?;
        Ok(Bytes::from(buf))
    }

    /// Next correlation id to be used.
    pub fn next_correlation_id(&self) -> i32 {
        self.next_correlation_id
    }
}

/// Reads the correlation id at the start of a response frame.
pub fn correlation_id_of(frame: &Bytes) -> Option<i32> {
    (frame.len() >= 4).then(|| (&frame[..4]).get_i32())
}
