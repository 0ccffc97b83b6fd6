//! The connection writer: sends responses in request order. Plain responses are coalesced into
//! one buffer and written when the queue runs dry; a Fetch response goes out as
//! `send(header bytes, MSG_MORE)` → `sendfile(segment fd)` → ... → trailing bytes, so record
//! bytes go from the page cache to the socket without entering user space (reference §7).
//! A copy through user space is used only when the kernel refuses sendfile for that file, and
//! for records a Fetch v0–3 needed down-converted in memory (both counted in `copied_bytes`).

use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use nix::errno::Errno;
use nix::sys::socket::{send, MsgFlags};
use odradek_protocol::fetch::Part;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tracing::debug;

use super::{FetchRecords, NetworkMetrics, PendingResponse, Response};

/// Flush the coalescing buffer once it holds this much.
const FLUSH_THRESHOLD: usize = 64 * 1024;

pub async fn write_loop(mut socket: OwnedWriteHalf, mut queue: mpsc::Receiver<PendingResponse>, metrics: Arc<NetworkMetrics>) -> io::Result<()> {
    let mut out = BytesMut::with_capacity(FLUSH_THRESHOLD);
    while let Some(pending) = queue.recv().await {
        let response = match pending {
            PendingResponse::Ready(r) => r,
            PendingResponse::Later(f) => {
                // About to wait: don't hold earlier responses back meanwhile.
                flush(&mut socket, &mut out).await?;
                f.await
            }
        };
        match response {
            Response::Frame(bytes) => out.extend_from_slice(&bytes),
            Response::ZeroCopy(parts) => {
                for part in parts {
                    match part {
                        Part::Bytes(b) => out.extend_from_slice(&b),
                        Part::Region(FetchRecords::Segment(slice)) => {
                            send_more(&socket, &mut out).await?;
                            send_region(&mut socket, &slice, &metrics).await?;
                        }
                        Part::Region(FetchRecords::Converted(records)) => {
                            out.extend_from_slice(&records);
                            metrics.copied_bytes.fetch_add(records.len() as u64, Ordering::Relaxed);
                        }
                    }
                }
            }
            Response::NoResponse => {}
            Response::Close => {
                flush(&mut socket, &mut out).await?;
                socket.shutdown().await.ok();
                return Ok(());
            }
        }
        if out.len() >= FLUSH_THRESHOLD || queue.is_empty() {
            flush(&mut socket, &mut out).await?;
        }
    }
    flush(&mut socket, &mut out).await
}

async fn flush(socket: &mut OwnedWriteHalf, out: &mut BytesMut) -> io::Result<()> {
    if !out.is_empty() {
        socket.write_all(out).await?;
        out.clear();
    }
    Ok(())
}

/// Writes `out` with MSG_MORE: the kernel holds the header back to share a packet with the
/// file data that follows.
async fn send_more(socket: &OwnedWriteHalf, out: &mut BytesMut) -> io::Result<()> {
    let stream = socket.as_ref();
    let mut sent = 0;
    while sent < out.len() {
        stream.writable().await?;
        match stream.try_io(Interest::WRITABLE, || send_flags(stream, &out[sent..], MsgFlags::from_bits_retain(nix::libc::MSG_MORE))) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    out.clear();
    Ok(())
}

fn send_flags(stream: &tokio::net::TcpStream, buf: &[u8], flags: MsgFlags) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    send(stream.as_raw_fd(), buf, flags).map_err(io::Error::from)
}

/// Sends a segment file region with sendfile(2), resuming after partial writes.
async fn send_region(socket: &mut OwnedWriteHalf, slice: &odradek_log::FileSlice, metrics: &NetworkMetrics) -> io::Result<()> {
    let mut offset = slice.position as i64;
    let end = offset + slice.len as i64;
    while offset < end {
        let stream = socket.as_ref();
        stream.writable().await?;
        let count = (end - offset) as usize;
        let result = stream.try_io(Interest::WRITABLE, || {
            nix::sys::sendfile::sendfile64(stream.as_fd(), slice.file.as_fd(), Some(&mut offset), count).map_err(io::Error::from)
        });
        match result {
            Ok(0) => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "segment file truncated during sendfile"));
            }
            Ok(n) => {
                metrics.sendfile_bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) if e.raw_os_error() == Some(Errno::EINVAL as i32) || e.raw_os_error() == Some(Errno::ENOSYS as i32) => {
                debug!(error = %e, "sendfile unavailable for this file; copying");
                return copy_region(socket, slice, offset, end, metrics).await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The fallback: read the region into memory and write it.
async fn copy_region(socket: &mut OwnedWriteHalf, slice: &odradek_log::FileSlice, mut offset: i64, end: i64, metrics: &NetworkMetrics) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 64 * 1024];
    while offset < end {
        let want = buf.len().min((end - offset) as usize);
        let n = slice.file.read_at(&mut buf[..want], offset as u64)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "segment file truncated during copy"));
        }
        socket.write_all(&buf[..n]).await?;
        metrics.copied_bytes.fetch_add(n as u64, Ordering::Relaxed);
        offset += n as i64;
    }
    Ok(())
}
