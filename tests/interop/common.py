"""Shared pieces of the interop scripts: Kafka's murmur2 partitioner, deterministic records, and a
checker that compares what a producer was told with what a consumer read back.

The scripts are driven by tests/tests/interop_*.rs and exit non-zero with a "FAIL:" line on
stderr at the first mismatch, so the Rust test can show exactly what went wrong.
"""

import argparse
import random
import sys
import time


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def log(message):
    print(message, file=sys.stderr, flush=True)


def murmur2(data: bytes) -> int:
    """Kafka's Utils.murmur2, as a signed 32-bit int (kafka-classic.md §9)."""
    mask = 0xFFFFFFFF
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    blocks = length // 4
    for i in range(blocks):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail = data[4 * blocks:]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def self_test():
    # Kafka's UtilsTest.testMurmur2.
    for data, expected in [(b"21", -973932308), (b"foobar", -790332482),
                           (b"a-little-bit-long-string", -985981536),
                           (b"a-little-bit-longer-string", -1486304829),
                           (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
                           (b"abc", 479470107)]:
        if murmur2(data) != expected:
            fail(f"murmur2 self-test: {data!r} -> {murmur2(data)}, expected {expected}")


def make_records(count: int, seed: int, compressible: bool = False):
    """`count` (key, value) pairs: keys `key-<i>`; values random bytes (0..300, every byte value)
    or, if `compressible`, repetitive text a codec shrinks well."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        key = f"key-{i}".encode()
        if compressible:
            value = (f"record {i:07d} " + "the quick brown fox jumps over the lazy dog " * 6).encode()
        else:
            value = rng.randbytes(rng.randrange(0, 301))
        records.append((key, value))
    return records


def common_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True, help="host:port of the broker")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True, help="partitions the topic has")
    parser.add_argument("--count", type=int, default=10000, help="records to produce")
    parser.add_argument("--acks", default="all", choices=["all", "1", "-1"])
    parser.add_argument("--compression", default="none", choices=["none", "gzip", "snappy", "lz4", "zstd"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for each of produce and consume")
    parser.add_argument("--check-partitioner", action="store_true",
                        help="assert every keyed record landed on murmur2(key) %% partitions")
    return parser


class Checker:
    """Collects what the producer was acknowledged and what the consumer read, then compares."""

    def __init__(self, topic, partitions, records):
        self.topic = topic
        self.partitions = partitions
        self.records = records
        self.acked = {}          # (partition, offset) -> (key, value)
        self.acked_keys = set()
        self.consumed = {}       # (partition, offset) -> (key, value)
        self.last_consumed = {}  # partition -> last offset seen

    def ack(self, key, value, partition, offset, check_partitioner):
        if not (0 <= partition < self.partitions):
            fail(f"record {key!r} acknowledged on partition {partition}, topic has {self.partitions}")
        if offset < 0:
            fail(f"record {key!r} acknowledged with offset {offset}")
        if (partition, offset) in self.acked:
            fail(f"two records acknowledged at {self.topic}-{partition}@{offset}: "
                 f"{self.acked[(partition, offset)][0]!r} and {key!r}")
        if key in self.acked_keys:
            fail(f"record {key!r} acknowledged twice")
        if check_partitioner:
            expected = partition_for_key(key, self.partitions)
            if partition != expected:
                fail(f"record {key!r} landed on partition {partition}, murmur2 says {expected}")
        self.acked[(partition, offset)] = (key, value)
        self.acked_keys.add(key)

    def check_all_acked(self):
        if len(self.acked) != len(self.records):
            fail(f"{len(self.acked)} of {len(self.records)} records acknowledged")
        for p in range(self.partitions):
            offsets = sorted(o for (q, o) in self.acked if q == p)
            if offsets != list(range(len(offsets))):
                fail(f"acknowledged offsets of partition {p} are not 0..{len(offsets) - 1}: "
                     f"first gaps near {first_gap(offsets)}")

    def acked_per_partition(self):
        counts = [0] * self.partitions
        for (p, _) in self.acked:
            counts[p] += 1
        return counts

    def consume(self, partition, offset, key, value):
        last = self.last_consumed.get(partition, -1)
        if offset <= last:
            fail(f"partition {partition}: offset {offset} consumed after {last} (duplicate or reordered)")
        self.last_consumed[partition] = offset
        expected = self.acked.get((partition, offset))
        if expected is None:
            fail(f"consumed {self.topic}-{partition}@{offset} (key {key!r}) that no producer was acknowledged")
        if (key, value) != expected:
            fail(f"{self.topic}-{partition}@{offset}: consumed key={key!r} value={short(value)}, "
                 f"produced key={expected[0]!r} value={short(expected[1])}")
        self.consumed[(partition, offset)] = (key, value)

    def done(self):
        return len(self.consumed) >= len(self.acked)

    def check_all_consumed(self):
        missing = sorted(set(self.acked) - set(self.consumed))
        if missing:
            fail(f"{len(missing)} acknowledged records never consumed, e.g. {missing[:5]}")


def first_gap(offsets):
    for i, o in enumerate(offsets):
        if o != i:
            return i
    return len(offsets)


def short(value):
    if value is None:
        return "None"
    return repr(value[:40]) + (f"...({len(value)} bytes)" if len(value) > 40 else "")


def deadline(seconds):
    end = time.monotonic() + seconds
    return lambda: time.monotonic() > end
