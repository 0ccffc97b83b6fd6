//! Compression of legacy wrapper messages as Kafka's Java clients frame it.
//!
//! Two framings differ from the raw codecs a v2 batch may use:
//! - snappy: Kafka wraps snappy in the xerial stream format (`SnappyOutputStream`: an 8-byte
//!   magic, two version ints, then `[length][raw snappy block]` chunks). Readers accept both the
//!   framed and the raw form, as snappy-java does; legacy messages written here are framed.
//! - lz4 at magic 0: before KIP-57, Kafka computed the LZ4 frame's header checksum over the
//!   frame magic too (`useBrokenFlagDescriptorChecksum`). Kafka ignores that byte when reading
//!   magic 0 and writes it the broken way; liblz4 insists on a correct one, so it is rewritten
//!   before decoding and after encoding.

use bytes::{Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Decompressor, Gzip, Lz4, Snappy, Zstd};

pub const NONE: u8 = 0;
pub const GZIP: u8 = 1;
pub const SNAPPY: u8 = 2;
pub const LZ4: u8 = 3;
pub const ZSTD: u8 = 4;

const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;
/// snappy-java's default block size.
const XERIAL_BLOCK: usize = 32 * 1024;
const LZ4_FRAME_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];

/// Decompresses a wrapper's value (or a v2 batch's records section).
pub fn decompress(codec: u8, magic: i8, data: &[u8]) -> Result<Vec<u8>, String> {
    let take = |b: &mut Bytes| Ok(b.to_vec());
    let decoded = match codec {
        NONE => return Ok(data.to_vec()),
        GZIP => <Gzip as Decompressor<Bytes>>::decompress(&mut Bytes::copy_from_slice(data), take),
        SNAPPY => return unsnappy(data),
        LZ4 => {
            let mut frame = data.to_vec();
            if magic == 0 {
                set_lz4_header_checksum(&mut frame, false)?;
            }
            <Lz4 as Decompressor<Bytes>>::decompress(&mut Bytes::from(frame), take)
        }
        ZSTD => <Zstd as Decompressor<Bytes>>::decompress(&mut Bytes::copy_from_slice(data), take),
        other => return Err(format!("unknown compression codec {other}")),
    };
    decoded.map_err(|e| format!("cannot decompress: {e}"))
}

/// Compresses the inner message set of a legacy wrapper at `magic`.
pub fn compress_legacy(codec: u8, magic: i8, data: &[u8]) -> Result<Vec<u8>, String> {
    match codec {
        NONE => Ok(data.to_vec()),
        SNAPPY => {
            let mut out = XERIAL_MAGIC.to_vec();
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            for chunk in data.chunks(XERIAL_BLOCK) {
                let block = raw(SNAPPY, chunk)?;
                out.extend_from_slice(&(block.len() as i32).to_be_bytes());
                out.extend_from_slice(&block);
            }
            Ok(out)
        }
        LZ4 => {
            let mut frame = raw(LZ4, data)?;
            if magic == 0 {
                set_lz4_header_checksum(&mut frame, true)?;
            }
            Ok(frame)
        }
        GZIP => raw(GZIP, data),
        other => Err(format!(
            "compression codec {other} cannot be used with magic {magic}"
        )),
    }
}

/// One codec's plain output, as a v2 batch carries it.
pub fn raw(codec: u8, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = BytesMut::new();
    let fill = |tmp: &mut BytesMut| {
        tmp.extend_from_slice(data);
        Ok(())
    };
    let done = match codec {
        NONE => return Ok(data.to_vec()),
        GZIP => <Gzip as Compressor<BytesMut>>::compress(&mut out, fill),
        SNAPPY => <Snappy as Compressor<BytesMut>>::compress(&mut out, fill),
        LZ4 => <Lz4 as Compressor<BytesMut>>::compress(&mut out, fill),
        ZSTD => <Zstd as Compressor<BytesMut>>::compress(&mut out, fill),
        other => return Err(format!("unknown compression codec {other}")),
    };
    done.map_err(|e| format!("cannot compress: {e}"))?;
    Ok(out.to_vec())
}

