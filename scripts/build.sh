#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# scripts/build.sh DIR [cmake options...]: configure (once) and build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
shift
cmake -S "$root" -B "$root/$dir" -DCB_WERROR=ON "$@" >/dev/null
cmake --build "$root/$dir" -j"$(nproc)" >/dev/null
