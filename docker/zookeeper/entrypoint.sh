#!/bin/bash
# One member of a ZooKeeper ensemble in the foreground: writes zoo.cfg from the environment, then
# execs QuorumPeerMain (as PID 1, so `docker stop` TERMs the JVM and `docker kill` kills it).
#
#   ZOO_MY_ID      this node's id (1..255), written to <data dir>/myid
#   ZOO_SERVERS    the ensemble, space-separated: "server.1=zk1:2888:3888 server.2=zk2:2888:3888 ..."
#                  (empty: a standalone server)
#   ZOO_TICK_TIME  ms per tick (default 500, as scripts/zookeeper.sh: session expiry is checked
#                  once per tick, so short ticks keep broker failover close to its session timeout)
#   ZOO_JVMFLAGS   JVM flags (default: a small heap, the serial collector, C1 only)
#
# The data dir /var/lib/zookeeper/data is a volume: `docker start` after `docker kill` keeps the
# znodes. Four-letter words (srvr, ruok, mntr) are enabled for the health check and for people.
set -euo pipefail

: "${ZOO_MY_ID:?ZOO_MY_ID must be set to the id of this node}"
SERVERS="${ZOO_SERVERS:-}"
TICK="${ZOO_TICK_TIME:-500}"
JVMFLAGS="${ZOO_JVMFLAGS:--Xms16m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
DATA_DIR=/var/lib/zookeeper/data
CONF=/run/zookeeper/zoo.cfg

mkdir -p "$DATA_DIR" "$(dirname "$CONF")"
echo "$ZOO_MY_ID" >"$DATA_DIR/myid"
{
    echo "# Written by zookeeper-entrypoint at $(date -u +%FT%TZ): node $ZOO_MY_ID."
    echo "tickTime=$TICK"
    # In ticks: 10 s and 5 s with 500 ms ticks. Sessions are granted up to 40 s.
    echo "initLimit=20"
    echo "syncLimit=10"
    echo "maxSessionTimeout=40000"
    echo "dataDir=$DATA_DIR"
    echo "clientPort=2181"
    # Containers share no address, but a busy test's clients may all come through one NAT.
    echo "maxClientCnxns=0"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=*"
    # The server.N line of this node names its own compose host name; bind the quorum and
    # election ports on every interface instead of that one address (the container may be
    # reconnected to the network with another).
    echo "quorumListenOnAllIPs=true"
    for server in $SERVERS; do echo "$server"; done
} >"$CONF"

cp=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar
# The slf4j->log4j binding: without it ZooKeeper logs nothing (SLF4J falls back to NOP).
for jar in /usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar; do
    [ -f "$jar" ] && cp="$cp:$jar"
done
echo "zookeeper-entrypoint: node $ZOO_MY_ID, ensemble: ${SERVERS:-standalone}" >&2
# shellcheck disable=SC2086 # JVMFLAGS is a list of flags
exec java $JVMFLAGS -Dzookeeper.log.dir=/var/log/zookeeper -Dzookeeper.root.logger=INFO,CONSOLE \
    -cp "$cp" org.apache.zookeeper.server.quorum.QuorumPeerMain "$CONF"