/// Snappy, xerial-framed or raw.
fn unsnappy(data: &[u8]) -> Result<Vec<u8>, String> {
    let raw_block = |block: &[u8]| {
        <Snappy as Decompressor<Bytes>>::decompress(
            &mut Bytes::copy_from_slice(block),
            |b: &mut Bytes| Ok(b.to_vec()),
        )
        .map_err(|e| format!("cannot decompress: {e}"))
    };
    if !data.starts_with(XERIAL_MAGIC) {
        return raw_block(data);
    }
    let mut out = Vec::new();
    let mut at = XERIAL_HEADER_LEN;
    while at < data.len() {
        let len = data
            .get(at..at + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or("truncated snappy chunk length")?;
        let len =
            usize::try_from(len).map_err(|_| format!("negative snappy chunk length {len}"))?;
        let block = data
            .get(at + 4..at + 4 + len)
            .ok_or("truncated snappy chunk")?;
        out.extend(raw_block(block)?);
        at += 4 + len;
    }
    Ok(out)
}

/// Rewrites the LZ4 frame descriptor's checksum byte: correct (over the descriptor) or Kafka's
/// magic-0 "broken" one (over the frame magic and the descriptor).
fn set_lz4_header_checksum(frame: &mut [u8], broken: bool) -> Result<(), String> {
    if frame.len() < 7 || frame[..4] != LZ4_FRAME_MAGIC {
        return Err("not an LZ4 frame".into());
    }
    let flg = frame[4];
    // FLG bit 3: an 8-byte content size follows BD; bit 0: a 4-byte dictionary id.
    let descriptor_end =
        6 + if flg & 0x08 != 0 { 8 } else { 0 } + if flg & 0x01 != 0 { 4 } else { 0 };
    if frame.len() <= descriptor_end {
        return Err("truncated LZ4 frame descriptor".into());
    }
    let hashed = if broken {
        &frame[..descriptor_end]
    } else {
        &frame[4..descriptor_end]
    };
    frame[descriptor_end] = (xxh32(hashed) >> 8) as u8;
    Ok(())
}

/// XXH32 with seed 0, for frame descriptors (a few bytes; no 16-byte stripes needed below 16).
fn xxh32(input: &[u8]) -> u32 {
    const P1: u32 = 2_654_435_761;
    const P2: u32 = 2_246_822_519;
    const P3: u32 = 3_266_489_917;
    const P4: u32 = 668_265_263;
    const P5: u32 = 374_761_393;
    let round = |acc: u32, lane: u32| {
        acc.wrapping_add(lane.wrapping_mul(P2))
            .rotate_left(13)
            .wrapping_mul(P1)
    };
    let mut rest = input;
    let mut h = if input.len() >= 16 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u32.wrapping_sub(P1)];
        while rest.len() >= 16 {
            for (i, lane) in v.iter_mut().enumerate() {
                *lane = round(
                    *lane,
                    u32::from_le_bytes([
                        rest[4 * i],
                        rest[4 * i + 1],
                        rest[4 * i + 2],
                        rest[4 * i + 3],
                    ]),
                );
            }
            rest = &rest[16..];
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        P5
    };
    h = h.wrapping_add(input.len() as u32);
    while rest.len() >= 4 {
        h = h
            .wrapping_add(u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]).wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
        rest = &rest[4..];
    }
    for &b in rest {
        h = h
            .wrapping_add(u32::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh32_matches_the_reference_vectors() {
        assert_eq!(xxh32(b""), 0x02cc_5d05);
        assert_eq!(xxh32(b"a"), 0x550d_7456);
        assert_eq!(xxh32(b"abc"), 0x32d1_53ff);
        assert_eq!(
            xxh32(b"Nobody inspects the spammish repetition"),
            0xe229_3b2f
        );
    }

    #[test]
    fn every_legacy_codec_round_trips_at_both_magics() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for codec in [NONE, GZIP, SNAPPY, LZ4] {
            for magic in [0, 1] {
                let packed = compress_legacy(codec, magic, &data).expect("compress");
                assert_eq!(
                    decompress(codec, magic, &packed).expect("decompress"),
                    data,
                    "codec {codec} magic {magic}"
                );
            }
        }
    }

    #[test]
    fn snappy_is_xerial_framed_and_raw_snappy_is_read_too() {
        let data = b"hello hello hello hello".repeat(10);
        let framed = compress_legacy(SNAPPY, 1, &data).unwrap();
        assert!(framed.starts_with(XERIAL_MAGIC));
        assert_eq!(
            decompress(SNAPPY, 1, &raw(SNAPPY, &data).unwrap()).unwrap(),
            data
        );
    }

    #[test]
    fn magic_0_lz4_carries_the_broken_descriptor_checksum() {
        let data = b"lz4 at magic zero".repeat(5);
        let v0 = compress_legacy(LZ4, 0, &data).unwrap();
        let v1 = compress_legacy(LZ4, 1, &data).unwrap();
        assert_ne!(v0[6], v1[6], "the checksum byte differs");
        assert_eq!(v0[6], (xxh32(&v0[..6]) >> 8) as u8);
        assert!(
            decompress(LZ4, 1, &v0).is_err(),
            "liblz4 refuses the broken checksum at magic 1"
        );
    }
}
