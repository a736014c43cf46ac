#!/usr/bin/env bash
# Simulated worker hosts for the fleet (docs/SCALING.md): each "host" is a network namespace of its own
# (ip netns) joined to this machine by a veth pair on a private subnet (10.77.<i>.0/24: this side .1,
# the host .2). The services (RabbitMQ, Postgres, Redis, the X stand-in) listen on 127.0.0.1 only, so
# each host reaches them at 10.77.<i>.1 through a socat forwarder bound to that address alone: nothing
# listens on another interface and no traffic leaves the machine. (iptables DNAT to 127.0.0.1 would need
# route_localnet, and RabbitMQ's guest user is refused from a non-loopback source; socat connects from
# 127.0.0.1, so both work unchanged.) Needs root, ip and socat.
#
#   scripts/fleet_hosts.sh up N [EXTRA_PORT...]   create hosts 1..N (forwarding 5672 5432 6379 + EXTRA_PORTs)
#   scripts/fleet_hosts.sh worker I QUEUES [CONCURRENCY]
#                                                 start `xbot worker` in host I, with this shell's XBOT_*,
#                                                 DAGSTER_HOME and service URLs rewritten to 10.77.<I>.1
#   scripts/fleet_hosts.sh control [PORT]         start the control host's Dagster processes on this machine
#                                                 (`xbot ui`: code server, daemon, webserver on PORT, default
#                                                 3000) with this shell's XBOT_* and DAGSTER_HOME: the
#                                                 daemon's schedules submit each run's steps to the workers
#   scripts/fleet_hosts.sh kill I                 SIGKILL host I's worker (the fault campaign)
#   scripts/fleet_hosts.sh exec I CMD...          run CMD inside host I
#   scripts/fleet_hosts.sh status | down          show / remove everything this script started
set -euo pipefail

STATE=${XBOT_FLEET_HOSTS_STATE:-/tmp/xbot-fleet-hosts}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${XBOT_VENV:-$ROOT/.venv}/bin/python
BASE_PORTS=(5672 5432 6379)

die() { echo "fleet_hosts: error: $*" >&2; exit 2; }
ns() { echo "xbot-h$1"; }
gw() { echo "10.77.$1.1"; }

up() {
  local n=${1:-}; shift || true
  [[ "$n" =~ ^[1-9]$ ]] || die "up needs a host count from 1 to 9"
  command -v socat >/dev/null || die "socat is not installed"
  mkdir -p "$STATE"
  for ((i = 1; i <= n; i++)); do
    ip netns list | grep -qw "$(ns "$i")" && die "host $i exists already (run: $0 down)"
    ip netns add "$(ns "$i")"
    ip link add "xbh$i" type veth peer name "xbn$i"
    ip link set "xbn$i" netns "$(ns "$i")"
    ip addr add "$(gw "$i")/24" dev "xbh$i"
    ip link set "xbh$i" up
    ip netns exec "$(ns "$i")" ip addr add "10.77.$i.2/24" dev "xbn$i"
    ip netns exec "$(ns "$i")" ip link set "xbn$i" up
    ip netns exec "$(ns "$i")" ip link set lo up
    mkdir -p "$STATE/h$i/home"
    for port in "${BASE_PORTS[@]}" "$@"; do
      socat "TCP-LISTEN:$port,bind=$(gw "$i"),fork,reuseaddr" "TCP:127.0.0.1:$port" &
      echo $! >>"$STATE/h$i/forwarders.pid"
    done
    echo "host $i: namespace $(ns "$i"), address 10.77.$i.2, services at $(gw "$i")"
  done
}

