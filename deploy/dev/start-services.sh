#!/usr/bin/env bash
# Start, in the background, what tests need and this machine does not already run:
# Redis (unless reachable) and libvirtd (unless systemd runs it). Gives QEMU access to /dev/kvm.
set -euo pipefail
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}
redis_port=$(sed -E 's#^redis://([^/]*@)?[^:/]+:([0-9]+).*#\2#; t; s#.*#6379#' <<< "$redis_url")

if [ -e /dev/kvm ]; then
  chgrp kvm /dev/kvm && chmod 660 /dev/kvm
fi
# Under systemd, libvirt's sockets start its daemons on demand: start them here only without it.
if [ ! -d /run/systemd/system ]; then
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
