#!/usr/bin/env bash
# The images docker-compose.yml runs, built without a container registry: a Debian bookworm base
# made with debootstrap from Debian's apt repositories and `docker import`ed, then the ZooKeeper
# and broker images on top of it (docs/DOCKER.md).
#
#   scripts/docker-images.sh base                  odradek/debian-base:bookworm (debootstrap +
#                                                  docker import) unless the image exists
#   scripts/docker-images.sh build [--broker-bin PATH]
#                                                  base if missing, then odradek/zookeeper:dev and
#                                                  odradek/broker:dev (always rebuilt)
#   scripts/docker-images.sh ensure [--broker-bin PATH]
#                                                  build only the images that are missing, and
#                                                  the broker's when built from another binary
#   scripts/docker-images.sh clean                 remove the three images and the cached rootfs
#
# The broker image is docker/broker/Dockerfile.prebuilt: it copies a binary built on this host
# (Debian bookworm, the same glibc as the image). The binary is --broker-bin PATH, else
# $ODRADEK_BROKER_BIN, else target/release/odradek-broker (built with cargo if missing). On a
# machine with a registry, `docker-compose build` builds it from source instead
# (docker/broker/Dockerfile, a rust:bookworm build stage).
#
# The debootstrap root holds everything both images run (zookeeper, a JRE, procps, netcat), so
# neither Dockerfile needs the network here. Its tarball is cached under .odradek/docker/ (ignored
# by git), so rebuilding the base after `docker rmi` or on a second checkout's engine is a quick
# import. Concurrent callers (two tests at once) are serialised with flock on
# .odradek/docker/lock.
#
# Environment: ODRADEK_BROKER_BIN (the broker binary), ODRADEK_DEBIAN_MIRROR (default
# http://deb.debian.org/debian), ODRADEK_DOCKER_LOCK_TIMEOUT (seconds to wait for the lock,
# default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

BASE_IMAGE=odradek/debian-base:bookworm
ZK_IMAGE=odradek/zookeeper:dev
BROKER_IMAGE=odradek/broker:dev
CACHE_DIR="$REPO/.odradek/docker"
# What the base holds; changing the list changes the tarball's name, so a stale cache is not used.
BASE_PACKAGES=zookeeper,default-jre-headless,procps,netcat-openbsd,ca-certificates
BASE_TAG_LABEL="odradek.base.packages=$BASE_PACKAGES"
ROOTFS_TAR="$CACHE_DIR/debian-bookworm-$(printf %s "$BASE_PACKAGES" | md5sum | cut -c1-8).tar"
BINARY_LABEL=odradek.broker.binary.sha256
MIRROR="${ODRADEK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
LOCK_TIMEOUT="${ODRADEK_DOCKER_LOCK_TIMEOUT:-1200}"

log() { echo "docker-images: $*" >&2; }
die() { echo "docker-images: $*" >&2; exit 1; }
usage() { echo "usage:" >&2; sed -n '6,15s/^# \{0,1\}//p' "$0" >&2; exit 2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

require_docker() {
    command -v docker >/dev/null 2>&1 || die "docker is not installed"
    docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (docker info failed)"
}

# --- the base: debootstrap + docker import ------------------------------------------------------------
make_rootfs_tar() {
    [ -f "$ROOTFS_TAR" ] && return 0
    if ! command -v debootstrap >/dev/null 2>&1 && [ ! -x /usr/sbin/debootstrap ]; then
        log "apt-get install debootstrap"
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get update -q
        as_root apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 debootstrap
    fi
    local root="$CACHE_DIR/rootfs.tmp" started=$SECONDS
    as_root rm -rf "$root"
    mkdir -p "$CACHE_DIR"
    log "debootstrap bookworm ($BASE_PACKAGES) from $MIRROR into $root"
    as_root env PATH="/usr/sbin:/sbin:$PATH" debootstrap --variant=minbase --include="$BASE_PACKAGES" \
        bookworm "$root" "$MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE_DIR/debootstrap.log" >&2; die "debootstrap failed; see $CACHE_DIR/debootstrap.log"; }
    # What an image needs no copy of: downloaded .debs, apt lists, docs.
    as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
    log "debootstrap took $((SECONDS - started))s; packing $ROOTFS_TAR"
    as_root tar -C "$root" --numeric-owner -cf "$ROOTFS_TAR.tmp" .
    as_root chown "$(id -u):$(id -g)" "$ROOTFS_TAR.tmp"
    mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    as_root rm -rf "$root"
}

cmd_base() {
    image_exists "$BASE_IMAGE" && return 0
    make_rootfs_tar
    log "docker import $ROOTFS_TAR as $BASE_IMAGE"
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "LABEL $BASE_TAG_LABEL" \
        --change 'CMD ["/bin/bash"]' \
        "$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null
}

