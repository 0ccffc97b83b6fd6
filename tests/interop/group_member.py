"""One consumer-group member (confluent-kafka or kafka-python) whose every event is a stdout line,
so a test can run several of them against the broker's group coordinator and reason about who
read what (tests/src/group_members.rs drives it).

Events, one line each, flushed at once:

    ASSIGNED p,p,...          on every assignment (the eager protocols hand out the whole set)
    REVOKED                   on every revocation
    RECORD <p> <offset> <v>   per processed record (value decoded as UTF-8, lossily)
    ERROR <name> <text>       an error the client surfaced (e.g. INCONSISTENT_GROUP_PROTOCOL)
    CRASHING <p> <offset>     just before a --crash-after exit: the record at the crash point
    COUNT <records> <bytes>   with --quiet: progress every 0.2 s and once at exit
    CLOSED                    after a clean close (LeaveGroup sent)

Processing a record means printing its RECORD line and committing offset+1 for its partition
synchronously; `--commit after` prints then commits (at-least-once: a crash between the two makes
the next member read the record again), `--commit before` commits then prints (at-most-once: a
crash between the two loses the record), `--commit none` never commits (benchmarks).
`--crash-after K` exits with os._exit(3) right between the two steps of the K-th record (1-based),
without closing the consumer: the coordinator only learns of it through the session timeout, as
with kill -9.

Without --idle-exit the member reads until SIGTERM (or SIGINT), then closes cleanly, which sends
LeaveGroup. With --idle-exit S it closes the same way once S seconds passed without a record after
it has read at least one.
"""

import argparse
import os
import signal
import sys
import time

from common import fail, log

stopping = False


def on_signal(signum, _frame):
    global stopping
    stopping = True


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def text(value):
    if value is None:
        return "NULL"
    return value.decode("utf-8", errors="replace").replace("\n", "\\n")


class Processor:
    """The per-record commit discipline and the crash point, shared by both clients."""

    def __init__(self, args, commit):
        self.args = args
        self.commit = commit
        self.records = 0
        self.bytes = 0
        self.last_record_at = None
        self.last_count_at = time.monotonic()

    def process(self, partition, offset, value):
        self.records += 1
        self.bytes += len(value or b"")
        self.last_record_at = time.monotonic()
        crash = self.args.crash_after is not None and self.records == self.args.crash_after
        if self.args.quiet:
            self.maybe_count()
            return
        if self.args.commit == "before":
            self.commit(partition, offset + 1)
            if crash:
                self.crash(partition, offset)
            emit(f"RECORD {partition} {offset} {text(value)}")
        else:
            emit(f"RECORD {partition} {offset} {text(value)}")
            if crash:
                self.crash(partition, offset)
            if self.args.commit == "after":
                self.commit(partition, offset + 1)

    def crash(self, partition, offset):
        emit(f"CRASHING {partition} {offset}")
        os._exit(3)

    def maybe_count(self, force=False):
        now = time.monotonic()
        if force or now - self.last_count_at >= 0.2:
            self.last_count_at = now
            emit(f"COUNT {self.records} {self.bytes}")

    def idle_expired(self):
        return (self.args.idle_exit is not None and self.last_record_at is not None
                and time.monotonic() - self.last_record_at >= self.args.idle_exit)


def run_confluent(args):
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

    def on_error(err):
        emit(f"ERROR {err.name()} {err.str()}")

    config = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": args.client_id or f"group-member-{os.getpid()}",
        "partition.assignment.strategy": args.assignors,
        "session.timeout.ms": args.session_timeout_ms,
        "heartbeat.interval.ms": args.heartbeat_interval_ms,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "error_cb": on_error,
    }
    if args.debug:
        config["debug"] = args.debug
    consumer = Consumer(config)

    def commit(partition, offset):
        try:
            consumer.commit(offsets=[TopicPartition(args.topic, partition, offset)], asynchronous=False)
        except KafkaException as e:
            # A failed commit is part of what the test observes (the record will come again).
            emit(f"ERROR COMMIT_FAILED {e}")

    def on_assign(_consumer, partitions):
        emit("ASSIGNED " + ",".join(str(p.partition) for p in sorted(partitions, key=lambda p: p.partition)))

    def on_revoke(_consumer, _partitions):
        emit("REVOKED")

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    processor = Processor(args, commit)
    try:
        while not stopping and not processor.idle_expired():
            batch = consumer.consume(num_messages=1000 if args.quiet else 1, timeout=0.2)
            for msg in batch:
                if msg.error():
                    err = msg.error()
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    emit(f"ERROR {err.name()} {err.str()}")
                    continue
                processor.process(msg.partition(), msg.offset(), msg.value())
            if args.quiet:
                processor.maybe_count()
    finally:
        if args.quiet:
            processor.maybe_count(force=True)
        consumer.close()
        emit("CLOSED")


