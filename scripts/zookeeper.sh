#!/usr/bin/env bash
# A 3-node ZooKeeper 3.8 ensemble on loopback, from Debian's `zookeeper` package: what the cluster
# tests and the local cluster coordinate through, as Kafka 2.8 brokers do.
#
#   scripts/zookeeper.sh install                  apt-get install zookeeper unless it is there
#   scripts/zookeeper.sh start DIR [BASE_PORT]    start zk1..zk3 under DIR, wait for a leader and
#                                                 two followers, print the connect string
#   scripts/zookeeper.sh status DIR               each node's mode (leader, follower, down, ...);
#                                                 exits 1 unless a quorum (2 of 3) serves
#   scripts/zookeeper.sh stop DIR                 stop every node (TERM, then KILL); idempotent
#   scripts/zookeeper.sh stop-node DIR N          stop node N (1..3) only
#   scripts/zookeeper.sh start-node DIR N         start node N again and wait until it serves
#   scripts/zookeeper.sh connect-string DIR       print 127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#   scripts/zookeeper.sh cli DIR [--node N] ARGS  zkCli.sh against the ensemble (or node N only);
#                                                 with ARGS, one command with zkCli's connection
#                                                 chatter removed, e.g. `cli DIR get /controller`
#
# Layout: DIR/zkN/ holds zoo.cfg, data/ (with myid), zookeeper.log (the JVM's output) and
# zookeeper.pid. A restart on the same DIR keeps the data, so the ensemble's znodes survive.
#
# Ports, from BASE_PORT (default 2181): client ports BASE..BASE+2, quorum (peer) ports
# BASE+1000..BASE+1002, leader-election ports BASE+2000..BASE+2002, all on 127.0.0.1 (by default
# 2181-2183, 3181-3183 and 4181-4183).
#
# The nodes run `java ... QuorumPeerMain zoo.cfg` directly: the package's own zkServer.sh targets a
# single system service. The classpath is the one the package's zkEnv.sh uses plus the slf4j->log4j
# binding, without which ZooKeeper logs nothing at all (SLF4J falls back to NOP) and a node that
# dies leaves no reason behind.
#
# Environment: ODRADEK_ZK_JVMFLAGS (JVM flags for the nodes), ODRADEK_ZK_START_TIMEOUT (seconds
# `start`/`start-node` wait for the quorum, default 60), ODRADEK_ZK_STOP_TIMEOUT (seconds between
# TERM and KILL, default 5).
set -euo pipefail

ZK_JAR=/usr/share/java/zookeeper.jar
ZK_CONF_DIR=/etc/zookeeper/conf
ZK_CLI=/usr/share/zookeeper/bin/zkCli.sh
LOG_JARS=(/usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar)
MAIN_CLASS=org.apache.zookeeper.server.quorum.QuorumPeerMain
NODES=(1 2 3)
DEFAULT_BASE_PORT=2181
# Three JVMs per ensemble, and tests start ensembles side by side on 2 cores: a small heap, the
# serial collector and C1 only keep each node at a fraction of a core and ~100 MB.
JVMFLAGS="${ODRADEK_ZK_JVMFLAGS:--Xms16m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
START_TIMEOUT="${ODRADEK_ZK_START_TIMEOUT:-60}"
STOP_TIMEOUT="${ODRADEK_ZK_STOP_TIMEOUT:-5}"

log() { echo "zookeeper: $*" >&2; }
die() { echo "zookeeper: $*" >&2; exit 1; }
usage() { echo "usage:" >&2; sed -n '5,16s/^# \{0,1\}//p' "$0" >&2; exit 2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- install ----------------------------------------------------------------------------------------
cmd_install() {
    [ -f "$ZK_JAR" ] && return 0
    log "apt-get install zookeeper"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends zookeeper
}

require_installed() {
    command -v java >/dev/null 2>&1 || die "java is not on PATH: run scripts/zookeeper.sh install"
    [ -f "$ZK_JAR" ] || die "ZooKeeper is not installed ($ZK_JAR is missing): run scripts/zookeeper.sh install"
}

# --- the ensemble's layout ----------------------------------------------------------------------------
node_dir() { echo "$1/zk$2"; }
cfg_of() { echo "$1/zk$2/zoo.cfg"; }
pidfile_of() { echo "$1/zk$2/zookeeper.pid"; }
logfile_of() { echo "$1/zk$2/zookeeper.log"; }

client_port() { echo $(($1 + $2 - 1)); }
peer_port() { echo $(($1 + 1000 + $2 - 1)); }
election_port() { echo $(($1 + 2000 + $2 - 1)); }

require_ensemble() {
    local dir=$1 n
    for n in "${NODES[@]}"; do
        [ -f "$(cfg_of "$dir" "$n")" ] || die "no ensemble in $dir ($(cfg_of "$dir" "$n") is missing); run start first"
    done
}

require_node() {
    case "$1" in 1 | 2 | 3) ;; *) die "node must be 1, 2 or 3, not '$1'" ;; esac
}

