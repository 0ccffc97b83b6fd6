//! Reading a broker's log directory from the outside, to check that what clients were told is
//! really on disk in Kafka's format (kafka-classic.md §5.1, §6.1): `<log.dir>/<topic>-<partition>/`
//! holds segments named by their base offset, `%020d.log`, each a run of magic-2 batches whose
//! 61-byte header carries the compression codec in the low 3 bits of the attributes.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Bytes of a magic-2 batch header (`RECORD_BATCH_OVERHEAD`).
pub const BATCH_HEADER_BYTES: usize = 61;
/// `BaseOffset` + `BatchLength` (`LOG_OVERHEAD`).
const LOG_OVERHEAD: usize = 12;

/// The compression codec ids of the batch attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

impl Codec {
    /// The name clients use (`compression.type`, `kcat -z`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }

    /// The codec in the low 3 bits of batch `attributes`, if it is one Kafka defines.
    pub fn from_attributes(attributes: i16) -> Option<Codec> {
        match attributes & 0x7 {
            0 => Some(Codec::None),
            1 => Some(Codec::Gzip),
            2 => Some(Codec::Snappy),
            3 => Some(Codec::Lz4),
            4 => Some(Codec::Zstd),
            _ => None,
        }
    }
}

/// The fixed header of one batch in a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Byte position of the batch in the file.
    pub position: u64,
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub first_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the 61 header bytes at the start of `bytes`.
    pub fn parse(bytes: &[u8], position: u64) -> Option<BatchHeader> {
        let b = bytes.get(..BATCH_HEADER_BYTES)?;
        let i16_at = |o: usize| i16::from_be_bytes([b[o], b[o + 1]]);
        let i32_at = |o: usize| i32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let i64_at = |o: usize| i64::from_be_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        Some(BatchHeader {
            position,
            base_offset: i64_at(0),
            batch_length: i32_at(8),
            partition_leader_epoch: i32_at(12),
            magic: b[16] as i8,
            crc: i32_at(17) as u32,
            attributes: i16_at(21),
            last_offset_delta: i32_at(23),
            first_timestamp: i64_at(27),
            max_timestamp: i64_at(35),
            producer_id: i64_at(43),
            producer_epoch: i16_at(51),
            base_sequence: i32_at(53),
            record_count: i32_at(57),
        })
    }

    pub fn codec(&self) -> Option<Codec> {
        Codec::from_attributes(self.attributes)
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Size of the whole batch in the file.
    pub fn size(&self) -> u64 {
        LOG_OVERHEAD as u64 + self.batch_length.max(0) as u64
    }
}

/// `<log_dir>/<topic>-<partition>`.
pub fn partition_dir(log_dir: &Path, topic: &str, partition: i32) -> PathBuf {
    log_dir.join(format!("{topic}-{partition}"))
}

/// The file name of the segment with `base_offset`, e.g. `00000000000000000000.log`.
pub fn segment_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.log")
}

