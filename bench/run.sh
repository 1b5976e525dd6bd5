#!/usr/bin/env bash
# gy-ocs benchmark: each configuration of the node against the freeDiameter reference server in
# the same run (../shared/interop/bench-ref.sh: rawload, server CPU from /proc), plus ocs-bench's
# own latency percentiles; prints one table and appends it to bench/RESULTS.md.
# All traffic on 127.0.0.1; every run bounded in count and time. Needs root (apt, ss -p, postgres).
#
# usage: bench/run.sh [--quick] [--only NAME] [--no-record]
#   --quick      1 repetition instead of 3, smaller runs (a smoke test of the script)
#   --only NAMES comma-separated: jdiameter-default, jdiameter-100k, jdiameter-100k-money, mock-default,
#                mock-100k, mock-100k-money, postgres, memory, startup
#                (startup: the import of 100,000 subscribers, and start-up to listening with none and with them)
#                (the -money rows: the same subscribers on a money balance, priced by a tariff, issue 14)
#   --scrape     the nodes run their HTTP interface (port 18111) and GET /metrics every second
#                meanwhile (issue 11: the figures with a Prometheus scraping them)
#   --console    the nodes run their HTTP interface (port 18111) and a headless chromium keeps the
#                web console's overview open meanwhile (issue 16: the figures with a console open)
# Environment: WARM_CONNECTIONS (default 4): connections of warm-up each node gets before
# bench-ref.sh measures it (see run_config)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIT=${GY_KIT:-$ROOT/../shared/interop}
export GY_KIT_WORK=${GY_KIT_WORK:-/tmp/gy-interop-kit}
WORK=$(mktemp -d /tmp/gy-ocs-bench.XXXXXX)
# warm-up per server before the measured runs: with 60,000 the JVM was still compiling (the
# node's three runs rose 24k -> 31k -> 39k CCR/s within one configuration)
REPS=3; N=30000; WARMUP=150000; WARM_CONNECTIONS=${WARM_CONNECTIONS:-4}; WARM_SECONDS=10; ONLY=""; RECORD=1; SCRAPE=0; CONSOLE=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; N=20000; WARMUP=30000; WARM_CONNECTIONS=1 ;;
	--only) ONLY=$2; shift ;;
	--no-record) RECORD=0 ;;
	--scrape) SCRAPE=1 ;;
	--console) CONSOLE=1 ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

