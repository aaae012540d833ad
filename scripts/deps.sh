#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Install the Debian packages concbench needs, if any are missing.
# As root it runs apt-get; otherwise it prints the exact apt-get line and
# fails, so nothing is ever half-installed behind the user's back.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config   # the build
    libhwloc-dev hwloc                 # topology and pinning
    libjemalloc-dev                    # the allocator concbench links
    python3 python3-pytest python3-hypothesis python3-yaml  # the test harness
    python3-scipy python3-jsonschema   # oracles: U-test p-values, the results schema
    gnuplot-nox                        # plots
    hyperfine                          # whole-process timing
    valgrind                           # memcheck and callgrind runs
    clang                              # libFuzzer (scripts/fuzz.sh)
)
# The real systems run beside the models (peers/): a few hundred MB.
# CONCBENCH_NO_PEERS=1 skips them; their cells then say "not installed".
if [ "${CONCBENCH_NO_PEERS:-0}" != 1 ]; then
    PACKAGES+=(
        erlang-base                    # peers/beam: erl, erlc
        golang-go                      # peers/go: stdlib only, no network
        openjdk-17-jdk-headless        # peers/jvm: javac, java
        clojure libcore-async-clojure  # peers/core.async (Debian's jars)
    )
fi

# The talk report's browser check (tests/test_talk_report.py loads
# report.html in headless Chromium): about 300 MB.  CONCBENCH_NO_BROWSER=1
# skips it; that test is then skipped with the reason.
if [ "${CONCBENCH_NO_BROWSER:-0}" != 1 ]; then
    PACKAGES+=(chromium)
fi

# A one-node Slurm for tests/test_slurm.py (started and stopped by the
# test, as root).  CONCBENCH_NO_SLURM=1 skips it; the test then skips.
if [ "${CONCBENCH_NO_SLURM:-0}" != 1 ]; then
    PACKAGES+=(slurmctld slurmd slurm-client munge)
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "concbench: missing Debian packages; as root, run:" >&2
    echo "  apt-get update && $line" >&2
    exit 1
fi
echo "concbench: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
