#!/usr/bin/env bash
# two-nodes-postgres.sh [TREE] -- one node against two nodes sharing one PostgreSQL database (issue
# 15 item 5): the same load, two ocs-bench clients of 25 requests in flight each (I/U/T sessions,
# each client on its own half of 100,000 provisioned subscribers, so that the two never charge
# one subscriber at the same moment), sent either both to one node or one to each of two nodes.
# Prints the total rate (the two clients' rates added), the nodes' and PostgreSQL's CPU per CCR
# (from /proc), the CCRs per PostgreSQL commit and the worse p99. TREE is a built checkout (default: this one). Env: ROUNDS
# (alternations of the two set-ups, 2), SESS (sessions per client per measured run, 5000). Each
# run has a fresh database, ocsb_two. Load on 127.0.0.1 only, bounded by count and 120 s.
set -euo pipefail
T=$(cd "${1:-$(dirname "$0")/..}" && pwd)
ROUNDS=${ROUNDS:-2}; SESS=${SESS:-5000}
P1=14871; P2=14872
W=${GY_BENCH_WORK:-/tmp/gy-ocs-bench}/two-nodes; mkdir -p "$W"; rm -f "$W/runs.txt"
STORE=(--store jdbc:postgresql://127.0.0.1:5432/ocsb_two --store-user ocs --store-password ocs)
. "$(dirname "$0")/postgres-common.sh"
node() { # node NAME PORT: starts a mock-mode node on the shared database, prints its pid
  setsid "$T/bin/ocs.sh" --mock --ip 127.0.0.1 --port "$2" --admin-port 0 --host "$1.test.local" --realm test.local \
    "${STORE[@]}" >"$W/$1.log" 2>&1 &
  for _ in $(seq 240); do ss -ltn | grep -q ":$2 " && break; sleep 0.5; done
  pgrep -n -f "OcsCommand .*--port $2 "
}
load() { # load PORT CLIENT FIRST N JSON: one client's sessions, 25 in flight
  "$T/bin/ocs-bench.sh" -p "$1" -m session -u 1 -k 25 -n "$4" -d 120 --origin-host "$2.test.local" \
    --subscriber-range "$3:50000" --json "$5" >"$5.out" 2>&1 || true
}
commits() { su postgres -c "psql -Atc \"SELECT xact_commit FROM pg_stat_database WHERE datname = 'ocsb_two'\""; }
field() { sed -n "s/.*\"$2\" *: *\([0-9.]*\).*/\1/p" "$1" | head -1; }
run() { # run one|two
  fresh_db ocsb_two
  "$T/bin/ocs-admin.sh" "${STORE[@]}" import "$W/subs.csv" >/dev/null
  local pids second=$P1
  pids=$(node ocs1 $P1)
  if [ "$1" = two ]; then pids="$pids $(node ocs2 $P2)"; second=$P2; fi
  load $P1 warm1 491720000000 4000 "$W/warm1.json" & load $second warm2 491720050000 4000 "$W/warm2.json"; wait
  local b=0 a=0 pb pa p xb xa
  for p in $pids; do b=$((b + $(ticks "$p"))); done; pb=$(pgticks); xb=$(commits)
  load $P1 bench1 491720000000 "$SESS" "$W/a.json" & load $second bench2 491720050000 "$SESS" "$W/b.json"; wait
  for p in $pids; do a=$((a + $(ticks "$p"))); done; pa=$(pgticks); xa=$(commits)
  for p in $pids; do kill -TERM "$p"; done
  for p in $pids; do for _ in $(seq 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done; done
  local n r p99
  n=$(( $(field "$W/a.json" answered) + $(field "$W/b.json" answered) ))
  r=$(awk -v x="$(field "$W/a.json" ccr_per_second)" -v y="$(field "$W/b.json" ccr_per_second)" 'BEGIN{print x + y}')
  p99=$(awk -v x="$(field "$W/a.json" p99)" -v y="$(field "$W/b.json" p99)" 'BEGIN{print (x > y ? x : y)}')
  echo "$1 rate=$r answered=$n node_us=$(( (a-b)*10000/n )) pg_us=$(( (pa-pb)*10000/n )) ccr_per_commit=$(awk -v n="$n" -v x=$((xa-xb)) 'BEGIN{printf "%.1f", n / x}') p99_ms=$p99" | tee -a "$W/runs.txt"
}
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then run one; run two; else run two; run one; fi
done
