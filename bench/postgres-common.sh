# postgres-common.sh -- sourced by the PostgreSQL benchmarks (compare-postgres.sh,
# two-nodes-postgres.sh): the local PostgreSQL started with the ocs role, 100,000 subscribers to
# import, and the CPU counters read from /proc. Needs W (the work folder) set.

v=$(ls /etc/postgresql | sort -n | tail -1); pg_ctlcluster "$v" main start >/dev/null 2>&1 || true
su postgres -c "psql -qc \"DO \\\$\\\$ BEGIN CREATE ROLE ocs LOGIN PASSWORD 'ocs'; EXCEPTION WHEN duplicate_object THEN NULL; END \\\$\\\$\"" >/dev/null
{ echo "subscriber,unit,amount,rating_group,expires"
  seq -f "%012.0f,octets,1000000000000000,," 491720000000 491720099999; } >"$W/subs.csv"

# fresh_db NAME: an empty database owned by ocs
fresh_db() {
  su postgres -c "psql -qc 'DROP DATABASE IF EXISTS $1'" >/dev/null
  su postgres -c "psql -qc 'CREATE DATABASE $1 OWNER ocs'" >/dev/null
}
# ticks PID: the process's CPU time, in clock ticks
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# pgticks: every PostgreSQL process's CPU time, in clock ticks
pgticks() { local s=0; for p in $(pgrep -u postgres); do s=$((s + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $s; }
