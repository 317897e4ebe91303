#!/usr/bin/env bash
# Figures of a cluster brain under faults, on this machine: three node
# processes on 127.0.0.1 running community_brain_pong.json.
#
#   scripts/cluster-faults.sh kill [FAILURE_TIMEOUT] [VICTIM]   # kill -9 -> next generation running (s), 5 trials
#   scripts/cluster-faults.sh join                               # a fourth node takes an area: start -> running, halt -> running (s), 5 trials
#   scripts/cluster-faults.sh checkpoint [BURSTS]                # free-running bursts/s with --checkpoint-every 0 and 100, 3 each, alternating
#
# Each trial prints one line; take the median. Uses ports 17900-17903 and
# 16200-16203.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'pkill -9 -f "$work/node run" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/node" ./cmd/node
"$work/node" nats-creds --dir "$work/creds" >/dev/null
node=$work/node
genome=community_brain_pong.json

stop_all() { pkill -9 -f "$work/node run" 2>/dev/null || true; sleep 0.3; }
# start NAME K ARGS...: node nK in the background, its log in $work/NAME.log.
start() {
  local k=$1; shift
  "$node" run --genome $genome --join 127.0.0.1:17900 --join-timeout 60s \
    --nats-creds "$work/creds/node.creds" --node-name n$k --cluster-bind 127.0.0.1:1790$k \
    --nats-cluster 127.0.0.1:1620$k "$@" >"$work/n$k.log" 2>&1 &
  echo $! >"$work/n$k.pid"
}
# stamp LOG PATTERN: the time of the first log line matching PATTERN, in s.
stamp() { date -d "$(grep -m1 "$2" "$1" | sed 's/time=\([^ ]*\).*/\1/')" +%s.%N; }
waitfor() { for _ in $(seq 1 600); do grep -q "$2" "$1" && return 0; sleep 0.05; done; echo "timeout waiting for $2 in $1" >&2; return 1; }

case "${1:-}" in
kill)
  ft=${2:-5s}; victim=${3:-n1}; obs=n0; [ "$victim" = n0 ] && obs=n1
  for _ in 1 2 3 4 5; do
    stop_all; rm -f "$work"/n*.log
    for k in 0 1 2; do start $k --bursts 100000 --rate 100 --expect-nodes 3 --failure-timeout "$ft"; done
    sleep 6
    t0=$(date +%s.%N); kill -9 "$(cat "$work/$victim.pid")"
    waitfor "$work/$obs.log" 'msg="generation running"'
    python3 -c "print(f'kill -> running {$(stamp "$work/$obs.log" 'msg="generation running"') - $t0:.3f} s')"
  done ;;
join)
  for _ in 1 2 3 4 5; do
    stop_all; rm -f "$work"/n*.log
    for k in 0 1 2; do start $k --bursts 100000 --rate 100 --expect-nodes 3; done
    sleep 5
    t0=$(date +%s.%N); start 3 --bursts 100000 --rate 100 --capacity 4  # takes the largest area
    waitfor "$work/n0.log" 'msg="generation running"'
    a=$(stamp "$work/n0.log" 'members changed'); b=$(stamp "$work/n0.log" 'msg="generation running"')
    python3 -c "print(f'start -> running {$b - $t0:.3f} s, halt -> running {$b - $a:.3f} s')"
  done ;;
checkpoint)
  bursts=${2:-3000}
  for _ in 1 2 3; do
    for every in 0 100; do
      stop_all
      for k in 0 1 2; do start $k --bursts "$bursts" --free --quiet --expect-nodes 3 --checkpoint-every $every --summary-json "$work/s$k.json"; done
      wait
      python3 -c "import json; d=json.load(open('$work/s0.json')); print(f'checkpoint-every $every: {d[\"bursts_per_s\"]:.1f} bursts/s, burst p50 {d[\"burst_p50_us\"]:.0f} us')"
    done
  done ;;
*)
  sed -n '2,12p' "$0"; exit 2 ;;
esac