# The client port node N's zoo.cfg names: the config is the one record of the ports.
cfg_client_port() {
    local port
    port="$(sed -n 's/^clientPort=\([0-9]*\)$/\1/p' "$(cfg_of "$1" "$2")")"
    [ -n "$port" ] || die "$(cfg_of "$1" "$2") names no clientPort"
    echo "$port"
}

connect_string() {
    local dir=$1 n hosts=()
    for n in "${NODES[@]}"; do hosts+=("127.0.0.1:$(cfg_client_port "$dir" "$n")"); done
    (IFS=,; echo "${hosts[*]}")
}

write_cfg() {
    local dir=$1 base=$2 n=$3 m
    local ndir
    ndir="$(node_dir "$dir" "$n")"
    mkdir -p "$ndir/data"
    echo "$n" >"$ndir/data/myid"
    {
        echo "# Written by scripts/zookeeper.sh: node $n of a 3-node ensemble on loopback."
        # 500 ms ticks: ZooKeeper checks session expiry once per tick, rounding a dead broker's
        # session end up to the next tick, so a short tick keeps failover close to the session
        # timeout (with 2 s ticks it came 0.6-1.7 s late; docs/BENCHMARKS.md). Sessions
        # negotiate between 2 ticks and maxSessionTimeout: Kafka's default
        # zookeeper.session.timeout.ms=18000 is granted as asked, and a test may ask for 1 s.
        # initLimit/syncLimit are in ticks: 10 s and 5 s, as with the usual 2 s x 5 and 2 s x 2.5.
        echo "tickTime=500"
        echo "maxSessionTimeout=40000"
        echo "initLimit=20"
        echo "syncLimit=10"
        echo "dataDir=$ndir/data"
        echo "clientPort=$(client_port "$base" "$n")"
        echo "clientPortAddress=127.0.0.1"
        # Every client of a loopback ensemble comes from 127.0.0.1; the default cap of 60
        # connections per address would turn away a busy test's brokers and tools.
        echo "maxClientCnxns=0"
        # Without this each node starts Jetty on port 8080.
        echo "admin.enableServer=false"
        # srvr/ruok/stat/mntr for health checks and tests.
        echo "4lw.commands.whitelist=*"
        for m in "${NODES[@]}"; do
            echo "server.$m=127.0.0.1:$(peer_port "$base" "$m"):$(election_port "$base" "$m")"
        done
    } >"$(cfg_of "$dir" "$n")"
}

# --- processes ------------------------------------------------------------------------------------------
# The pid of node N if it runs: the pid file names a live, non-zombie process whose command line
# holds this node's zoo.cfg (so a recycled pid is never mistaken for the node, or killed).
node_pid() {
    local dir=$1 n=$2 pidfile pid stat cmdline
    pidfile="$(pidfile_of "$dir" "$n")"
    [ -f "$pidfile" ] || return 1
    pid="$(cat "$pidfile" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    # The state is the field after "(comm)". A zombie has exited but may not be reaped yet;
    # but a JVM whose main thread has returned also shows its thread-group leader as Z while its
    # shutdown threads still run (and still hold the ports), with an empty cmdline. It is gone
    # only when no other thread is left.
    if [[ "${stat##*) }" == Z* ]]; then
        [ "$(ls "/proc/$pid/task" 2>/dev/null | wc -l)" -gt 1 ] || return 1
        echo "$pid"
        return 0
    fi
    cmdline="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    grep -qxF "$(cfg_of "$dir" "$n")" <<<"$cmdline" || return 1
    echo "$pid"
}

launch_node() {
    local dir=$1 n=$2 ndir cp jar
    ndir="$(node_dir "$dir" "$n")"
    cp="$ZK_CONF_DIR:$ZK_JAR"
    for jar in "${LOG_JARS[@]}"; do [ -f "$jar" ] && cp="$cp:$jar"; done
    echo "==== scripts/zookeeper.sh: starting zk$n at $(date -u +%FT%TZ) ====" >>"$(logfile_of "$dir" "$n")"
    # Not setsid: the JVM stays in the caller's process group, so a test runner that kills a
    # timed-out test's group takes the ensemble with it. nohup: a closed terminal does not.
    # shellcheck disable=SC2086
    nohup java $JVMFLAGS \
        -Dzookeeper.log.dir="$ndir" -Dzookeeper.root.logger=INFO,CONSOLE \
        -cp "$cp" "$MAIN_CLASS" "$(cfg_of "$dir" "$n")" \
        </dev/null >>"$(logfile_of "$dir" "$n")" 2>&1 &
    echo $! >"$(pidfile_of "$dir" "$n")"
}

