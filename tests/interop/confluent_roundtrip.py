"""confluent-kafka (librdkafka 2.16 bundled): produce keyed records, consume them back from
assigned partitions, compare byte for byte.

No consumer group is involved (Odradek serves no group APIs yet): the consumer gets `assign()`ed
partitions with explicit start offsets, so librdkafka never needs a coordinator to know where to
start, and commits nothing. It still requires a group.id; with one set its group handler sits in
"query-coord" (it sends no FindCoordinator, which the broker does not advertise) while the
assigned partitions are fetched regardless.
"""

import sys

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from common import Checker, common_args, deadline, fail, log, make_records, self_test


def main():
    parser = common_args(__doc__)
    parser.add_argument("--debug", default="", help="librdkafka debug contexts, e.g. protocol,broker")
    args = parser.parse_args()
    self_test()
    records = make_records(args.count, args.seed, compressible=args.compression != "none")
    checker = Checker(args.topic, args.partitions, records)
    client_errors = []

    def on_error(err):
        # Transport hiccups are logged by librdkafka and retried; record them for the report.
        client_errors.append(str(err))
        log(f"client error: {err}")

    common = {"bootstrap.servers": args.bootstrap, "error_cb": on_error}
    if args.debug:
        common["debug"] = args.debug

    producer = Producer({
        **common,
        "acks": args.acks,
        "compression.type": args.compression,
        # Kafka's Java partitioner, so keyed records land where murmur2 says.
        "partitioner": "murmur2_random",
        "enable.idempotence": False,
        "linger.ms": 5,
        "message.timeout.ms": int(args.timeout * 1000),
    })

    delivery_errors = []

    def on_delivery(err, msg):
        if err is not None:
            delivery_errors.append(f"{msg.key()!r}: {err}")
            return
        checker.ack(msg.key(), msg.value(), msg.partition(), msg.offset(), args.check_partitioner)

    for key, value in records:
        while True:
            try:
                producer.produce(args.topic, key=key, value=value, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(args.timeout)
    if delivery_errors:
        fail(f"{len(delivery_errors)} delivery failures, first: {delivery_errors[:3]}")
    if remaining:
        fail(f"{remaining} records still undelivered after {args.timeout}s")
    checker.check_all_acked()
    per_partition = checker.acked_per_partition()
    log(f"produced {len(records)} records (acks={args.acks}, compression={args.compression}): {per_partition}")

    consumer = Consumer({
        **common,
        "group.id": f"odradek-interop-{args.topic}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "error",
        "enable.partition.eof": False,
    })
    for p in range(args.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=30)
        if (low, high) != (0, per_partition[p]):
            fail(f"partition {p}: watermarks (ListOffsets) are ({low}, {high}), expected (0, {per_partition[p]})")
    consumer.assign([TopicPartition(args.topic, p, 0) for p in range(args.partitions)])
    expired = deadline(args.timeout)
    while not checker.done():
        if expired():
            fail(f"consumed {len(checker.consumed)} of {len(checker.acked)} records within {args.timeout}s")
        for msg in consumer.consume(num_messages=1000, timeout=0.5):
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                fail(f"consumer error: {msg.error()}")
            checker.consume(msg.partition(), msg.offset(), msg.key(), msg.value())
    checker.check_all_consumed()
    consumer.close()
    print(f"OK confluent-kafka: {len(records)} records produced and consumed back unchanged "
          f"(acks={args.acks}, compression={args.compression}, client errors: {len(client_errors)})")


if __name__ == "__main__":
    sys.exit(main())
