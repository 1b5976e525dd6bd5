#!/usr/bin/env bash
# compare-postgres.sh BASE HEAD -- the PostgreSQL configuration of two checkouts (BASE and HEAD,
# their top folders) side by side: rate, the node's CPU and PostgreSQL's CPU per CCR (from /proc),
# I/U/T sessions of 100,000 provisioned subscribers, 50 in flight, on the local PostgreSQL (the
# one bench/run.sh starts), the two run back to back (ABBA with PAIRS=2). Each checkout has a
# database of its own (ocsb_base, ocsb_head): their migrations differ. Env: PAIRS (1), SESS
# (sessions per measured run, 10000). Each run starts from a checkpoint with both databases
# vacuumed. Load on 127.0.0.1, bounded by count and 120 s.
set -euo pipefail
PAIRS=${PAIRS:-1}; SESS=${SESS:-10000}
BASE=$(cd "${1:?usage: compare-postgres.sh BASE HEAD}" && pwd); HEAD=$(cd "${2:?usage: compare-postgres.sh BASE HEAD}" && pwd)
dir() { if [ "$1" = base ]; then echo "$BASE"; else echo "$HEAD"; fi; }
export GY_KIT_WORK=${GY_KIT_WORK:-/tmp/gy-interop-kit} # where the kit's install.sh built rawload
KIT=${GY_KIT:-$(dirname "$0")/../../shared/interop}
PORT=14870
W=${GY_BENCH_WORK:-/tmp/gy-ocs-bench}/compare-postgres; mkdir -p $W; rm -f $W/runs.txt
. "$(dirname "$0")/postgres-common.sh"
for t in base head; do
  fresh_db ocsb_$t
  $(dir $t)/bin/ocs-admin.sh --store jdbc:postgresql://127.0.0.1:5432/ocsb_$t --store-user ocs --store-password ocs import $W/subs.csv >/dev/null
done
run() {
  local t=$1
  # each run from a checkpoint and both databases vacuumed: the run before it leaves dead rows
  # and dirty pages that the next one would otherwise pay for (the second run of a pair was the
  # slower one, whichever tree it was)
  su postgres -c "psql -qc CHECKPOINT" >/dev/null
  for d in base head; do su postgres -c "psql -d ocsb_$d -qc VACUUM" >/dev/null; done
  setsid $(dir $t)/bin/ocs.sh --mock --ip 127.0.0.1 --port $PORT --admin-port 0 --host ocs.test.local --realm test.local \
    --store jdbc:postgresql://127.0.0.1:5432/ocsb_$t --store-user ocs --store-password ocs >$W/$t.log 2>&1 &
  for _ in $(seq 240); do ss -ltn | grep -q ":$PORT " && break; sleep 0.5; done
  local pid; pid=$(pgrep -n -f "OcsCommand .*--port $PORT ")
  bash $KIT/rawload.sh -p $PORT -m session -n $SESS -c 50 -T 120 --dest-realm test.local >/dev/null || true
  local b pb out a pa
  b=$(ticks $pid); pb=$(pgticks)
  out=$(bash $KIT/rawload.sh -p $PORT -m session -n $SESS -c 50 -T 120 --dest-realm test.local | grep RAWLOAD_RESULT)
  a=$(ticks $pid); pa=$(pgticks)
  kill -TERM $pid; for _ in $(seq 60); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
  local n; n=$(sed -n 's/.* answered=\([0-9]*\).*/\1/p' <<<"$out")
  echo "$t $(sed -n 's/.* rate=\([0-9.]*\).*/rate=\1/p' <<<"$out") answered=$n node_us=$(( (a-b)*10000/n )) pg_us=$(( (pa-pb)*10000/n )) $(sed -n 's/.*\(p99_ms=[0-9.]*\).*/\1/p' <<<"$out")" | tee -a $W/runs.txt
}
for p in $(seq $PAIRS); do
  if [ $((p % 2)) -eq 1 ]; then run base; run head; else run head; run base; fi
done
