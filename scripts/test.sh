#!/usr/bin/env bash
# Runs every test of the workspace, installing what the tests need first.
# Usage: scripts/test.sh            (as root on a fresh Debian machine, or as a user with the packages)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: keepalived and tcpdump for interop captures,
# tshark to dissect pcaps, iproute2 and nftables for the network-namespace lab.
packages=(keepalived tcpdump tshark iproute2 nftables)
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

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace
