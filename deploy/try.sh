#!/usr/bin/env bash
# `make run`: runs the daemon with a configuration, for a first try on any
# machine. When nothing answers at the configuration's Redis (the
# ICPMON_REDIS_URL variable wins, as for icpmon itself) and that Redis is on
# this machine, it installs redis-server if it is missing, starts a private
# one with persistence (AOF) under var/redis, says so, and stops it when the
# daemon ends. A Redis elsewhere that does not answer is an error: icpmon
# never starts one in its place.
#
# usage: deploy/try.sh BINARY CONFIG [VARDIR]
set -euo pipefail

bin=${1:?usage: deploy/try.sh BINARY CONFIG [VARDIR]}
config=${2:?usage: deploy/try.sh BINARY CONFIG [VARDIR]}
var=${3:-var}

# The first redis.url of the configuration, else icpmon's default.
url=${ICPMON_REDIS_URL:-}
if [ -z "$url" ]; then
  url=$(sed -n 's/^[[:space:]]*url:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$config" | head -n 1)
fi
url=${url:-redis://127.0.0.1:6379/0}
hostport=${url#*://}
hostport=${hostport##*@}
hostport=${hostport%%/*}
host=${hostport%:*}
port=${hostport##*:}
[ "$port" != "$hostport" ] || port=6379

answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if answers; then
  exec "$bin" serve --config "$config"
fi
case "$host" in
  127.0.0.1 | localhost | ::1) ;;
  *)
    echo "try.sh: Redis at $host:$port does not answer; start it or fix redis.url in $config" >&2
    exit 1
    ;;
esac

if ! command -v redis-server >/dev/null 2>&1; then
  echo "try.sh: installing redis-server"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

mkdir -p "$var/redis"
dir=$(cd "$var/redis" && pwd)
echo "try.sh: nothing answers at $host:$port; starting a private redis-server there, data in $dir (AOF), stopped with the daemon"
redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --appendonly yes \
  --logfile "$dir/redis.log" --daemonize no &
redis=$!
trap 'kill "$redis" 2>/dev/null; wait "$redis" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  answers && break
  kill -0 "$redis" 2>/dev/null || { echo "try.sh: redis-server did not start; see $dir/redis.log" >&2; exit 1; }
  sleep 0.1
done

# In the background, so that this shell hears SIGINT and SIGTERM and passes
# them on; the daemon's exit status is this script's.
"$bin" serve --config "$config" &
daemon=$!
signalled=""
trap 'signalled=1; kill -TERM "$daemon" 2>/dev/null' INT TERM
status=0
wait "$daemon" || status=$?
if [ -n "$signalled" ]; then # that wait was cut short: this one gives the daemon's own status
  status=0
  wait "$daemon" || status=$?
fi
exit "$status"
