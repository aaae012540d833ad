#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# scripts/prepare-peer.sh PEER_DIR CACHE_ROOT STAMP: compile one real
# system (peers/<system>/) at build time, as the runner would on its
# first run, into CACHE_ROOT/<system> (the build tree's peer-cache/, which
# the runner then uses: runner/peer.c), and touch STAMP when done.
#
# A build never fails here: a missing toolchain is skipped with its
# reason (no STAMP, so the next build looks again and picks up a
# toolchain installed since), and a failed compile says so and leaves the
# runner's own --prepare at the first run as the fallback.  The build
# runs this only when the system's sources changed since STAMP, so an up
# to date build costs nothing.
set -uo pipefail
dir=$1 root=$2 stamp=$3
name=$(basename "$dir")
if ! why=$("$dir/run" --check 2>&1); then
    echo "peers: $name skipped: ${why:-toolchain not installed} (its cells stay unsupported until it is installed)"
    rm -f "$stamp"
    exit 0
fi
mkdir -p "$root/$name"
start=$(date +%s)
if ! out=$(CONCBENCH_PEER_CACHE=$root/$name "$dir/run" --prepare 2>&1); then
    echo "peers: $name: preparing failed; the runner will try again at its first run:"
    printf '%s\n' "$out" | tail -n 5 | sed 's/^/peers:   /'
    rm -f "$stamp"
    exit 0
fi
echo "peers: $name prepared in $root/$name ($(($(date +%s) - start)) s)"
touch "$stamp"