/// The `.log` segment files of a partition directory, in base-offset order.
pub fn segment_files(partition_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(partition_dir)
        .with_context(|| format!("cannot list {}", partition_dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "log")
                && path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|s| s.len() == 20 && s.bytes().all(|c| c.is_ascii_digit()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Total bytes of a partition's segment files.
pub fn segments_size(partition_dir: &Path) -> anyhow::Result<u64> {
    segment_files(partition_dir)?
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .map(|m| m.len())
                .with_context(|| format!("cannot stat {}", f.display()))
        })
        .sum()
}

/// Every batch header in a segment file, walking `BatchLength`s. Stops at a torn tail (a header
/// or batch that runs past the end of the file), which the caller sees as fewer batches.
pub fn batch_headers(segment: &Path) -> anyhow::Result<Vec<BatchHeader>> {
    let bytes =
        std::fs::read(segment).with_context(|| format!("cannot read {}", segment.display()))?;
    let mut headers = Vec::new();
    let mut position = 0usize;
    while let Some(header) = BatchHeader::parse(&bytes[position..], position as u64) {
        if header.batch_length < (BATCH_HEADER_BYTES - LOG_OVERHEAD) as i32
            || position as u64 + header.size() > bytes.len() as u64
        {
            break;
        }
        position += header.size() as usize;
        headers.push(header);
    }
    Ok(headers)
}

/// The header of the first batch of a segment file.
pub fn first_batch_header(segment: &Path) -> anyhow::Result<BatchHeader> {
    let mut file = std::fs::File::open(segment)
        .with_context(|| format!("cannot open {}", segment.display()))?;
    let mut header = [0u8; BATCH_HEADER_BYTES];
    std::io::Read::read_exact(&mut file, &mut header)
        .with_context(|| format!("{} is shorter than one batch header", segment.display()))?;
    BatchHeader::parse(&header, 0).context("61 bytes always parse")
}

/// Everything the segment files of one partition hold, read batch header by batch header.
#[derive(Debug, Clone)]
pub struct PartitionOnDisk {
    pub dir: PathBuf,
    pub segments: Vec<PathBuf>,
    /// Batch headers of all segments, in file order.
    pub batches: Vec<BatchHeader>,
    /// Sum of the segment files' sizes.
    pub file_bytes: u64,
}

impl PartitionOnDisk {
    /// Reads `<log_dir>/<topic>-<partition>`.
    pub fn read(log_dir: &Path, topic: &str, partition: i32) -> anyhow::Result<PartitionOnDisk> {
        let dir = partition_dir(log_dir, topic, partition);
        let segments = segment_files(&dir)?;
        let mut batches = Vec::new();
        for segment in &segments {
            batches.extend(batch_headers(segment)?);
        }
        let file_bytes = segments_size(&dir)?;
        Ok(PartitionOnDisk {
            dir,
            segments,
            batches,
            file_bytes,
        })
    }

    /// Records in all batches.
    pub fn records(&self) -> i64 {
        self.batches.iter().map(|b| i64::from(b.record_count)).sum()
    }

    /// Bytes of all whole batches.
    pub fn batch_bytes(&self) -> u64 {
        self.batches.iter().map(BatchHeader::size).sum()
    }

    /// Checks Kafka's log invariants on the headers: magic 2, record count matching the offset
    /// delta, and offsets contiguous from 0 across batches and segments (every segment's name is
    /// its first batch's base offset). Returns the next offset (the log end offset).
    pub fn check_contiguous(&self) -> anyhow::Result<i64> {
        let mut next = 0i64;
        for b in &self.batches {
            anyhow::ensure!(
                b.magic == 2,
                "{}: batch at position {} has magic {}",
                self.dir.display(),
                b.position,
                b.magic
            );
            anyhow::ensure!(
                b.base_offset == next,
                "{}: batch at position {} starts at offset {}, expected {next}",
                self.dir.display(),
                b.position,
                b.base_offset
            );
            anyhow::ensure!(
                i64::from(b.record_count) == i64::from(b.last_offset_delta) + 1,
                "{}: batch at offset {} has {} records but last offset delta {}",
                self.dir.display(),
                b.base_offset,
                b.record_count,
                b.last_offset_delta
            );
            next = b.last_offset() + 1;
        }
        for segment in &self.segments {
            let first = batch_headers(segment)?.first().map(|b| b.base_offset);
            if let Some(first) = first {
                let name = segment
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                anyhow::ensure!(
                    name == segment_file_name(first),
                    "segment {} starts with offset {first}; its name should be {}",
                    segment.display(),
                    segment_file_name(first)
                );
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::encode_batch;
    use bytes::Bytes;
    use kafka_protocol::records::Compression;

    #[test]
    fn headers_of_encoded_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_file_name(0));
        let records: Vec<_> = (0..50)
            .map(|i| {
                (
                    Some(Bytes::from(format!("k{i}"))),
                    Some(Bytes::from(vec![b'x'; 200])),
                )
            })
            .collect();
        let mut file = encode_batch(&records, Compression::Gzip).unwrap().to_vec();
        file.extend_from_slice(&encode_batch(&records[..3], Compression::None).unwrap());
        let whole = file.len();
        file.extend_from_slice(&[0u8; 20]); // a torn tail
        std::fs::write(&path, &file).unwrap();

        let headers = batch_headers(&path).unwrap();
        assert_eq!(headers.len(), 2);
        assert_eq!(headers[0].codec(), Some(Codec::Gzip));
        assert_eq!(headers[0].magic, 2);
        assert_eq!(headers[0].record_count, 50);
        assert_eq!(headers[0].last_offset_delta, 49);
        assert_eq!(headers[1].codec(), Some(Codec::None));
        assert_eq!(headers[1].position + headers[1].size(), whole as u64);
        assert_eq!(first_batch_header(&path).unwrap(), headers[0]);
        assert_eq!(segment_files(dir.path()).unwrap(), vec![path]);
    }

    #[test]
    fn segment_names_are_zero_padded_base_offsets() {
        assert_eq!(segment_file_name(0), "00000000000000000000.log");
        assert_eq!(segment_file_name(123456), "00000000000000123456.log");
    }
}