# Stops the given nodes of DIR: TERM to all of them at once (one at a time, the survivors would
# hold an election after each), KILL to any still running STOP_TIMEOUT seconds later. Returns once
# every process is gone.
stop_nodes() {
    local dir=$1 n pid deadline running=()
    shift
    for n in "$@"; do
        if pid="$(node_pid "$dir" "$n")"; then
            kill -TERM "$pid" 2>/dev/null || true
            running+=("$n:$pid")
        else
            rm -f "$(pidfile_of "$dir" "$n")"
        fi
    done
    deadline=$((SECONDS + STOP_TIMEOUT))
    local signal=TERM entry left
    while [ "${#running[@]}" -gt 0 ]; do
        left=()
        for entry in "${running[@]}"; do
            n=${entry%%:*} pid=${entry#*:}
            if node_pid "$dir" "$n" >/dev/null; then
                left+=("$entry")
            else
                rm -f "$(pidfile_of "$dir" "$n")"
                log "stopped zk$n (pid $pid)"
            fi
        done
        running=("${left[@]+"${left[@]}"}")
        [ "${#running[@]}" -gt 0 ] || break
        if [ "$SECONDS" -ge "$deadline" ]; then
            [ "$signal" = TERM ] || die "$(printf 'zk%s ' "${running[@]%%:*}")survived KILL"
            for entry in "${running[@]}"; do
                log "zk${entry%%:*} (pid ${entry#*:}) still runs ${STOP_TIMEOUT}s after TERM; sending KILL"
                kill -KILL "${entry#*:}" 2>/dev/null || true
            done
            signal=KILL
            deadline=$((SECONDS + 10))
        fi
        sleep 0.1
    done
}

# Sends a four-letter word to 127.0.0.1:PORT and prints the reply (fails if nothing listens).
four_letter_word() {
    # shellcheck disable=SC2016 # $1 and $2 are the inner bash's arguments
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf %s "$2" >&3 && cat <&3' _ "$1" "$2" 2>/dev/null
}

# Something accepts connections on 127.0.0.1:PORT.
port_in_use() {
    # shellcheck disable=SC2016
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Node N's mode: leader, follower or standalone from `srvr`; "not-serving" when it runs but has no
# quorum yet; "down" when its process is gone.
node_mode() {
    local dir=$1 n=$2 reply mode
    node_pid "$dir" "$n" >/dev/null || { echo down; return; }
    reply="$(four_letter_word "$(cfg_client_port "$dir" "$n")" srvr)" || { echo not-serving; return; }
    mode="$(sed -n 's/^Mode: //p' <<<"$reply")"
    echo "${mode:-not-serving}"
}

# The lines of node N's log that say why it stopped, for error messages.
why_down() {
    local logfile
    logfile="$(logfile_of "$1" "$2")"
    if grep -q 'Address already in use' "$logfile" 2>/dev/null; then
        echo "a port is in use (Address already in use); see $logfile"
    else
        echo "see $logfile: $(grep -E 'ERROR|Exception' "$logfile" 2>/dev/null | tail -n 1 | cut -c1-200)"
    fi
}

# Waits until every node in NODES_TO_WAIT is leader or follower, or fails with the reason.
wait_serving() {
    local dir=$1; shift
    local deadline=$((SECONDS + START_TIMEOUT)) n mode pending
    while :; do
        pending=()
        for n in "$@"; do
            mode="$(node_mode "$dir" "$n")"
            case "$mode" in
                leader | follower) ;;
                down) log "zk$n exited while starting: $(why_down "$dir" "$n")"; return 1 ;;
                *) pending+=("zk$n: $mode") ;;
            esac
        done
        [ "${#pending[@]}" -eq 0 ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "no quorum within ${START_TIMEOUT}s (${pending[*]}); logs in $dir/zk*/zookeeper.log"
            return 1
        fi
        sleep 0.25
    done
}

