#!/usr/bin/env bash
# apply-postgres.sh DB_A DB_B -- PostgreSQL's own cost of the charged changes, without the node or
# the network: in each database (two schema versions, e.g. compare-postgres.sh's ocsb_base and
# ocsb_head after it ran), one backend calls ocs_apply as the node's group commits do, ten changes
# a call: CCR-I (reserve), CCR-U (settle and reserve), CCR-T (settle) for SESS subscribers of the
# 100,000 provisioned, each with its session check and change key, in one transaction rolled
# back. The two alternate ROUNDS times (ABAB...); prints the time per change of each run. On a
# noisy machine this resolves differences in the SQL that the whole-node comparison cannot.
# Env: SESS (2000), ROUNDS (4). Runs on the local PostgreSQL as its postgres user.
set -euo pipefail
A=${1:?usage: apply-postgres.sh DB_A DB_B}; B=${2:?usage: apply-postgres.sh DB_A DB_B}
SESS=${SESS:-2000}; ROUNDS=${ROUNDS:-4}
sql=$(mktemp); trap 'rm -f $sql' EXIT
cat >"$sql" <<EOF
\\timing on
BEGIN;
DO \$\$
DECLARE
    n INT := 10;
    now_ TIMESTAMP := now()::timestamp;
    later TIMESTAMP := now()::timestamp + interval '1 hour';
    subs VARCHAR[]; keys VARCHAR[]; sess VARCHAR[];
    r RECORD;
BEGIN
    FOR f0 IN 0 .. $SESS - 1 BY n LOOP
        subs := ARRAY(SELECT (491720000000 + f0 + i)::text FROM generate_series(0, n - 1) i);
        keys := ARRAY(SELECT 'apply-bench;' || (f0 + i) || '|rg' FROM generate_series(0, n - 1) i);
        sess := ARRAY(SELECT 'apply-bench;' || (f0 + i) FROM generate_series(0, n - 1) i);
        FOR step IN 1 .. 3 LOOP
            FOR r IN SELECT * FROM ocs_apply(
                    array_fill(CASE step WHEN 1 THEN 1 WHEN 2 THEN 5 ELSE 2 END, ARRAY[n]), subs,
                    array_fill('octets'::varchar, ARRAY[n]), array_fill(NULL::bigint, ARRAY[n]),
                    array_fill(CASE WHEN step < 3 THEN 1048576 ELSE 0 END::bigint, ARRAY[n]),
                    array_fill(CASE WHEN step > 1 THEN 524288 ELSE 0 END::bigint, ARRAY[n]), keys,
                    array_fill(later, ARRAY[n]),
                    ARRAY(SELECT k || '#' || step FROM unnest(keys) k), now_, sess,
                    array_fill('1'::varchar, ARRAY[n]), array_fill(step - 1::bigint, ARRAY[n]),
                    array_fill('apply-bench'::varchar, ARRAY[n])) LOOP
                IF r.fresh IS NOT TRUE THEN
                    RAISE EXCEPTION 'change % of step % not made', r.n, step;
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
END \$\$;
ROLLBACK;
EOF
chmod 644 "$sql"
for round in $(seq "$ROUNDS"); do
  for db in "$A" "$B"; do
    ms=$(su postgres -c "psql -X -v ON_ERROR_STOP=1 -d $db -f $sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sort -n | tail -1)
    awk -v db="$db" -v ms="$ms" -v n="$SESS" 'BEGIN { printf "%s us_per_change=%.1f\n", db, ms * 1000 / (3 * n) }'
  done
done
