#!/usr/bin/env bash
# Runs a command where the kernel has IPVS: on this host if its kernel has
# it, else in a qemu VM booting Debian's kernel with this host's files
# (netns-harness/src/vm, cached under target/vm; the first run downloads
# the kernel). The command runs as root in the current directory.
# Usage: scripts/vm.sh [--timeout SECS] PROGRAM [ARGS...]
#   e.g. scripts/vm.sh sh -c 'ipvsadm -A -t 10.0.0.1:80 && ipvsadm -Ln'
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo build -q --manifest-path "$root/Cargo.toml" -p vigil-netns --bin vigil-vm
exec "${CARGO_TARGET_DIR:-$root/target}/debug/vigil-vm" "$@"
