#!/usr/bin/env bash
# Odradek benchmark: one release broker on loopback, driven by odradek-perf (pipelined raw
# Produce/Fetch, pre-built batches) and by rdkafka_perf (librdkafka, a real client): the system
# librdkafka (Debian bookworm: 2.0.2) and, when .venv holds the confluent-kafka wheel, the
# librdkafka it bundles (2.16.0, binary rdkafka_perf_216). The rdkafka phases (3, 5, 7) run once
# per variant and the phase name carries the librdkafka version.
#
# Phases (each bounded by PHASE_TIMEOUT seconds):
#   1. odradek-perf produce, acks=1,  1 MiB batches      -> topic perf-acks1
#   2. odradek-perf produce, acks=-1, 1 MiB batches      -> topic perf-acksall
#   3. rdkafka_perf produce, acks=1, batch.size=1000000  -> topic perf-rdkafka
#   4. odradek-perf consume perf-acks1 (50 MiB fetches, 1 MiB per partition)
#   5. rdkafka_perf consume perf-acks1 (legacy consumer, default fetch settings)
#   6. odradek-perf produce, acks=1, 16 KiB batches (Kafka's default batch.size: per-request
#      cost instead of per-byte cost)                  -> topic perf-small
#   7. rdkafka_perf produce, acks=1, batch.size=1000000, rd_kafka_produce_batch() 10000 records
#      per call round-robin over the partitions (the client's fastest enqueue path; phase 3 is
#      one rd_kafka_produce() per record through the sticky partitioner) -> topic perf-rdkafka-batch
# For each phase the broker's CPU time (utime+stime from /proc/<pid>/stat) is sampled before and
# after; the summary reports CPU seconds per million records and the broker's peak RSS (VmHWM).
# The topics are created by playing the controller (odradek-perf create-topic).
#
# Environment knobs (defaults in brackets):
#   RECORDS [10000000]  RECORD_SIZE [100]  PARTITIONS [6]  PHASE_TIMEOUT [80]
#   LINGER_MS [10]      MAX_IN_FLIGHT [5]  OUT [target/bench/<timestamp>]
#   PROFILE [0]         1 = `perf record -g` the broker during phases 1 and 4 and add the top
#                       symbols to the report (needs linux-perf)
#   BROKER_OVERRIDES    extra "key=value ..." passed to the broker as --override
#   PHASES [1 2 3 4 5 6 7] subset to run
#   RDKAFKA [all]       rdkafka_perf variants for phases 3, 5, 7: "all" (every one built), or a
#                       list of binary names under target/rdkafka-perf (rdkafka_perf rdkafka_perf_216)
#   RDKAFKA_BATCH [10000] records per rd_kafka_produce_batch() call in phase 7
#   PRODUCE_VERSION, FETCH_VERSION [the highest both sides speak]  the Produce version of the
#                       odradek-perf produce phases (1, 2, 6) and the Fetch version of its consume
#                       phase (4): e.g. 7 and 11 (classic) against 9 and 12 (flexible)
# Output: progress on stderr, the markdown summary on stdout and in $OUT/summary.md; raw tool
# output, broker logs and profiles in $OUT. Exit status 1 if any phase failed.
#
# `scripts/bench.sh failover [FLAGS]` runs the failover benchmark instead (tests/src/bin/
# failover_bench.rs): 3 release brokers on a real 3-node ZooKeeper ensemble, timing kill -9 of a
# partition leader and of the controller until the new leader accepts produce, and a controlled
# shutdown of a broker leading 1,000 partitions. FLAGS go to failover_bench (`--rounds N` [5],
# `--session-timeout-ms MS` [18000, what `odradek cluster up` runs], `--leaders N` [1000],
# `--parts leader,controller,shutdown`). About 6 minutes with the defaults. Output: the markdown
# table on stdout and in $OUT/failover.md, progress on stderr, and progress with the brokers' log
# tails in $OUT/failover.stderr. Exit status 1 if a round failed.
#
# `scripts/bench.sh replication [FLAGS]` runs the replication benchmark instead (tests/src/bin/
# replication_bench/): 3 release brokers on a real 3-node ZooKeeper ensemble, fresh topics of 6
# partitions with replication factor 3 and min.insync.replicas=2, 100-byte records. Per round:
# end-to-end latency (odradek-perf end-to-end: 50,000 records/s offered for 30 s, acks=all,
# linger 1 ms, a consumer long-polling the leaders), then throughput (odradek-perf produce,
# 5,000,000 records per phase, acks=all and acks=1 × batches of 1 MiB, 64,000 B and 16 KiB).
# FLAGS go to replication_bench (`--rounds N` [3], `--records N`, `--batch-sizes LIST`,
# `--acks all,1`, `--e2e-rate R`, `--e2e-secs S`, `--parts e2e,throughput`, `--profile`, ...;
# `--help` lists them). About 4 minutes with the defaults. Output: the markdown report on stdout
# and in $OUT/replication.md, each tool's raw output in $OUT, progress in $OUT/replication.stderr.
# Exit status 1 if a phase failed.
#
# `scripts/bench.sh groups [FLAGS]` runs the consumer-group benchmark instead (tests/src/bin/
# groups_bench.rs): 3 release brokers on a real 3-node ZooKeeper ensemble, members are
# tests/interop/group_member.py processes (confluent-kafka from .venv; scripts/install-deps.sh
# makes it). Per round: a 3-member group on a 6-partition RF-3 topic, kill -9 of one member timed
# until the survivors hold every partition (raw, and minus the session timeout), then SIGTERM
# (LeaveGroup) of another timed until the last holds every partition; then a fresh 3-member group
# reads a preloaded topic (3,000,000 records of 100 bytes) and the consume rate is reported.
# FLAGS go to groups_bench (`--rounds N` [3], `--records N`, `--record-size B`,
# `--session-timeout-ms MS` [6000], `--heartbeat-interval-ms MS` [3000, librdkafka's default],
# `--parts rebalance,throughput`; `--help` lists them). About 4 minutes with the defaults.
# Output: the markdown report on stdout and in $OUT/groups.md, progress in $OUT/groups.stderr.
# Exit status 1 if a round failed.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
RECORDS=${RECORDS:-10000000}
RECORD_SIZE=${RECORD_SIZE:-100}
PARTITIONS=${PARTITIONS:-6}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-80}
LINGER_MS=${LINGER_MS:-10}
MAX_IN_FLIGHT=${MAX_IN_FLIGHT:-5}
PROFILE=${PROFILE:-0}
PHASES=${PHASES:-1 2 3 4 5 6 7}
PRODUCE_VERSION_ARGS=()
[[ -n ${PRODUCE_VERSION:-} ]] && PRODUCE_VERSION_ARGS=(--produce-version "$PRODUCE_VERSION")
FETCH_VERSION_ARGS=()
[[ -n ${FETCH_VERSION:-} ]] && FETCH_VERSION_ARGS=(--fetch-version "$FETCH_VERSION")
RDKAFKA=${RDKAFKA:-all}
RDKAFKA_BATCH=${RDKAFKA_BATCH:-10000}
BROKER_OVERRIDES=${BROKER_OVERRIDES:-}
OUT=${OUT:-$ROOT/target/bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

log() { echo "bench: $*" >&2; }

if [[ ${1:-} == failover ]]; then
    shift
    log "building (release): odradek-broker, failover_bench"
    cargo build --release -q --bin odradek-broker
    cargo build --release -q -p odradek-tests --bin failover_bench
    log "running failover_bench $* (progress in $OUT/failover.stderr)"
    status=0
    ODRADEK_BROKER_BIN=$ROOT/target/release/odradek-broker "$ROOT/target/release/failover_bench" "$@" \
        2> >(tee "$OUT/failover.stderr" | grep --line-buffered '^failover_bench' >&2) \
        | tee "$OUT/failover.md" || status=$?
    log "raw output in $OUT"
    exit "$status"
fi

if [[ ${1:-} == replication ]]; then
    shift
    log "building (release): odradek-broker, odradek-perf, replication_bench"
    cargo build --release -q --bin odradek-broker
    cargo build --release -q -p odradek-perf
    cargo build --release -q -p odradek-tests --bin replication_bench
    log "running replication_bench $* (progress in $OUT/replication.stderr)"
    status=0
    ODRADEK_BROKER_BIN=$ROOT/target/release/odradek-broker ODRADEK_PERF_BIN=$ROOT/target/release/odradek-perf \
        "$ROOT/target/release/replication_bench" --out "$OUT" "$@" \
        2> >(tee "$OUT/replication.stderr" | grep --line-buffered '^replication_bench' >&2) \
        | tee "$OUT/replication.md" || status=$?
    log "raw output in $OUT"
    exit "$status"
fi

if [[ ${1:-} == groups ]]; then
    shift
    log "building (release): odradek-broker, groups_bench"
    cargo build --release -q --bin odradek-broker
    cargo build --release -q -p odradek-tests --bin groups_bench
    [[ -x ${ODRADEK_VENV:-$ROOT/.venv}/bin/python ]] || scripts/install-deps.sh
    log "running groups_bench $* (progress in $OUT/groups.stderr)"
    status=0
    ODRADEK_BROKER_BIN=$ROOT/target/release/odradek-broker ODRADEK_VENV=${ODRADEK_VENV:-$ROOT/.venv} \
        "$ROOT/target/release/groups_bench" "$@" \
        2> >(tee "$OUT/groups.stderr" | grep --line-buffered '^groups_bench' >&2) \
        | tee "$OUT/groups.md" || status=$?
    log "raw output in $OUT"
    exit "$status"
fi

log "building (release)"
cargo build --release -q -p odradek-broker -p odradek-perf
# Builds rdkafka_perf (system librdkafka) and, if the venv's bundled librdkafka exists,
# rdkafka_perf_216; see tools/rdkafka-perf/Makefile.
make -s -C tools/rdkafka-perf OUT="$ROOT/target/rdkafka-perf" all
BROKER_BIN=$ROOT/target/release/odradek-broker
PERF=$ROOT/target/release/odradek-perf
RDPERFS=()
if [[ $RDKAFKA == all ]]; then
    for b in "$ROOT"/target/rdkafka-perf/rdkafka_perf "$ROOT"/target/rdkafka-perf/rdkafka_perf_[0-9]*; do
        [[ -x $b ]] && RDPERFS+=("$b")
    done
else
    for b in $RDKAFKA; do RDPERFS+=("$ROOT/target/rdkafka-perf/$b"); done
fi
# "librdkafka 2.0.2" for each binary, for the phase names.
rdversion() { "$1" -V | sed 's/^librdkafka //'; }
log "rdkafka_perf variants: $(for b in "${RDPERFS[@]}"; do printf '%s (librdkafka %s) ' "$(basename "$b")" "$(rdversion "$b")"; done)"

DATA=$(mktemp -d "${TMPDIR:-/tmp}/odradek-bench.XXXXXX")
BROKER_PID=""
cleanup() {
    if [[ -n $BROKER_PID ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BOOT=127.0.0.1:$PORT
overrides=(--override broker.id=0 --override "listeners=PLAINTEXT://127.0.0.1:$PORT" --override "log.dirs=$DATA/logs")
for kv in $BROKER_OVERRIDES; do overrides+=(--override "$kv"); done
log "starting $BROKER_BIN on $BOOT (log.dirs=$DATA/logs)"
"$BROKER_BIN" "${overrides[@]}" >"$OUT/broker.stdout" 2>"$OUT/broker.stderr" &
BROKER_PID=$!
for _ in $(seq 300); do
    grep -q "listening on" "$OUT/broker.stdout" 2>/dev/null && break
    kill -0 "$BROKER_PID" 2>/dev/null || { log "broker exited:"; tail -20 "$OUT/broker.stderr" >&2; exit 1; }
    sleep 0.1
done
grep -q "listening on" "$OUT/broker.stdout" || { log "broker not ready after 30 s"; exit 1; }

for t in perf-acks1 perf-acksall perf-rdkafka perf-rdkafka-batch perf-small; do
    "$PERF" create-topic --bootstrap "$BOOT" --broker-id 0 --topic "$t" --partitions "$PARTITIONS" >&2
done

TICK=$(getconf CLK_TCK)
broker_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$BROKER_PID/stat"; }
# Busy ticks of the whole machine (user+nice+system+irq+softirq+steal): minus the broker and the
# client, what is left is somebody else's load competing for the same cores during the phase.
machine_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
broker_hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$BROKER_PID/status"; }

ROWS=()
FAILED=0
# phase NAME RECORDS COMMAND... : runs the command, samples broker CPU around it, adds a row.
phase() {
    local name=$1 records=$2
    shift 2
    local raw="$OUT/$(echo "$name" | tr ' /=' '___' | tr -d '()').txt"
    log "phase: $name"
    log "  \$ $*"
    local prof_pid=""
    if [[ $PROFILE == 1 && ( $name == *"produce acks=1"* && $name == odradek* || $name == *"odradek-perf consume"* ) ]]; then
        perf record -q -F 1999 -g -p "$BROKER_PID" -o "$raw.perf.data" 2>/dev/null &
        prof_pid=$!
        sleep 0.3
    fi
    local cpu0 cpu1 busy0 busy1 status=0
    cpu0=$(broker_cpu_ticks)
    busy0=$(machine_busy_ticks)
    /usr/bin/time -f "client: %U s user, %S s sys, %M KiB max RSS" -o "$raw.time" \
        timeout $((PHASE_TIMEOUT + 15)) "$@" >"$raw" 2>&1 || status=$?
    cpu1=$(broker_cpu_ticks)
    busy1=$(machine_busy_ticks)
    if [[ -n $prof_pid ]]; then
        kill -INT "$prof_pid" 2>/dev/null || true
        wait "$prof_pid" 2>/dev/null || true
        perf report -i "$raw.perf.data" --stdio --no-children --sort sym -G --percent-limit 3 2>/dev/null \
            | grep -v '^$' | head -150 >"$raw.perf.txt" || true
        perf report -i "$raw.perf.data" --stdio --no-children --sort dso,sym -g none --percent-limit 0.7 2>/dev/null \
            | grep -E '^ +[0-9]' | head -40 >"$raw.perf.flat.txt" || true
    fi
    tail -3 "$raw" >&2
    [[ $status == 0 ]] || { FAILED=1; log "  FAILED (exit $status)"; }
    local final rps mbs lat cpu cpu_per_m
    final=$( (grep -E 'records (sent|delivered|consumed)' "$raw" | grep -E ' in |, [0-9.]+ ms avg' | tail -1) || true)
    [[ -n $final ]] || final=$(tail -1 "$raw")
    rps=$(grep -oE '[0-9.]+ records/sec' <<<"$final" | head -1 | cut -d' ' -f1 || true)
    mbs=$(grep -oE '\([0-9.]+ MB/sec' <<<"$final" | head -1 | tr -d '(' | cut -d' ' -f1 || true)
    lat=""
    local label
    for label in avg max 50th 95th 99th 99.9th; do
        local v
        v=$(grep -oE "[0-9.]+ ms $label" <<<"$final" | head -1 | cut -d' ' -f1 || true)
        if [[ -n $v ]]; then lat+="${lat:+, }${label/th/} $v"; fi
    done
    cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
    local client other
    client=$(awk '{ gsub(/[^0-9. ]/, " "); print $1 + $2 }' "$raw.time" 2>/dev/null || echo 0)
    other=$(awk -v a="$busy0" -v b="$busy1" -v t="$TICK" -v br="$cpu" -v cl="$client" \
        'BEGIN { o = (b - a) / t - br - cl; if (o < 0) o = 0; printf "%.2f", o }')
    local done_records
    done_records=$( (grep -oE '^[0-9]+ records (sent|delivered|consumed)' <<<"$final" | cut -d' ' -f1) || true)
    done_records=${done_records:-0}
    cpu_per_m=$(awk -v c="$cpu" -v n="$done_records" 'BEGIN { if (n > 0) printf "%.2f", c / (n / 1e6); else print "-" }')
    local secs
    secs=$( (grep -oE '(records (delivered|consumed)|produce requests) in [0-9.]+ s' "$raw" | tail -1 | grep -oE '[0-9.]+ s$' | cut -d' ' -f1) || true)
    ROWS+=("| $name | ${done_records}/${records} | ${secs:-?} | ${rps:-?} | ${mbs:-?} | ${lat:--} | $cpu | $cpu_per_m | $client | $other | \`$(basename "$1") ${*:2}\` |")
}

want() { [[ " $PHASES " == *" $1 "* ]]; }

want 1 && phase "odradek-perf produce acks=1" "$RECORDS" "$PERF" produce --bootstrap "$BOOT" --topic perf-acks1 \
    --records "$RECORDS" --record-size "$RECORD_SIZE" --acks 1 --batch-size 1MiB --max-in-flight "$MAX_IN_FLIGHT" \
    --timeout-secs "$PHASE_TIMEOUT" "${PRODUCE_VERSION_ARGS[@]}"
want 2 && phase "odradek-perf produce acks=-1" "$RECORDS" "$PERF" produce --bootstrap "$BOOT" --topic perf-acksall \
    --records "$RECORDS" --record-size "$RECORD_SIZE" --acks -1 --batch-size 1MiB --max-in-flight "$MAX_IN_FLIGHT" \
    --timeout-secs "$PHASE_TIMEOUT" "${PRODUCE_VERSION_ARGS[@]}"
if want 3; then
    for rd in "${RDPERFS[@]}"; do
        phase "rdkafka_perf produce acks=1 (librdkafka $(rdversion "$rd"))" "$RECORDS" "$rd" -P -b "$BOOT" -t perf-rdkafka \
            -c "$RECORDS" -s "$RECORD_SIZE" -a 1 -B 1000000 -N 100000 -l "$LINGER_MS" -T "$PHASE_TIMEOUT"
    done
fi
if want 4; then
    phase "odradek-perf consume" "$RECORDS" "$PERF" consume --bootstrap "$BOOT" --topic perf-acks1 \
        --records "$RECORDS" --timeout-secs "$PHASE_TIMEOUT" "${FETCH_VERSION_ARGS[@]}"
fi
if want 5; then
    for rd in "${RDPERFS[@]}"; do
        phase "rdkafka_perf consume (librdkafka $(rdversion "$rd"))" "$RECORDS" "$rd" -C -b "$BOOT" -t perf-acks1 \
            -c "$RECORDS" -T "$PHASE_TIMEOUT"
    done
fi
want 6 && phase "odradek-perf produce acks=1 16KiB" "$RECORDS" "$PERF" produce --bootstrap "$BOOT" --topic perf-small \
    --records "$RECORDS" --record-size "$RECORD_SIZE" --acks 1 --batch-size 16KiB --max-in-flight "$MAX_IN_FLIGHT" \
    --timeout-secs "$PHASE_TIMEOUT" "${PRODUCE_VERSION_ARGS[@]}"
if want 7; then
    for rd in "${RDPERFS[@]}"; do
        phase "rdkafka_perf produce acks=1 produce_batch (librdkafka $(rdversion "$rd"))" "$RECORDS" "$rd" -P -b "$BOOT" \
            -t perf-rdkafka-batch -c "$RECORDS" -s "$RECORD_SIZE" -a 1 -B 1000000 -N 100000 -l "$LINGER_MS" \
            -K "$RDKAFKA_BATCH" -p "$PARTITIONS" -T "$PHASE_TIMEOUT"
    done
fi

HWM=$(broker_hwm_kib)
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
    echo "## Odradek benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) cores ($CPU_MODEL), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), log dir on $(df -P "$DATA" | awk 'NR == 2 { print $1 }')"
    echo "- broker: \`target/release/odradek-broker\` at $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty tree)'), ${PARTITIONS} partitions per topic, RF 1, loopback, client and broker share the machine"
    echo "- workload: ${RECORDS} records of ${RECORD_SIZE} bytes (keyless) per phase; MB = MiB of record payload (odradek-perf consume: MiB of whole record batches)"
    echo "- broker peak RSS (VmHWM): $((HWM / 1024)) MiB; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- \"other load\": machine busy CPU during the phase minus broker and client; non-zero means something else shared the cores"
    echo
    echo "| phase | records | s | records/s | MB/s | latency ms (odradek-perf: per request; librdkafka: per record) | broker CPU s | broker CPU s / M records | client CPU s | other load CPU s | command |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    if [[ $PROFILE == 1 ]]; then
        for f in "$OUT"/*.perf.flat.txt; do
            [[ -s $f ]] || continue
            echo
            echo "### broker profile: $(basename "$f" .txt.perf.flat.txt) (perf record -F 1999 -g, self time)"
            echo
            echo '```'
            cat "$f"
            echo '```'
        done
    fi
} | tee "$OUT/summary.md"
log "raw output in $OUT"
exit "$FAILED"
