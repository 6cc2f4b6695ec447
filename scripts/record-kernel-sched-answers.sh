#!/usr/bin/env bash
# Re-records core/tests/lvs_kernel_answers.txt from a real kernel: each
# recorded job (the file's own job lines and client lists) runs again
# against the kernel's IPVS, the host's if it has IPVS, else Debian's
# kernel in the VM (netns-harness/src/vm), and the real server the kernel
# picked for each connection replaces the recorded one. The test that does
# it is netns-harness/tests/ipvs_kernel/sched.rs; it still fails where the
# core's schedulers disagree with the kernel, after writing the file.
# Usage: scripts/record-kernel-sched-answers.sh   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/core/tests/lvs_kernel_answers.txt"
VIGIL_RECORD_SCHED_ANSWERS="$out" cargo test -p vigil-netns --test ipvs_kernel -- --nocapture
git diff --stat -- "$out"