# --- the two images ---------------------------------------------------------------------------------------
build_zookeeper() {
    log "docker build $ZK_IMAGE (FROM $BASE_IMAGE)"
    docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$ZK_IMAGE" docker/zookeeper >/dev/null
}

broker_bin() {
    local bin="${BROKER_BIN:-${ODRADEK_BROKER_BIN:-}}"
    if [ -z "$bin" ]; then
        bin="$REPO/target/release/odradek-broker"
        if [ ! -x "$bin" ]; then
            log "cargo build --release --bin odradek-broker"
            cargo build --release -q --bin odradek-broker >&2
        fi
    fi
    [ -x "$bin" ] || die "no broker binary at $bin (--broker-bin / ODRADEK_BROKER_BIN)"
    echo "$bin"
}

build_broker() {
    local bin context
    bin="$(broker_bin)"
    # A context of two files: the repository (target/ is gigabytes) is never sent to the daemon.
    context="$(mktemp -d "$CACHE_DIR/broker-context.XXXXXX")"
    # shellcheck disable=SC2064 # expand now: the trap must remove this context
    trap "rm -rf '$context'" RETURN
    cp docker/broker/Dockerfile.prebuilt "$context/"
    cp "$bin" "$context/odradek-broker"
    log "docker build $BROKER_IMAGE (FROM $BASE_IMAGE, binary $bin)"
    docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -f "$context/Dockerfile.prebuilt" \
        --label "$BINARY_LABEL=$(binary_sum "$bin")" -t "$BROKER_IMAGE" "$context" >/dev/null
}

binary_sum() { sha256sum "$1" | cut -c1-16; }

# The broker image was built from another binary than the one named explicitly (a test suite's
# fresh dev build): `ensure` rebuilds it, so a test never runs yesterday's broker.
broker_image_stale() {
    local bin="${BROKER_BIN:-${ODRADEK_BROKER_BIN:-}}" built
    [ -n "$bin" ] || return 1
    [ -f "$bin" ] || die "no broker binary at $bin (--broker-bin / ODRADEK_BROKER_BIN)"
    built="$(docker image inspect -f "{{index .Config.Labels \"$BINARY_LABEL\"}}" "$BROKER_IMAGE")"
    [ "$built" != "$(binary_sum "$bin")" ]
}

# --- commands -----------------------------------------------------------------------------------------------
with_lock() {
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/lock"
    flock -w "$LOCK_TIMEOUT" 9 || die "another docker-images.sh held $CACHE_DIR/lock for ${LOCK_TIMEOUT}s"
    "$@"
}

parse_build_args() {
    BROKER_BIN=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --broker-bin) [ $# -ge 2 ] || usage; BROKER_BIN="$2"; shift 2 ;;
            --broker-bin=*) BROKER_BIN="${1#*=}"; shift ;;
            *) usage ;;
        esac
    done
    if [ -n "$BROKER_BIN" ]; then BROKER_BIN="$(realpath "$BROKER_BIN")"; fi
}

do_build() {
    local started=$SECONDS
    cmd_base
    build_zookeeper
    build_broker
    log "images $BASE_IMAGE, $ZK_IMAGE, $BROKER_IMAGE ready in $((SECONDS - started))s"
}

do_ensure() {
    local started=$SECONDS built=()
    image_exists "$BASE_IMAGE" || { cmd_base; built+=("$BASE_IMAGE"); }
    image_exists "$ZK_IMAGE" || { build_zookeeper; built+=("$ZK_IMAGE"); }
    if ! image_exists "$BROKER_IMAGE" || broker_image_stale; then
        build_broker
        built+=("$BROKER_IMAGE")
    fi
    [ "${#built[@]}" -eq 0 ] || log "built ${built[*]} in $((SECONDS - started))s"
}

do_clean() {
    local image
    for image in "$BROKER_IMAGE" "$ZK_IMAGE" "$BASE_IMAGE"; do
        image_exists "$image" && docker rmi "$image" >/dev/null && log "removed $image"
    done
    rm -f "$CACHE_DIR"/debian-bookworm-*.tar
}

[ $# -ge 1 ] || usage
command="$1"; shift
case "$command" in
    base) [ $# -eq 0 ] || usage; require_docker; with_lock cmd_base ;;
    build) parse_build_args "$@"; require_docker; with_lock do_build ;;
    ensure) parse_build_args "$@"; require_docker; with_lock do_ensure ;;
    clean) [ $# -eq 0 ] || usage; require_docker; with_lock do_clean ;;
    *) usage ;;
esac
