"""Prints the broker version kafka-python infers from ApiVersions (its `check_version`), as
`major.minor`. kafka-python picks the newest entry of its table whose probe version the broker
serves; Kafka 2.8's probe is Produce v9."""

import argparse

from kafka import KafkaClient

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap", required=True)
args = parser.parse_args()

client = KafkaClient(bootstrap_servers=args.bootstrap, request_timeout_ms=30000)
try:
    version = client.check_version(timeout_ms=30000)
finally:
    client.close()
print("inferred " + ".".join(str(part) for part in version[:2]))
