#!/usr/bin/env bash
# Install the Debian 12 packages cardvm needs to build, test and demo.
# Idempotent: apt-get skips what is already installed.
set -euo pipefail
PKGS=(build-essential cmake pkg-config libtomcrypt-dev libpcsclite-dev pcscd pcsc-tools
      libcmocka-dev python3-pyscard opensc lua5.4 valgrind libsqlite3-dev sqlite3 libzip-dev
      python3-cryptography clang libjansson-dev zlib1g-dev libisal-dev help2man
      openjdk-17-jdk-headless)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq "${missing[@]}"
fi
