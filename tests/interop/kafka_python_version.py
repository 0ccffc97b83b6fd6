"""Prints the broker version kafka-python infers from the ApiVersions answer when it bootstraps
(`KafkaProducer` resolves `api_version` eagerly), as `major.minor`. kafka-python picks the newest
entry of its table whose probe version the broker serves; Kafka 2.8's probe is Produce v9.
Idempotence is off because InitProducerId is not served yet."""

import argparse

from kafka import KafkaProducer

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap", required=True)
args = parser.parse_args()

producer = KafkaProducer(bootstrap_servers=[args.bootstrap], enable_idempotence=False, request_timeout_ms=30000)
try:
    version = producer.config["api_version"]
finally:
    producer.close()
print("inferred " + ".".join(str(part) for part in version[:2]))