rewrite() {  # a URL with 127.0.0.1/localhost replaced by host I's gateway
  local url=$1 i=$2
  url=${url//127.0.0.1/$(gw "$i")}
  echo "${url//localhost/$(gw "$i")}"
}

worker() {
  local i=${1:-} queues=${2:-api} conc=${3:-1}
  [[ "$i" =~ ^[1-9]$ ]] || die "worker needs a host number"
  ip netns list | grep -qw "$(ns "$i")" || die "host $i does not exist (run: $0 up N)"
  local envs=(DAGSTER_HOME="${DAGSTER_HOME:-}" XBOT_HOME="$STATE/h$i/home" PATH="$PATH")
  local name
  for name in $(compgen -e | grep -E '^XBOT_' || true); do
    [[ "$name" == XBOT_HOME ]] && continue
    case $name in
      XBOT_DATABASE_URL | XBOT_DAGSTER_PG_URL | XBOT_CELERY_BROKER | XBOT_CELERY_BACKEND | XBOT_X_API_URL | XBOT_X_WEB_URL)
        envs+=("$name=$(rewrite "${!name}" "$i")") ;;
      *) envs+=("$name=${!name}") ;;
    esac
  done
  [[ -n "${XBOT_CELERY_BROKER:-}" ]] || envs+=("XBOT_CELERY_BROKER=pyamqp://guest:guest@$(gw "$i"):5672//")
  ip netns exec "$(ns "$i")" env -i "${envs[@]}" setsid "$PY" -c "from xbot_pipeline.cli import main; main()" \
    worker --queues "$queues" --concurrency "$conc" --name "h$i" >>"$STATE/h$i/worker.log" 2>&1 &
  echo $! >"$STATE/h$i/worker.pid"
  echo "host $i: worker pid $(cat "$STATE/h$i/worker.pid") on queues $queues (log $STATE/h$i/worker.log)"
}

control() {
  local port=${1:-3000}
  [[ "$port" =~ ^[0-9]+$ ]] || die "control needs a port number"
  [[ -n "${DAGSTER_HOME:-}" ]] || die "set DAGSTER_HOME to the fleet's production instance (docs/SCALING.md)"
  [[ -f "$STATE/control.pid" ]] && kill -0 "$(cat "$STATE/control.pid")" 2>/dev/null && die "control runs already"
  mkdir -p "$STATE"
  setsid "$PY" -c "from xbot_pipeline.cli import main; main()" ui --port "$port" >>"$STATE/control.log" 2>&1 &
  echo $! >"$STATE/control.pid"
  echo "control: code server, daemon and webserver (pid $(cat "$STATE/control.pid"), UI on 127.0.0.1:$port, log $STATE/control.log)"
}

kill_worker() {
  local i=${1:-}
  [[ -f "$STATE/h$i/worker.pid" ]] || die "host $i has no worker"
  local pid; pid=$(cat "$STATE/h$i/worker.pid")
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true  # its process group: pool too
  rm -f "$STATE/h$i/worker.pid"
  echo "host $i: worker $pid killed"
}

down() {
  local dir i
  if [[ -f "$STATE/control.pid" ]]; then
    kill -TERM -- "-$(cat "$STATE/control.pid")" 2>/dev/null || true  # `xbot ui` stops its services on SIGTERM
    rm -f "$STATE/control.pid"
    echo "control: stopped"
  fi
  for dir in "$STATE"/h*; do
    [[ -d "$dir" ]] || continue
    i=${dir##*/h}
    [[ -f "$dir/worker.pid" ]] && kill_worker "$i" >/dev/null
    if [[ -f "$dir/forwarders.pid" ]]; then
      while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$dir/forwarders.pid"
      rm -f "$dir/forwarders.pid"
    fi
    ip netns del "$(ns "$i")" 2>/dev/null || true
    ip link del "xbh$i" 2>/dev/null || true
    echo "host $i: removed"
  done
}

status() {
  local dir i
  [[ -f "$STATE/control.pid" ]] && kill -0 "$(cat "$STATE/control.pid")" 2>/dev/null \
    && echo "control: Dagster processes (pid $(cat "$STATE/control.pid"))"
  for dir in "$STATE"/h*; do
    [[ -d "$dir" ]] || continue
    i=${dir##*/h}
    local w="no worker"
    [[ -f "$dir/worker.pid" ]] && kill -0 "$(cat "$dir/worker.pid")" 2>/dev/null && w="worker $(cat "$dir/worker.pid")"
    echo "host $i: $(ip netns list | grep -qw "$(ns "$i")" && echo up || echo gone), $w"
  done
}

cmd=${1:-}; shift || true
case $cmd in
  up) up "$@" ;;
  worker) worker "$@" ;;
  control) control "$@" ;;
  kill) kill_worker "$@" ;;
  exec) i=$1; shift; ip netns exec "$(ns "$i")" "$@" ;;
  status) status ;;
  down) down ;;
  *) die "usage: $0 up N [PORT...] | worker I QUEUES [CONCURRENCY] | control [PORT] | kill I | exec I CMD... | status | down" ;;
esac