# --- commands -------------------------------------------------------------------------------------------
cmd_start() {
    [ $# -ge 1 ] && [ $# -le 2 ] || usage
    local dir=$1 base=${2:-$DEFAULT_BASE_PORT} n pid port what
    require_installed
    [[ "$base" =~ ^[0-9]+$ ]] && [ "$base" -ge 1024 ] && [ "$base" -le 63000 ] \
        || die "BASE_PORT must be a number from 1024 to 63000, not '$base'"
    for n in "${NODES[@]}"; do
        if pid="$(node_pid "$dir" "$n")"; then
            die "an ensemble already runs in $dir (zk$n, pid $pid): run stop first"
        fi
    done
    for n in "${NODES[@]}"; do
        for what in client peer election; do
            port="$("${what}_port" "$base" "$n")"
            port_in_use "$port" && die "port $port on 127.0.0.1 (zk$n's $what port) is in use: stop what holds it or pass another BASE_PORT"
        done
    done
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    for n in "${NODES[@]}"; do write_cfg "$dir" "$base" "$n"; done
    for n in "${NODES[@]}"; do launch_node "$dir" "$n"; done
    if ! wait_serving "$dir" "${NODES[@]}"; then
        stop_nodes "$dir" "${NODES[@]}" 2>/dev/null
        die "the ensemble in $dir did not start (stopped what had started)"
    fi
    connect_string "$dir"
}

cmd_start_node() {
    [ $# -eq 2 ] || usage
    local dir=$1 n=$2 pid
    require_installed
    require_node "$n"
    require_ensemble "$dir"
    dir="$(cd "$dir" && pwd)"
    if pid="$(node_pid "$dir" "$n")"; then
        log "zk$n already runs (pid $pid)"
        return 0
    fi
    port_in_use "$(cfg_client_port "$dir" "$n")" \
        && die "port $(cfg_client_port "$dir" "$n") on 127.0.0.1 (zk$n's client port) is in use"
    launch_node "$dir" "$n"
    wait_serving "$dir" "$n" || die "zk$n in $dir did not rejoin the ensemble"
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    local dir=$1 n
    [ -d "$dir" ] || return 0
    dir="$(cd "$dir" && pwd)"
    stop_nodes "$dir" "${NODES[@]}"
}

cmd_stop_node() {
    [ $# -eq 2 ] || usage
    require_node "$2"
    [ -d "$1" ] || return 0
    stop_nodes "$(cd "$1" && pwd)" "$2"
}

cmd_status() {
    [ $# -eq 1 ] || usage
    local dir=$1 n mode serving=0
    require_ensemble "$dir"
    dir="$(cd "$dir" && pwd)"
    for n in "${NODES[@]}"; do
        mode="$(node_mode "$dir" "$n")"
        echo "zk$n 127.0.0.1:$(cfg_client_port "$dir" "$n") $mode"
        case "$mode" in leader | follower) serving=$((serving + 1)) ;; esac
    done
    [ "$serving" -ge 2 ]
}

cmd_connect_string() {
    [ $# -eq 1 ] || usage
    require_ensemble "$1"
    connect_string "$1"
}

# zkCli.sh prints "Connecting to ...", then, from its event thread, a WATCHER:: block for the
# SyncConnected event, on stdout around the command's own output. Drops exactly those lines.
strip_cli_chatter() {
    awk '
        NR == 1 && /^Connecting to / { next }
        /^$/ || /^WATCHER::$/ { pending = pending $0 "\n"; next }
        /^WatchedEvent state:SyncConnected type:None path:null$/ { pending = ""; next }
        { printf "%s", pending; pending = ""; print }
        END { printf "%s", pending }
    '
}

# 127.0.0.1:PORT of the first node that is leader or follower.
serving_node_address() {
    local dir=$1 n
    for n in "${NODES[@]}"; do
        case "$(node_mode "$dir" "$n")" in
            leader | follower) echo "127.0.0.1:$(cfg_client_port "$dir" "$n")"; return 0 ;;
        esac
    done
    return 1
}

cmd_cli() {
    [ $# -ge 1 ] || usage
    local dir=$1 server
    shift
    require_installed
    require_ensemble "$dir"
    if [ "${1:-}" = --node ]; then
        [ $# -ge 2 ] || usage
        require_node "$2"
        server="127.0.0.1:$(cfg_client_port "$dir" "$2")"
        shift 2
    elif [ $# -eq 0 ]; then
        server="$(connect_string "$dir")"
    else
        # One command, one connection attempt: zkCli fails a command queued while its first pick
        # from a connect string is down (ConnectionLoss), so go to a node that serves.
        server="$(serving_node_address "$dir")" \
            || die "no node of the ensemble in $dir serves: $(cmd_status "$dir" | paste -sd';' -)"
    fi
    export CLIENT_JVMFLAGS="${CLIENT_JVMFLAGS:--Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
    if [ $# -eq 0 ]; then
        exec "$ZK_CLI" -server "$server"
    fi
    # SLF4J's "no binding" notice is noise on stderr; zkCli's own errors stay.
    "$ZK_CLI" -server "$server" "$@" 2> >(grep -v '^SLF4J: ' >&2) | strip_cli_chatter
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    start-node) cmd_start_node "$@" ;;
    stop) cmd_stop "$@" ;;
    stop-node) cmd_stop_node "$@" ;;
    status) cmd_status "$@" ;;
    connect-string) cmd_connect_string "$@" ;;
    cli) cmd_cli "$@" ;;
    -h | --help | help) usage ;;
    *) log "unknown command '$command'"; usage ;;
esac
