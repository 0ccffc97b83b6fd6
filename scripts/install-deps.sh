#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, idempotently and quickly when it is
# already there:
#   * kcat (Debian's, built on librdkafka 2.0.2) and librdkafka-dev: the interop tests drive kcat;
#   * golang-go with Debian's segmentio/kafka-go 0.2.1 and Shopify/sarama 1.22.1 sources: the Go
#     interop programs of tests/interop/go (built by the tests in GOPATH mode);
#   * python3-venv, then <repo>/.venv with the two Python clients the interop tests drive, pinned to
#     the versions shared/reference/kafka-clients.md was checked with;
#   * Debian's zookeeper package (ZooKeeper 3.8): scripts/zookeeper.sh runs the 3-node ensembles
#     the cluster tests and the local cluster use;
#   * cargo-nextest, the test runner scripts/test.sh uses.
#
#   scripts/install-deps.sh             everything above (what scripts/test.sh runs)
#   scripts/install-deps.sh zookeeper   only what a local cluster needs: Debian's zookeeper package
#                                       and a Java runtime (what `odradek cluster up` runs when
#                                       ZooKeeper is missing)
#
# Environment: ODRADEK_VENV overrides the venv location (default <repo>/.venv).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-all}"
case "$MODE" in
    all | zookeeper) ;;
    *) echo "usage: $0 [zookeeper]" >&2; exit 2 ;;
esac

CONFLUENT_KAFKA_VERSION=2.16.1
KAFKA_PYTHON_VERSION=3.0.12
VENV="${ODRADEK_VENV:-$PWD/.venv}"

log() { echo "install-deps: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- apt packages -----------------------------------------------------------------------------------
missing=()
if [ "$MODE" = all ]; then
    command -v kcat >/dev/null 2>&1 || missing+=(kcat)
    dpkg-query -W -f='${Status}' librdkafka-dev 2>/dev/null | grep -q 'install ok installed' || missing+=(librdkafka-dev)
    for go_package in golang-go golang-github-segmentio-kafka-go-dev golang-github-shopify-sarama-dev; do
        dpkg-query -W -f='${Status}' "$go_package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$go_package")
    done
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    # Debian's python3 ships venv without ensurepip; python3-venv adds it.
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi
fi
# The same check as `scripts/zookeeper.sh install`; the package brings a JRE if none is there.
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
# ZooKeeper installed but no java on PATH (a JRE removed since): scripts/zookeeper.sh needs one.
if [ -f /usr/share/java/zookeeper.jar ] && ! command -v java >/dev/null 2>&1; then
    missing+=(default-jre-headless)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -q
    # Another apt-get (a second checkout's install, say) holding dpkg's lock is waited for.
    as_root apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
fi

[ "$MODE" = zookeeper ] && exit 0

# --- Python clients -----------------------------------------------------------------------------------
venv_ok() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$CONFLUENT_KAFKA_VERSION" "$KAFKA_PYTHON_VERSION" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
import confluent_kafka, kafka  # importable, not just listed
assert version("confluent-kafka") == sys.argv[1], version("confluent-kafka")
assert version("kafka-python") == sys.argv[2], version("kafka-python")
PY
}
if ! venv_ok; then
    log "creating $VENV with confluent-kafka $CONFLUENT_KAFKA_VERSION and kafka-python $KAFKA_PYTHON_VERSION"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION" "kafka-python==$KAFKA_PYTHON_VERSION"
    venv_ok || { log "the venv at $VENV still lacks the pinned clients"; exit 1; }
fi

# --- cargo-nextest --------------------------------------------------------------------------------------
if ! cargo nextest --version >/dev/null 2>&1; then
    log "cargo install cargo-nextest --locked"
    cargo install cargo-nextest --locked
fi