bash "$KIT/install.sh" >/dev/null
ADMIN="--admin-port 0"
if [ $SCRAPE = 1 ]; then
	ADMIN="--admin-port 18111"
	# a scraper for the whole run, bounded: one GET /metrics a second for at most 2 hours
	( for _ in $(seq 7200); do curl -s -o /dev/null --max-time 2 http://127.0.0.1:18111/metrics || true; sleep 1; done ) &
	SCRAPER=$!
fi
if [ $CONSOLE = 1 ]; then
	ADMIN="--admin-port 18111"
	bash "$ROOT/.ci/install-browser"
	# the console's overview open for the whole run (it reads /overview every 2 s), bounded by
	# timeout; it opens once the first node answers (a browser that found nothing there would stay
	# on its error page); between two configurations it shows "the node does not answer" and goes
	# on when the next one starts
	( for _ in $(seq 600); do curl -s -o /dev/null --max-time 1 http://127.0.0.1:18111/health && break; sleep 1; done
	  exec timeout 7200 /usr/bin/chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--remote-debugging-port=0 --user-data-dir="$WORK/chromium" http://127.0.0.1:18111/ >/dev/null 2>&1 ) &
	BROWSER=$!
	# that it really reads: its connections to the HTTP interface, counted every 5 s (at most 2 hours)
	( for _ in $(seq 1440); do ss -Htn state established '( dport = :18111 )' | wc -l; sleep 5; done >"$WORK/console.samples" ) &
	SAMPLER=$!
fi
cleanup() {
	[ -z "${SCRAPER:-}" ] || kill "$SCRAPER" 2>/dev/null || true
	[ -z "${BROWSER:-}" ] || pkill -P "$BROWSER" 2>/dev/null || true
	[ -z "${BROWSER:-}" ] || kill "$BROWSER" 2>/dev/null || true
	[ -z "${SAMPLER:-}" ] || kill "$SAMPLER" 2>/dev/null || true
}
trap cleanup EXIT
# build once, so that no configuration pays for it
"$ROOT/bin/ocs.sh" --help >/dev/null

PORT=14868
SUBS=100000
# rawload's subscribers are 491720000000 + n: provision them with balances that do not run out
# (seq, not awk: mawk's %d stops at 2^31-1 and made all 100,000 rows one subscriber, 002147483647)
{ echo "subscriber,unit,amount,rating_group,expires"
  seq -f "%012.0f,octets,1000000000000000,," 491720000000 $((491720000000 + SUBS - 1)); } >"$WORK/subscribers.csv"
[ "$(sed -n '2p;$p' "$WORK/subscribers.csv" | cut -d, -f1 | tr '\n' ' ')" = "491720000000 $((491720000000 + SUBS - 1)) " ] \
	|| { echo "bench: subscribers.csv is wrong" >&2; exit 1; }
# the same subscribers on money (cents) that does not run out, priced by one tariff: 1 cent per MiB
sed '2,$s/,octets,/,money,/' "$WORK/subscribers.csv" >"$WORK/subscribers-money.csv"
printf 'plan,rating_group,unit,price,per,currency\ndefault,,octets,1,1048576,EUR\n' >"$WORK/tariffs.csv"

selected() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

h2() { echo "jdbc:h2:file:$WORK/$1/ocs"; }

provision() { # provision STORE_URL [user password]
	local args=(--store "$1")
	[ $# -gt 1 ] && args+=(--store-user "$2" --store-password "$3")
	"$ROOT/bin/ocs-admin.sh" "${args[@]}" import "$WORK/subscribers.csv" >/dev/null
}

provision_money() { # provision_money STORE_URL: the subscribers on money, and the tariff
	"$ROOT/bin/ocs-admin.sh" --store "$1" import "$WORK/subscribers-money.csv" >/dev/null
	"$ROOT/bin/ocs-admin.sh" --store "$1" tariffs import "$WORK/tariffs.csv" >/dev/null
}

postgres_url() {
	if ! command -v pg_ctlcluster >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null
	fi
	local v
	v=$(ls /etc/postgresql | sort -n | tail -1)
	pg_ctlcluster "$v" main start >/dev/null 2>&1 || true   # "already running" is fine
	for _ in $(seq 30); do su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break; sleep 1; done
	su postgres -c "psql -qc \"DROP DATABASE IF EXISTS ocsbench\"" >/dev/null
	su postgres -c "psql -qc \"DO \\\$\\\$ BEGIN CREATE ROLE ocs LOGIN PASSWORD 'ocs'; EXCEPTION WHEN duplicate_object THEN NULL; END \\\$\\\$\"" >/dev/null
	su postgres -c "psql -qc \"CREATE DATABASE ocsbench OWNER ocs\"" >/dev/null
	echo "jdbc:postgresql://127.0.0.1:5432/ocsbench"
}

RESULTS="$WORK/table.txt"
printf "%-18s %-8s %10s %10s %8s %8s %9s %9s %10s %10s %10s\n" configuration mode "CCR/s" "ref CCR/s" \
	"rate x" "cpu x" "us/CCR" "p50 ms" "p99 ms" "bench p50" "bench p99" >"$RESULTS"

# stop_sut PID: a node started here with setsid, stopped as a service manager would (SIGTERM)
stop_sut() {
	kill -TERM -- -"$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# start_sut COMMAND LOG: a node in the background (its PID in SUT_PID), returned once it listens
# on $PORT (at most 2 minutes)
start_sut() {
	setsid bash -c "exec $1" >"$2" 2>&1 &
	SUT_PID=$!
	for _ in $(seq 240); do ss -ltn | grep -q ":$PORT " && break; sleep 0.5; done
}

# run_config NAME MODE STORE_URL [ocs.sh options...]
run_config() {
	local name=$1 mode=$2 store=$3
	shift 3
	selected "$name" || return 0
	echo "== $name ($mode): bin/ocs.sh $*"
	local cmd="$ROOT/bin/ocs.sh --ip 127.0.0.1 --port $PORT $ADMIN --host ocs.test.local --realm test.local --store '$store' $*"
	local out="$WORK/$name.bench-ref.txt"
	# The node is started here and warmed up on $WARM_CONNECTIONS connections before bench-ref.sh
	# measures it. Why (bench/RESULTS.md, issue 17): under this load the JIT compiles for about 15 s
	# of CPU, and the first messages of each new connection (CER, CEA) take branches the requests
	# before them never took, which throws compiled code away; after one connection of
	# $WARMUP CCRs the compiler still took 12-14 us of CPU per CCR of the measured runs (each on a
	# new connection), after four 0.4 us. A PCEF's connection lasts days. Bounded: each warm-up
	# connection stops sending after $WARM_SECONDS s.
	start_sut "$cmd" "$WORK/$name.sut.log"
	local sut_pid=$SUT_PID
	local warm_count=$WARMUP
	[ "$mode" = session ] && warm_count=$((WARMUP / 3))
	for c in $(seq "$WARM_CONNECTIONS"); do
		# rawload exits 1 when its time ran out before its count: a warm-up bounded by time is fine
		echo "warm-up connection $c: $({ bash "$KIT/rawload.sh" -p $PORT -m "$mode" -n $warm_count -c 50 \
			-T $WARM_SECONDS 2>&1 || true; } | grep -o 'answered=[0-9]* ok=[0-9]*' || echo 'no result')"
	done
	# bench-ref.sh's own warm-up follows (both servers), then its measured runs
	bash "$KIT/bench-ref.sh" --sut 127.0.0.1:$PORT -m "$mode" -n $N -c 50 -r $REPS --settle 5 \
		--warmup $WARMUP >"$out" 2>&1 || { tail -20 "$out"; echo "bench: $name failed" >&2; stop_sut "$sut_pid"; return 1; }
	stop_sut "$sut_pid"
	grep -E '^(RUN|SUMMARY|RATIO)' "$out"
	# our own generator against the same configuration, for p50/p90/p99/p99.9 with HdrHistogram
	start_sut "$cmd" "$WORK/$name.ocs.log"
	local pid=$SUT_PID
	local count=$N
	[ "$mode" = session ] && count=$((N / 3))
	# a warm-up of as many sessions in the same client JVM, then the measured run: run in a JVM of
	# its own, the measured run timed mostly that JVM's compilations
	"$ROOT/bin/ocs-bench.sh" --port $PORT --destination-realm test.local -m "$mode" -n $count --warmup $count \
		-k 50 --json "$WORK/$name.ocs-bench.json" >"$WORK/$name.ocs-bench.txt" 2>&1 || true
	stop_sut "$pid"
	tail -3 "$WORK/$name.ocs-bench.txt"
	local sut ref ratio p50 bp50 bp99
	sut=$(grep '^SUMMARY server=sut' "$out")
	ref=$(grep '^SUMMARY server=ref' "$out")
	ratio=$(grep '^RATIO' "$out")
	p50=$(grep '^RUN .*server=sut' "$out" | sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	bp50=$(sed -n 's/.*"p50" : \([0-9.]*\).*/\1/p' "$WORK/$name.ocs-bench.json" 2>/dev/null || echo -)
	bp99=$(sed -n 's/.*"p99" : \([0-9.]*\).*/\1/p' "$WORK/$name.ocs-bench.json" 2>/dev/null || echo -)
	printf "%-18s %-8s %10s %10s %8s %8s %9s %9s %10s %10s %10s\n" "$name" "$mode" \
		"$(sed -n 's/.*median_rate=\([0-9]*\).*/\1/p' <<<"$sut")" \
		"$(sed -n 's/.*median_rate=\([0-9]*\).*/\1/p' <<<"$ref")" \
		"$(sed -n 's/.*rate=\([0-9.]*\) .*/\1/p' <<<"$ratio")" \
		"$(sed -n 's/.*cpu_per_ccr=\([0-9.]*\).*/\1/p' <<<"$ratio")" \
		"$(sed -n 's/.*median_cpu_us_per_ccr=\([0-9.]*\).*/\1/p' <<<"$sut")" \
		"${p50:--}" "$(sed -n 's/.*median_p99_ms=\([0-9.]*\).*/\1/p' <<<"$sut")" "${bp50:--}" "${bp99:--}" >>"$RESULTS"
}

# charged NAME STORE_URL [user password]: a provisioned configuration must have debited its
# subscribers; otherwise it measured the default grant and its row says nothing about the store.
charged() {
	local name=$1 args=(--store "$2") left
	selected "$name" || return 0
	[ $# -gt 2 ] && args+=(--store-user "$3" --store-password "$4")
	left=$("$ROOT/bin/ocs-admin.sh" "${args[@]}" show 491720000001 | awk '$2 == "octets" || $2 == "money" { print $3 }')
	if [ -z "$left" ] || [ "$left" -ge 1000000000000000 ]; then
		echo "bench: $name charged nothing (subscriber 491720000001 has ${left:-no bucket})" >&2
		exit 1
	fi
	echo "$name: subscriber 491720000001 debited $((1000000000000000 - left)) octets or cents" | tee -a "$WORK/charged.txt"
}

mkdir -p "$WORK/d1" "$WORK/d2" "$WORK/d3" "$WORK/d4" "$WORK/d5" "$WORK/d6"
run_config jdiameter-default event "$(h2 d1)"
if selected jdiameter-100k; then provision "$(h2 d2)"; fi
run_config jdiameter-100k session "$(h2 d2)"
charged jdiameter-100k "$(h2 d2)"
if selected jdiameter-100k-money; then provision_money "$(h2 d5)"; fi
run_config jdiameter-100k-money session "$(h2 d5)"
charged jdiameter-100k-money "$(h2 d5)"
run_config mock-default event "$(h2 d3)" --mock
if selected mock-100k; then provision "$(h2 d4)"; fi
run_config mock-100k session "$(h2 d4)" --mock
charged mock-100k "$(h2 d4)"
if selected mock-100k-money; then provision_money "$(h2 d6)"; fi
run_config mock-100k-money session "$(h2 d6)" --mock
charged mock-100k-money "$(h2 d6)"
if selected postgres; then
	PG=$(postgres_url)
	provision "$PG" ocs ocs
	run_config postgres session "$PG" --mock --store-user ocs --store-password ocs
	charged postgres "$PG" ocs ocs
fi

# memory: 100,000 open sessions in a 512 MiB heap; then many completed sessions, and the heap
# after a full GC compared with where it started (mock mode, embedded store, unknown subscribers)
memory_check() {
	local store
	store="jdbc:h2:file:$WORK/mem/ocs"
	mkdir -p "$WORK/mem"
	GYOCS_JAVA_OPTS="-Xmx512m -Xms512m" setsid "$ROOT/bin/ocs.sh" --mock --ip 127.0.0.1 --port $PORT --admin-port 0 --store "$store" \
		>"$WORK/mem.ocs.log" 2>&1 &
	local pid=$!
	for _ in $(seq 120); do ss -ltn | grep -q ":$PORT " && break; sleep 0.5; done
	local jpid
	jpid=$(ss -ltnp | grep ":$PORT " | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
	heap() { jcmd "$jpid" GC.run >/dev/null; jcmd "$jpid" GC.heap_info | sed -n 's/.*used \([0-9]*\)K.*/\1/p' | head -1; }
	local h0 h1 h2 n=${MEM_SESSIONS:-1000000}
	h0=$(heap)
	# churn first: n completed sessions (I, T), then the heap should be back near where it started
	"$ROOT/bin/ocs-bench.sh" --port $PORT -m session -u 0 -n "$n" -k 200 -c 2 -d 900 >"$WORK/mem.churn.txt" 2>&1 || true
	h2=$(heap)
	# then 100,000 sessions left open
	"$ROOT/bin/ocs-bench.sh" --port $PORT -m session -u 0 --hold -n 100000 -k 200 -c 2 >"$WORK/mem.hold.txt" 2>&1 || true
	h1=$(heap)
	stop_sut "$pid"
	MEMORY="heap after full GC (KiB, mock mode, -Xmx512m): start $h0; after $n completed sessions $h2 [$(grep -m1 ' sent, ' "$WORK/mem.churn.txt" | sed 's/^ocs-bench: //')]; then with 100,000 sessions open $h1 [$(grep -m1 ' sent, ' "$WORK/mem.hold.txt" | sed 's/^ocs-bench: //')]"
	echo "$MEMORY"
}
MEMORY="memory: not measured (--only)"
if selected memory; then memory_check; fi

# start-up: from bin/ocs.sh (already built) to listening, on an empty store and on one with the
# 100,000 provisioned subscribers (issue 17: under 2 s with them)
start_up() { # start_up STORE_URL: three starts, ms each
	local ms=() t0 p
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		"$ROOT/bin/ocs.sh" --ip 127.0.0.1 --port $PORT --admin-port 0 --store "$1" >/dev/null 2>&1 &
		p=$!
		until ss -ltn | grep -q ":$PORT "; do sleep 0.02; done
		ms+=($(( ($(date +%s%N) - t0) / 1000000 )))
		kill -TERM $p; wait $p 2>/dev/null || true
	done
	echo "${ms[*]}"
}
start_ms="not measured (--only)"; start_100k_ms=$start_ms; import_ms=$start_ms
if selected startup; then
	mkdir -p "$WORK/d0" "$WORK/d7"
	import_t0=$(date +%s%N)
	provision "$(h2 d7)"
	import_ms="$(( ($(date +%s%N) - import_t0) / 1000000 )) ms"
	start_ms=$(start_up "$(h2 d0)")
	start_100k_ms=$(start_up "$(h2 d7)")
fi
STARTUP="start-up to listening (jDiameter mode, ms): empty store $start_ms; 100,000 subscribers $start_100k_ms
import of 100,000 subscribers (bin/ocs-admin.sh import, its JVM's start included): $import_ms"

if [ $CONSOLE = 1 ]; then
	MEMORY="$MEMORY
console: connected to the HTTP interface in $(awk '$1 > 0' "$WORK/console.samples" | wc -l) of $(wc -l <"$WORK/console.samples") samples (every 5 s)"
fi

# the Java the scripts chose for the node and ocs-bench (bin/lib/common.sh), and its options
JAVA_USED=$(bash -c ". '$ROOT/bin/lib/common.sh' && gyocs_java_identity")
echo
echo "=== gy-ocs benchmark $(date -u '+%Y-%m-%d %H:%M UTC'), nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), commit $(git -C "$ROOT" rev-parse --short HEAD)"
echo "Java: $JAVA_USED"
cat "$RESULTS"
echo "$STARTUP"
cat "$WORK/charged.txt" 2>/dev/null || true
echo "$MEMORY"
echo "rate x / cpu x: ratio to the freeDiameter reference in the same run (rate > 1 faster, cpu < 1 cheaper); p50/p99 from rawload (median of runs), bench p50/p99 from ocs-bench"

if [ "$RECORD" = 1 ]; then
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — commit $(git -C "$ROOT" rev-parse --short HEAD)"
		echo
		echo "nproc $(nproc); CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); client, servers and reference share the machine."
		echo "Java: \`$JAVA_USED\`."
		echo "Command: \`bench/run.sh$([ $REPS = 1 ] && echo ' --quick')$([ -n "$ONLY" ] && echo " --only $ONLY")$([ $SCRAPE = 1 ] && echo ' --scrape')$([ $CONSOLE = 1 ] && echo ' --console')\` — per configuration \`bin/ocs.sh --ip 127.0.0.1 --port $PORT --store ... [--mock]\`, warmed up on $WARM_CONNECTIONS connections (\`rawload.sh -m MODE -n $WARMUP CCRs -c 50 -T $WARM_SECONDS\` each), then \`bench-ref.sh --sut 127.0.0.1:$PORT -m MODE -n $N -c 50 -r $REPS --warmup $WARMUP\` and \`ocs-bench.sh -m MODE -k 50 --warmup N\` (N sessions or events, then as many measured)."
		echo
		echo '```'
		cat "$RESULTS"
		echo "$STARTUP"
		cat "$WORK/charged.txt" 2>/dev/null || true
		echo "$MEMORY"
		echo '```'
	} >>"$ROOT/bench/RESULTS.md"
	echo "recorded in bench/RESULTS.md"
fi
