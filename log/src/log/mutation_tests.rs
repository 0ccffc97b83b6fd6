//! Mutated batches against `append_as_leader`: every corruption is either refused with an error
//! or (when it leaves a valid batch, e.g. a flip in a header field outside the CRC range) accepted;
//! never a panic. Whatever was accepted survives an unclean reopen (recovery from offset 0) intact.

use crate::batch::{compute_crc, BatchHeader};
use crate::test_util::{batch, open_log, slice_bytes, temp_dir, tp, whole_batches};
use crate::{Log, LogConfig};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutated_batches_never_panic_and_accepted_ones_survive_recovery() {
    let dir = temp_dir();
    let config = LogConfig { segment_bytes: 64 * 1024, index_interval_bytes: 512, ..LogConfig::default() };
    let log = open_log(dir.path(), config.clone());
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let seed = batch(8, 40, 1_700_000_000_000);
    let (mut accepted, mut refused) = (0usize, 0usize);
    let mut expected_records = 0i64;
    for i in 0..5000 {
        let mut m = seed.clone();
        match rng.below(5) {
            0 => {
                let at = rng.below(m.len());
                m[at] ^= 1 << rng.below(8);
            }
            1 => m.truncate(rng.below(m.len())),
            2 => {
                let at = rng.below(m.len().saturating_sub(4));
                let v: i32 = [i32::MAX, -1, 0, 61, rng.next() as i32][rng.below(5)];
                m[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
            3 => m.extend((0..rng.below(100)).map(|_| rng.next() as u8)),
            _ => {} // the valid batch, so appends keep happening
        }
        match log.append_as_leader(&m, 0, 1_700_000_000_000 + i) {
            Ok(info) => {
                accepted += 1;
                expected_records += info.record_count;
            }
            Err(_) => refused += 1,
        }
    }
    assert!(accepted > 500 && refused > 1000, "accepted {accepted}, refused {refused}");
    assert_eq!(log.log_end_offset(), expected_records);
    log.close().unwrap();

    // Unclean reopen: recovery re-validates everything and must keep every accepted batch.
    let reopened = Log::open(dir.path(), tp(), config, Some(0), 1_700_000_100_000).unwrap();
    assert_eq!(reopened.log_end_offset(), expected_records);
    let mut offset = 0;
    let mut seen = 0i64;
    while offset < reopened.log_end_offset() {
        let slice = reopened.read(offset, 1 << 20, i64::MAX, true).unwrap().records.expect("data below the log end");
        let bytes = slice_bytes(&slice);
        let headers: Vec<BatchHeader> = whole_batches(&bytes);
        assert!(!headers.is_empty());
        let mut pos = 0;
        for h in &headers {
            let size = h.total_size();
            assert_eq!(h.crc, compute_crc(&bytes[pos..pos + size]), "stored batch at offset {} keeps a valid CRC", h.base_offset);
            pos += size;
            seen += h.record_count as i64;
            offset = h.last_offset() + 1;
        }
    }
    assert_eq!(seen, expected_records);
}
