"""kafka-python 3.x: produce keyed records, consume them back from assigned partitions, compare
byte for byte.

The broker version is auto-detected from ApiVersions (no `api_version` pin). Idempotence is
switched off explicitly: kafka-python 3 turns it on by default for brokers that look >= 0.11, and
Odradek serves no InitProducerId yet. The consumer has no group (`group_id=None`): partitions are
assigned and positioned with `seek`, so no coordinator is needed.
"""

import logging
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from common import Checker, common_args, deadline, fail, log, make_records, self_test


def main():
    parser = common_args(__doc__)
    parser.add_argument("--debug", action="store_true", help="DEBUG logging of the client")
    parser.add_argument("--api-version", default=None,
                        help="pin the broker version, e.g. 2.3 (diagnostics only: the tests auto-detect)")
    args = parser.parse_args()
    self_test()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr)
    if args.compression not in ("none", "gzip"):
        fail(f"kafka-python needs extra packages for {args.compression}; only none/gzip are installed")
    pin = {}
    if args.api_version:
        pin["api_version"] = tuple(int(x) for x in args.api_version.split("."))
    records = make_records(args.count, args.seed, compressible=args.compression != "none")
    checker = Checker(args.topic, args.partitions, records)

    producer = KafkaProducer(
        bootstrap_servers=[args.bootstrap],
        acks="all" if args.acks in ("all", "-1") else 1,
        enable_idempotence=False,
        compression_type=None if args.compression == "none" else args.compression,
        linger_ms=5,
        request_timeout_ms=30000,
        max_block_ms=int(args.timeout * 1000),
        **pin,
    )
    log(f"kafka-python guessed broker version {producer.config.get('api_version')}")
    futures = [(key, value, producer.send(args.topic, key=key, value=value)) for key, value in records]
    producer.flush(timeout=args.timeout)
    for key, value, future in futures:
        try:
            metadata = future.get(timeout=args.timeout)
        except Exception as e:  # noqa: BLE001 - any failure is a test failure, reported verbatim
            fail(f"send of {key!r} failed: {e!r}")
        # kafka-python's default partitioner is Kafka's murmur2 one.
        checker.ack(key, value, metadata.partition, metadata.offset, args.check_partitioner)
    producer.close()
    checker.check_all_acked()
    per_partition = checker.acked_per_partition()
    log(f"produced {len(records)} records (acks={args.acks}): {per_partition}")

    consumer = KafkaConsumer(
        bootstrap_servers=[args.bootstrap],
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        **pin,
    )
    partitions = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    consumer.assign(partitions)
    beginning = consumer.beginning_offsets(partitions, timeout_ms=30000)
    end = consumer.end_offsets(partitions, timeout_ms=30000)
    for tp in partitions:
        if (beginning[tp], end[tp]) != (0, per_partition[tp.partition]):
            fail(f"partition {tp.partition}: ListOffsets says [{beginning[tp]}, {end[tp]}), "
                 f"expected [0, {per_partition[tp.partition]})")
        consumer.seek(tp, 0)
    expired = deadline(args.timeout)
    while not checker.done():
        if expired():
            fail(f"consumed {len(checker.consumed)} of {len(checker.acked)} records within {args.timeout}s")
        for tp, batch in consumer.poll(timeout_ms=500, max_records=5000).items():
            for record in batch:
                checker.consume(tp.partition, record.offset, record.key, record.value)
    checker.check_all_consumed()
    consumer.close()
    print(f"OK kafka-python: {len(records)} records produced and consumed back unchanged (acks={args.acks})")


if __name__ == "__main__":
    sys.exit(main())
