#!/bin/bash
# Healthy when this node serves clients as part of a quorum: `srvr` answers with a Mode of
# leader or follower (standalone for a one-node setup). A node that runs but has lost its quorum
# answers "This ZooKeeper instance is not currently serving requests" and is unhealthy.
exec 3<>/dev/tcp/127.0.0.1/2181 || exit 1
printf srvr >&3
grep -qE '^Mode: (leader|follower|standalone)' <&3
