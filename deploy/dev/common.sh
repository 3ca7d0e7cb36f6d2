# Sourced by run.sh and start-services.sh: what both need to know before starting anything.
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}
redis_port=$(sed -E 's#^redis://([^/]*@)?[^:/]+:([0-9]+).*#\2#; t; s#.*#6379#' <<< "$redis_url")
# Under systemd, libvirt's sockets start its daemons on demand: start them here only without it.
start_libvirt=$([ -d /run/systemd/system ] && echo no || echo yes)
if [ -e /dev/kvm ]; then chgrp kvm /dev/kvm && chmod 660 /dev/kvm; fi
