"""The chaos harness's real-client producer: confluent-kafka (librdkafka) with acks=all, producing
unique values `<name>-<seq>` to partition `seq % partitions` until stdin closes, and writing one
JSON line per send to stdout:

    {"producer": "c1", "seq": 7, "value": "c1-7", "partition": 1, "offset": 42}
    {"producer": "c1", "seq": 8, "value": "c1-8", "partition": 2, "error": "...", "definite": false}

`definite` is true only when produce() itself refused the value (it never left the client).
Delivery-report errors are indeterminate: librdkafka retries internally, and confluent-kafka does
not expose whether an attempt may have been persisted. Values still without a report when the
final flush gives up are reported as indeterminate too, so every value produced gets one line.

Idempotence is off (the broker serves no InitProducerId yet); one request in flight per
connection keeps retries to one broker in order, but not a retry that moves to a new leader
while later sends already went there, so the checker does not hold this producer to send order.
Driven by tests/src/chaos/python_producer.rs; progress and librdkafka's complaints go to stderr.
"""

import argparse
import json
import sys
import threading
import time

from confluent_kafka import KafkaException, Producer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--name", required=True, help="producer name; values are <name>-<seq>")
    parser.add_argument("--rate", type=float, default=100.0, help="sends per second")
    parser.add_argument("--message-timeout-ms", type=int, default=15000,
                        help="librdkafka's bound on a send, retries included")
    args = parser.parse_args()

    stop = threading.Event()

    def wait_for_eof():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()

    out_lock = threading.Lock()
    pending = {}  # value -> (seq, partition)

    def report(fields):
        line = json.dumps(fields)
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def on_delivery(err, msg):
        value = msg.value().decode()
        seq, partition = pending.pop(value, (None, msg.partition()))
        fields = {"producer": args.name, "seq": seq, "value": value, "partition": partition}
        if err is None:
            fields["offset"] = msg.offset()
        else:
            fields["error"] = str(err)
            fields["definite"] = False
        report(fields)

    def on_error(err):
        print(f"{args.name}: client error: {err}", file=sys.stderr, flush=True)

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "enable.idempotence": False,
        "max.in.flight.requests.per.connection": 1,
        "linger.ms": 5,
        "message.timeout.ms": args.message_timeout_ms,
        "request.timeout.ms": 5000,
        "socket.timeout.ms": 8000,
        "retry.backoff.ms": 100,
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 1000,
        "error_cb": on_error,
    })

    interval = 1.0 / args.rate
    next_send = time.monotonic()
    seq = 0
    while not stop.is_set():
        partition = seq % args.partitions
        value = f"{args.name}-{seq}"
        pending[value] = (seq, partition)
        try:
            producer.produce(args.topic, value=value.encode(), partition=partition, on_delivery=on_delivery)
        except BufferError:
            pending.pop(value)
            producer.poll(0.05)
            continue
        except KafkaException as e:
            pending.pop(value)
            report({"producer": args.name, "seq": seq, "value": value, "partition": partition,
                    "error": str(e), "definite": True})
        seq += 1
        next_send += interval
        # poll() returns as soon as it has served a callback: keep polling until the next send.
        while not stop.is_set():
            left = next_send - time.monotonic()
            if left <= 0:
                break
            producer.poll(left)

    remaining = producer.flush(args.message_timeout_ms / 1000.0 + 10)
    for value, (s, partition) in list(pending.items()):
        report({"producer": args.name, "seq": s, "value": value, "partition": partition,
                "error": "no delivery report before exit", "definite": False})
    print(f"{args.name}: produced {seq} values; {remaining} left without a delivery report",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
