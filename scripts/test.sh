#!/usr/bin/env bash
# Runs every test of the workspace, installing what the tests need first.
# Usage: scripts/test.sh            (as root on a fresh Debian machine, or as a user with the packages)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: keepalived and tcpdump for interop captures,
# tshark to dissect pcaps, iproute2 and nftables for the network-namespace lab,
# ipvsadm to compare listings with, and for the IPVS VM (this kernel has no
# IPVS): qemu-system-x86, busybox-static, cpio and kmod (netns-harness/src/vm);
# prometheus for promtool, which checks the metrics' text (tests/metrics.rs).
packages=(keepalived tcpdump tshark iproute2 nftables ipvsadm qemu-system-x86 busybox-static cpio kmod prometheus)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "not root: cannot install ${missing[*]}; tests that need them will say SKIPPED"
    fi
fi
# The VM downloads Debian's kernel package with apt-get: it needs package lists.
if [ "$(id -u)" -eq 0 ] && ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
    apt-get update -qq
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace
