#!/usr/bin/env bash
# money-vs-units.sh -- the node's CPU per CCR with every subscriber on money and a tariff, against
# the same load with every subscriber on octets (issue 14, item 7), in pairs run back to back.
#
# bench/run.sh reads each row against the reference of its own row; on a machine whose speed
# drifts by 30 % from one minute to the next, two rows minutes apart do not compare to 10 %. Here
# only the node is measured (its own CPU time from /proc, for a fixed count of CCRs, which the
# machine's drift moves less than a rate), the two variants alternate in ABBA order so that a
# drift in time falls on both, and the figure is the median of the pairs' ratios.
#
# usage: bench/money-vs-units.sh [--pairs P] [--sessions N] [--jdiameter]
#   --pairs P      ABBA pairs (default 3: 6 runs of each variant)
#   --sessions N   I/U/T sessions per measured run (default 20000: 60,000 CCRs)
#   --jdiameter    the node in jDiameter mode (default: mock mode)
# Load: the kit's rawload on 127.0.0.1, 50 requests in flight, bounded by count and 120 s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIT=${GY_KIT:-$ROOT/../shared/interop}
export GY_KIT_WORK=${GY_KIT_WORK:-/tmp/gy-interop-kit} # where the kit's install.sh built rawload
WORK=${GY_BENCH_WORK:-/tmp/gy-ocs-bench}/money-vs-units
PAIRS=3 SESSIONS=20000 MODE=--mock
while [ $# -gt 0 ]; do
	case $1 in
	--pairs) PAIRS=$2; shift ;;
	--sessions) SESSIONS=$2; shift ;;
	--jdiameter) MODE= ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
PORT=14869 SUBS=100000
rm -rf "$WORK" && mkdir -p "$WORK/units" "$WORK/money"
"$ROOT/bin/ocs.sh" --help >/dev/null # build once

{ echo "subscriber,unit,amount,rating_group,expires"
  seq -f "%012.0f,octets,1000000000000000,," 491720000000 $((491720000000 + SUBS - 1)); } >"$WORK/units.csv"
sed '2,$s/,octets,/,money,/' "$WORK/units.csv" >"$WORK/money.csv"
printf 'plan,rating_group,unit,price,per,currency\ndefault,,octets,1,1048576,EUR\n' >"$WORK/tariffs.csv"
store() { echo "jdbc:h2:file:$WORK/$1/ocs"; }
"$ROOT/bin/ocs-admin.sh" --store "$(store units)" import "$WORK/units.csv" >/dev/null
"$ROOT/bin/ocs-admin.sh" --store "$(store money)" import "$WORK/money.csv" >/dev/null
"$ROOT/bin/ocs-admin.sh" --store "$(store money)" tariffs import "$WORK/tariffs.csv" >/dev/null

load() { # load SESSIONS: prints rawload's result line
	bash "$KIT/rawload.sh" -p $PORT -m session -n "$1" -c 50 -T 120 \
		--dest-realm test.local | grep '^RAWLOAD_RESULT'
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run VARIANT: one node, warmed up, then one measured run; appends "VARIANT rate us_per_ccr"
run() {
	local variant=$1 pid out before after ccrs
	setsid "$ROOT/bin/ocs.sh" $MODE --ip 127.0.0.1 --port $PORT --admin-port 0 --host ocs.test.local \
		--realm test.local --store "$(store "$variant")" >"$WORK/$variant.log" 2>&1 &
	for _ in $(seq 240); do ss -ltn | grep -q ":$PORT " && break; sleep 0.5; done
	pid=$(pgrep -n -f "OcsCommand .*--port $PORT ") || { echo "money-vs-units: no node on $PORT" >&2; exit 1; }
	load 20000 >/dev/null # the JIT's warm-up: 60,000 CCRs
	before=$(ticks "$pid")
	out=$(load "$SESSIONS")
	after=$(ticks "$pid")
	kill -TERM "$pid"
	for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	ccrs=$(sed -n 's/.* answered=\([0-9]*\).*/\1/p' <<<"$out")
	[ "$ccrs" -eq $((3 * SESSIONS)) ] || { echo "money-vs-units: $variant answered $ccrs of $((3 * SESSIONS)): $out" >&2; exit 1; }
	awk -v v="$variant" -v t=$((after - before)) -v n="$ccrs" -v hz="$(getconf CLK_TCK)" -v line="$out" \
		'BEGIN { split(line, f, /[ =]/); for (i = 1; i in f; i++) if (f[i] == "rate") r = f[i + 1];
		         printf "%-6s rate %8.0f CCR/s  cpu %6.1f us/CCR\n", v, r, t * 1e6 / hz / n }' | tee -a "$WORK/runs.txt"
}

for p in $(seq "$PAIRS"); do
	if [ $((p % 2)) -eq 1 ]; then run units; run money; else run money; run units; fi
	echo "pair $p: $(tail -2 "$WORK/runs.txt" | awk '{c[$1] = $6; r[$1] = $3} END {
		printf "money/units cpu %.3f  rate %.3f", c["money"] / c["units"], r["money"] / r["units"] }')" | tee -a "$WORK/pairs.txt"
done
awk '{print $5}' "$WORK/pairs.txt" | sort -n | awk '{a[NR] = $1} END {
	printf "median money/units CPU per CCR over %d pairs: %.3f (target: <= 1.10)\n", NR, a[int((NR + 1) / 2)] }'
awk '{print $7}' "$WORK/pairs.txt" | sort -n | awk '{a[NR] = $1} END {
	printf "median money/units rate over %d pairs: %.3f (target: >= 0.90)\n", NR, a[int((NR + 1) / 2)] }'
