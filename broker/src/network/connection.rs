//! One client connection, accepted on one named listener: read size-prefixed frames, enforce `socket.request.max.bytes`, parse,
//! dispatch to `KafkaApis` in arrival order, and queue responses for the writer.
//!
//! Bad input closes only this connection: a frame over the limit, a header that cannot be parsed,
//! an unsupported API key or version (logged with its name), or a body that does not decode. A
//! too-new ApiVersions request is the one exception: it gets the v0-format UNSUPPORTED_VERSION
//! answer and the connection stays open, as clients expect.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use odradek_protocol::request::ParsedRequest;
use odradek_protocol::{parse_request, unsupported_api_versions_response};
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::writer::write_loop;
use super::{PendingResponse, Response};
use crate::api::KafkaApis;

/// Responses queued per connection before the reader stops reading (backpressure).
const MAX_IN_FLIGHT: usize = 64;

#[derive(Debug, thiserror::Error)]
enum FrameError {
    #[error("request of {size} bytes exceeds socket.request.max.bytes {max}")]
    TooLarge { size: i64, max: usize },
    #[error("negative request size {0}")]
    Negative(i32),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Serves one connection accepted on the listener named `listener`.
pub async fn run(stream: TcpStream, peer: SocketAddr, listener: Arc<str>, apis: Arc<KafkaApis>, mut shutdown: watch::Receiver<bool>) {
    let metrics = apis.metrics().clone();
    let max_request = apis.config().socket_request_max_bytes;
    if let Err(e) = stream.set_nodelay(true) {
        debug!(%peer, error = %e, "cannot set TCP_NODELAY");
    }
    let (read_half, write_half) = stream.into_split();
    let (queue, responses) = mpsc::channel::<PendingResponse>(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_loop(write_half, responses, metrics.clone()));
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);

    loop {
        let frame = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            frame = read_frame(&mut reader, max_request) => frame,
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => break, // clean EOF between frames
            Err(FrameError::Io(e)) => {
                debug!(%peer, error = %e, "connection read failed");
                break;
            }
            Err(e) => {
                warn!(%peer, error = %e, "closing connection");
                metrics.connections_closed_for_bad_input.fetch_add(1, Ordering::Relaxed);
                break;
            }
        };
        let pending = match parse_request(frame.freeze()) {
            Ok(ParsedRequest::Request(request)) => {
                metrics.requests.fetch_add(1, Ordering::Relaxed);
                apis.handle(*request, peer, &listener)
            }
            Ok(ParsedRequest::ApiVersionsTooNew { correlation_id, api_version }) => {
                info!(%peer, api_version, "ApiVersions version too new; answering UNSUPPORTED_VERSION in v0 format");
                PendingResponse::Ready(Response::Frame(unsupported_api_versions_response(correlation_id)))
            }
            Err(e) => {
                warn!(%peer, error = %e, "closing connection");
                metrics.connections_closed_for_bad_input.fetch_add(1, Ordering::Relaxed);
                let _ = queue.send(PendingResponse::Ready(Response::Close)).await;
                break;
            }
        };
        let closes = matches!(pending, PendingResponse::Ready(Response::Close));
        if queue.send(pending).await.is_err() || closes {
            break; // the writer is gone (peer closed) or the handler asked to close
        }
    }
    drop(queue);
    match writer.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!(%peer, error = %e, "connection write failed"),
        Err(e) => warn!(%peer, error = %e, "connection writer panicked"),
    }
}

/// Reads one frame; `Ok(None)` on EOF before a new frame starts.
async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R, max: usize) -> Result<Option<BytesMut>, FrameError> {
    let mut size_buf = [0u8; 4];
    match reader.read_exact(&mut size_buf[..1]).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    reader.read_exact(&mut size_buf[1..]).await?;
    let size = i32::from_be_bytes(size_buf);
    if size < 0 {
        return Err(FrameError::Negative(size));
    }
    if size as usize > max {
        return Err(FrameError::TooLarge { size: size as i64, max });
    }
    let size = size as usize;
    let mut buf = BytesMut::with_capacity(size);
    while buf.len() < size {
        let n = (&mut *reader).take((size - buf.len()) as u64).read_buf(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed mid-request").into());
        }
    }
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_over_the_limit_and_negative_sizes_are_refused() {
        let mut input: &[u8] = &[0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(read_frame(&mut input, 8).await.unwrap_err().to_string(), "request of 9 bytes exceeds socket.request.max.bytes 8");
        let mut input: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(read_frame(&mut input, 8).await, Err(FrameError::Negative(-1))));
        let mut input: &[u8] = &[0, 0, 0, 3, 1, 2, 3, 0, 0];
        assert_eq!(&read_frame(&mut input, 8).await.unwrap().unwrap()[..], &[1, 2, 3]);
        assert!(matches!(read_frame(&mut input, 8).await, Err(FrameError::Io(_))), "a torn size prefix is an I/O error");
        let mut empty: &[u8] = &[];
        assert!(read_frame(&mut empty, 8).await.unwrap().is_none());
    }
}
