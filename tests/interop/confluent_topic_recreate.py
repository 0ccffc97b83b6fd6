"""librdkafka's test 0107 (topic_recreate) with fewer partitions, through confluent-kafka.

A producer writes to every partition of a 4-partition topic; the topic is deleted and created
again with 2 partitions (through the admin client, so CreateTopics and DeleteTopics are exercised
too) while the producer keeps writing to partitions 0 and 1. librdkafka tells the new topic from
the old one only by the topic id of Metadata v10+: without it, when the old partitions' leader
epochs had moved past 0, the new partitions' epochs (0) look stale, it keeps the old leaders and
retries UNKNOWN_TOPIC_OR_PARTITION. The script passes once enough messages produced after the
recreation are acknowledged, and fails with a "FAIL:" line if that does not happen before the
deadline.

Usage: confluent_topic_recreate.py --bootstrap HOST:PORT[,...] --topic NAME [--existing]
       [--timeout SECONDS]
(--existing: the 4-partition topic was created by the caller, e.g. to move its leaders first.)
"""

import argparse
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from common import deadline, fail, log

# Messages after the recreation that must be acknowledged.
WANTED_AFTER = 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--existing", action="store_true")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    expired = deadline(args.timeout)
    admin = AdminClient({"bootstrap.servers": args.bootstrap, "allow.auto.create.topics": False})

    def create(partitions):
        while True:
            try:
                admin.create_topics([NewTopic(args.topic, partitions, 1)], operation_timeout=30)[args.topic].result()
                return
            except Exception as e:  # noqa: BLE001 - retried until the deadline, then reported
                # The old topic may still be leaving: TOPIC_ALREADY_EXISTS until it is gone.
                if expired():
                    fail(f"cannot create {args.topic} with {partitions} partitions: {e}")
                log(f"create {args.topic} ({partitions}): {e}; retrying")
                time.sleep(0.5)

    def partitions_listed():
        topic = admin.list_topics(args.topic, timeout=10).topics.get(args.topic)
        if topic is None or topic.error is not None:
            return None
        return len(topic.partitions)

    if not args.existing:
        create(4)
    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 30000,
        "topic.metadata.refresh.interval.ms": 2000,
    })
    outcomes = []  # (phase, partition, error) per delivery report

    def produce(phase, partition, value):
        def report(err, msg):
            outcomes.append((phase, msg.partition(), err))
        producer.produce(args.topic, value=value, partition=partition, on_delivery=report)
        producer.poll(0)

    for i in range(40):
        produce("before", i % 4, f"before-{i}".encode())
    producer.flush(30)
    failed = [o for o in outcomes if o[0] == "before" and o[2] is not None]
    if len([o for o in outcomes if o[0] == "before"]) != 40 or failed:
        fail(f"before the recreation: {len(outcomes)} reports, failures {failed[:3]}")
    log(f"40 messages acknowledged on 4 partitions; deleting {args.topic}")

    admin.delete_topics([args.topic], operation_timeout=30)[args.topic].result()
    i = 0
    while partitions_listed() is not None:
        produce("during", i % 2, f"during-{i}".encode())
        i += 1
        if expired():
            fail(f"{args.topic} still listed after its deletion")
        time.sleep(0.1)
    create(2)
    log(f"{args.topic} recreated with 2 partitions")

    i = 0
    while True:
        produce("after", i % 2, f"after-{i}".encode())
        i += 1
        producer.poll(0.1)
        acked = [o for o in outcomes if o[0] == "after" and o[2] is None]
        if len(acked) >= WANTED_AFTER:
            break
        if expired():
            errors = [str(o[2]) for o in outcomes if o[2] is not None][-3:]
            fail(f"only {len(acked)} of {i} messages produced after the recreation were acknowledged; last errors {errors}")
    bad = [o for o in acked if o[1] not in (0, 1)]
    if bad:
        fail(f"acknowledged on partitions outside the new topic: {bad[:3]}")
    producer.flush(30)
    log(f"{len(acked)} messages acknowledged after the recreation (of {i} produced)")
    print("OK")


if __name__ == "__main__":
    main()
