#!/usr/bin/env bash
# Start, in the background, what tests need and this machine does not already run:
# Redis (unless reachable) and libvirtd (unless systemd runs it). Gives QEMU access to /dev/kvm.
set -euo pipefail
source "$(dirname "$0")/common.sh"
if [ "$start_libvirt" = yes ]; then
  if ! pgrep -x virtlogd >/dev/null; then virtlogd -d; fi
  if ! pgrep -x libvirtd >/dev/null; then
    libvirtd -d
    for _ in $(seq 50); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
  fi
fi
if ! redis-cli -u "$redis_url" ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no
  for _ in $(seq 50); do redis-cli -u "$redis_url" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