def run_kafka_python(args):
    import logging

    from kafka import KafkaConsumer, TopicPartition
    from kafka.consumer.subscription_state import ConsumerRebalanceListener
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr)
    classes = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}
    assignors = []
    for name in args.assignors.split(","):
        if name not in classes:
            fail(f"kafka-python member: unknown assignor {name!r} (range, roundrobin)")
        assignors.append(classes[name])
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap.split(","),
        group_id=args.group,
        client_id=args.client_id or f"group-member-{os.getpid()}",
        partition_assignment_strategy=assignors,
        session_timeout_ms=args.session_timeout_ms,
        heartbeat_interval_ms=args.heartbeat_interval_ms,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit("REVOKED")

        def on_partitions_assigned(self, assigned):
            emit("ASSIGNED " + ",".join(str(p) for p in sorted(tp.partition for tp in assigned)))

    def commit(partition, offset):
        try:
            consumer.commit({TopicPartition(args.topic, partition): OffsetAndMetadata(offset, "", -1)})
        except KafkaError as e:
            emit(f"ERROR COMMIT_FAILED {type(e).__name__} {e}")

    consumer.subscribe([args.topic], listener=Listener())
    processor = Processor(args, commit)
    try:
        while not stopping and not processor.idle_expired():
            try:
                polled = consumer.poll(timeout_ms=200, max_records=1000 if args.quiet else 1)
            except KafkaError as e:
                # Fatal join errors (INCONSISTENT_GROUP_PROTOCOL, ...) surface here; the member
                # stays up and tries again, as an application with a retry loop would.
                emit(f"ERROR {type(e).__name__} {e}")
                time.sleep(0.5)
                continue
            for tp, records in sorted(polled.items(), key=lambda item: item[0].partition):
                for record in records:
                    processor.process(tp.partition, record.offset, record.value)
            if args.quiet:
                processor.maybe_count()
    finally:
        if args.quiet:
            processor.maybe_count(force=True)
        consumer.close(autocommit=False)
        emit("CLOSED")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", required=True, choices=["confluent", "kafka-python"])
    parser.add_argument("--bootstrap", required=True, help="host:port[,host:port...]")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--client-id", default=None, help="client.id (default group-member-<pid>)")
    parser.add_argument("--assignors", default="range,roundrobin",
                        help="comma-separated, in preference order: range, roundrobin")
    parser.add_argument("--commit", default="after", choices=["after", "before", "none"])
    parser.add_argument("--crash-after", type=int, default=None, metavar="K",
                        help="os._exit(3) between printing and committing the K-th record")
    parser.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                        help="close and exit after this long without a record (once one was read)")
    parser.add_argument("--session-timeout-ms", type=int, default=6000)
    parser.add_argument("--heartbeat-interval-ms", type=int, default=1000,
                        help="shorter than the clients' 3000 so survivors notice a rebalance soon")
    parser.add_argument("--quiet", action="store_true",
                        help="no RECORD lines: COUNT lines every 0.2 s (benchmarks)")
    parser.add_argument("--debug", default="",
                        help="confluent: librdkafka debug contexts (cgrp,protocol); kafka-python: any value = DEBUG")
    args = parser.parse_args()
    if args.crash_after is not None and (args.crash_after < 1 or args.quiet):
        fail("--crash-after needs K >= 1 and no --quiet")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log(f"group member: {args.client} group={args.group} topic={args.topic} assignors={args.assignors} "
        f"commit={args.commit} crash_after={args.crash_after} idle_exit={args.idle_exit}")
    if args.client == "confluent":
        run_confluent(args)
    else:
        run_kafka_python(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
