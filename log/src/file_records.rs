//! Reading batches out of a `.log` file, Kafka's `FileRecords`: positional reads (`pread`) only,
//! so any number of readers share the writer's `File` without moving its cursor, and a header
//! walk touches 61 bytes per batch, never the payload.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::batch::{framed_size, BatchHeader, ATTRIBUTES_OFFSET, RECORD_BATCH_OVERHEAD};

fn corrupt(position: u64, what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("corrupt batch at position {position}: {what}"))
}

/// Reads and frames the header of the batch at `position`; the batch must end by `end`.
pub(crate) fn read_batch_header(file: &File, position: u64, end: u64) -> io::Result<BatchHeader> {
    let available = end.saturating_sub(position);
    if available < RECORD_BATCH_OVERHEAD as u64 {
        return Err(corrupt(position, format!("only {available} bytes left for a {RECORD_BATCH_OVERHEAD}-byte header")));
    }
    let mut buf = [0u8; RECORD_BATCH_OVERHEAD];
    file.read_exact_at(&mut buf, position)?;
    let total = framed_size(&buf).ok_or_else(|| corrupt(position, "batch length smaller than a header".into()))?;
    if total as u64 > available {
        return Err(corrupt(position, format!("batch of {total} bytes runs past the end at {end}")));
    }
    BatchHeader::parse(&buf).ok_or_else(|| corrupt(position, "unreadable header".into()))
}

/// The batches of `file` from `position` up to `end`, as `(position, header)`.
pub(crate) struct FileBatches<'a> {
    file: &'a File,
    position: u64,
    end: u64,
}

impl<'a> FileBatches<'a> {
    pub(crate) fn new(file: &'a File, position: u64, end: u64) -> Self {
        FileBatches { file, position, end }
    }
}

impl Iterator for FileBatches<'_> {
    type Item = io::Result<(u64, BatchHeader)>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.end {
            return None;
        }
        match read_batch_header(self.file, self.position, self.end) {
            Ok(header) => {
                let at = self.position;
                self.position += header.total_size() as u64;
                Some(Ok((at, header)))
            }
            Err(e) => {
                self.position = self.end; // fused after an error
                Some(Err(e))
            }
        }
    }
}

/// Reads one whole batch into `buf` (resized to fit).
pub(crate) fn read_batch(file: &File, position: u64, header: &BatchHeader, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.resize(header.total_size(), 0);
    file.read_exact_at(buf, position)
}

/// CRC-32C of the batch at `position` (CRC range only), streamed through `scratch` so a huge
/// (possibly corrupt) length never forces a huge allocation.
pub(crate) fn batch_crc(file: &File, position: u64, header: &BatchHeader, scratch: &mut [u8]) -> io::Result<u32> {
    let mut at = position + ATTRIBUTES_OFFSET as u64;
    let end = position + header.total_size() as u64;
    let mut crc = 0u32;
    while at < end {
        let n = scratch.len().min((end - at) as usize);
        file.read_exact_at(&mut scratch[..n], at)?;
        crc = crc32c::crc32c_append(crc, &scratch[..n]);
        at += n as u64;
    }
    Ok(crc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::compute_crc;
    use crate::test_util::{batch, temp_dir};
    use std::io::Write;

    #[test]
    fn walks_headers_and_streams_crcs() {
        let dir = temp_dir();
        let path = dir.path().join("f.log");
        let (a, b) = (batch(3, 100, 0), batch(2, 5000, 0));
        let mut f = File::create(&path).expect("create");
        f.write_all(&a).and_then(|_| f.write_all(&b)).expect("write");
        let f = File::open(&path).expect("open");
        let end = (a.len() + b.len()) as u64;
        let seen: Vec<(u64, i32)> = FileBatches::new(&f, 0, end).map(|r| r.map(|(p, h)| (p, h.record_count))).collect::<io::Result<_>>().expect("walk");
        assert_eq!(seen, vec![(0, 3), (a.len() as u64, 2)]);

        let mut scratch = [0u8; 100]; // smaller than the batch: exercises streaming
        let h = BatchHeader::parse(&b).expect("header");
        assert_eq!(batch_crc(&f, a.len() as u64, &h, &mut scratch).expect("crc"), compute_crc(&b));
    }

    #[test]
    fn a_torn_tail_is_invalid_data() {
        let dir = temp_dir();
        let path = dir.path().join("f.log");
        let a = batch(3, 100, 0);
        std::fs::write(&path, &a).expect("write");
        let f = File::open(&path).expect("open");
        let err = read_batch_header(&f, 0, a.len() as u64 - 1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let mut it = FileBatches::new(&f, 0, 40);
        assert!(it.next().expect("item").is_err());
        assert!(it.next().is_none());
    }
}
