#!/usr/bin/env bash
# `make run`: the ASGI server, a Celery worker and beat, plus Redis and libvirtd when they are not
# already running, all in the foreground under honcho; Ctrl-C stops everything started here.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/dev/common.sh
procfile=data/Procfile.run
mkdir -p data
: > "$procfile"

if ! redis-cli -u "$redis_url" ping >/dev/null 2>&1; then
  echo "redis: redis-server --bind 127.0.0.1 --port $redis_port --save '' --appendonly no" >> "$procfile"
fi
if [ "$start_libvirt" = yes ]; then
  pgrep -x virtlogd >/dev/null || echo "virtlogd: virtlogd" >> "$procfile"
  pgrep -x libvirtd >/dev/null || echo "libvirtd: libvirtd" >> "$procfile"
fi
cat >> "$procfile" <<PROCS
web: .venv/bin/uvicorn webvirt.asgi:application --ws-per-message-deflate false --host 127.0.0.1 --port ${PORT:-8000}
worker: .venv/bin/celery -A webvirt worker --loglevel INFO --concurrency 2
beat: .venv/bin/celery -A webvirt beat --loglevel INFO --schedule data/celerybeat-schedule
watcher: .venv/bin/python manage.py watch_hosts
PROCS
echo "webvirt: http://127.0.0.1:${PORT:-8000}/"
exec .venv/bin/honcho -f "$procfile" -d . start
