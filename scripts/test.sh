#!/usr/bin/env bash
# The one command that runs the whole test suite, on a fresh Debian machine too:
#   1. installs what the interop tests drive (scripts/install-deps.sh: kcat, the Python venv,
#      cargo-nextest);
#   2. builds every binary in the dev profile, the one nextest's tests are built in, and points the
#      tests at that broker (ODRADEK_BROKER_BIN), so no test runs cargo itself;
#   3. runs `cargo nextest run --workspace --profile ci` (see .config/nextest.toml). Extra
#      arguments go to nextest, e.g. `scripts/test.sh -E 'binary(interop_kcat)'`.
# The exit code is nextest's.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

cargo build --workspace --bins

target_dir="$(cargo metadata --no-deps --format-version 1 \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
export ODRADEK_BROKER_BIN="$target_dir/debug/odradek-broker"
export ODRADEK_VENV="${ODRADEK_VENV:-$PWD/.venv}"

exec cargo nextest run --workspace --profile ci "$@"
