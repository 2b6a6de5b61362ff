#!/usr/bin/env bash
# Logical path benchmark, one run (not part of the test run). On the stack's PostgreSQL (deploy/local/stack.sh, its
# ports from PG_PORT etc. as for the tests), a database of varied data in several schemas (numeric, text, arrays,
# jsonb, bytea, timestamps; keys, foreign keys and indexes; about 450 MB at SCALE=1) is dumped and restored bare:
# `pg_dump -Fc -Z0 | zstd -1`, `pg_dump -Fd -Z0 -j2` to local disk and `pg_restore -j2` of that directory. Then the
# packaged platform (started by e2e-tests' LogicalBench on free ports, its own topics' consumer groups and platform
# database; one snapshot-worker) takes a FULL of the same database (from the request until the catalog recorded it
# COMPLETED, read from the catalog's event table, so that the bench's own polling stays rare) and restores it in a
# drill (the RestoreDatabase step's fetch and pg_restore times), and times FULLs of a tiny database: the fixed cost of
# the event hops, with the median time of each hop read from the times the services record. Before each of Lifeboat's
# FULLs and restores, LogicalBench runs the bare pipe or `pg_restore -j2` once more, so that every round's ratio
# compares the two under the same load of the moment. Prints one table with the ratios the targets are stated in.
#
# Needs: the services packaged (./mvnw install -DskipTests), pg_dump/pg_restore/psql/pgbench and zstd on PATH.
# Usage: deploy/bench/logical.sh   (SCALE=2 doubles the data; KEEP=1 keeps the database for the next run;
# WRITE_RATE=N write transactions a second during every measurement, bare and Lifeboat's (default 50; 0: none);
# FULL_ROUNDS=2 times the same worker's next FULL too (the first is a fresh worker's), RESTORE_ROUNDS=2 its next
# restore; CHANGE=0 skips the INCREMENTAL after a 1 % scattered change; CPU_REPORT=1 prints each process's
# CPU-seconds during every dump and restore (CPU_REPORT=threads also the JVMs' JIT, GC and Kafka polling threads); MVN_ARGS for Maven, e.g. MVN_ARGS="-o -Dmaven.repo.local=/path/m2", split
# on spaces; SERVICE_JAVA_OPTS, passed whole, replaces the services' JVM options (the bench profile's
# -Xmx512m -XX:G1HeapRegionSize=16m, as ./lifeboat starts the workers), e.g. SERVICE_JAVA_OPTS="-Xmx512m
# -XX:G1HeapRegionSize=16m -XX:StartFlightRecording=filename=/tmp/jfr/%p.jfr,settings=profile" for a flight
# recording of each service)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_PORT=${PG_PORT:-25432}
SCALE=${SCALE:-1}
DB=bench_logical
OUT=${LIFEBOAT_WORK:-$ROOT/.work}/bench-logical
export PGPASSWORD=${PGPASSWORD:-postgres} PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
mkdir -p "$OUT"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
CPU_PID=
cleanup() {
  set +e
  [[ -z ${CPU_PID:-} ]] || kill "$CPU_PID" 2>/dev/null
  [[ -z ${WRITER_PID:-} ]] || { kill "$WRITER_PID" 2>/dev/null; wait "$WRITER_PID" 2>/dev/null; }
  "${PSQL[@]}" -d postgres -c "drop database if exists ${DB}_bare" >/dev/null
  [[ ${KEEP:-0} == 1 ]] || "${PSQL[@]}" -d postgres -c "drop database if exists $DB" >/dev/null
  rm -rf "$OUT/dump" "$OUT/pipe.zst"
}
trap cleanup EXIT
"${PSQL[@]}" -d postgres -c "select 1" >/dev/null || { echo "no PostgreSQL on 127.0.0.1:$PG_PORT (deploy/local/stack.sh up postgres)" >&2; exit 1; }

if [[ -z $("${PSQL[@]}" -d postgres -c "select 1 from pg_database where datname = '$DB'") ]]; then
  echo "creating $DB (SCALE=$SCALE)"
  "${PSQL[@]}" -d postgres -c "create database $DB"
  "${PSQL[@]}" -d "$DB" -v s="$SCALE" <<'SQL'
create schema shop; create schema events; create schema media; create schema metrics;
create table shop.customers (id bigint primary key, name text not null, email text, balance numeric(14,2),
  tags text[], profile jsonb, created_at timestamptz);
insert into shop.customers select g, 'customer ' || g, 'c' || g || '@example.org', (g * 37 % 100000) / 7.0,
  array['t' || g % 7, 't' || g % 11], jsonb_build_object('tier', g % 5, 'city', 'city ' || g % 300, 'opt', g % 2 = 0),
  timestamptz '2020-01-01' + g * interval '7 minutes'
  from generate_series(1, 200000 * :s) g;
create table shop.orders (id bigint primary key, customer_id bigint not null references shop.customers,
  total numeric(12,2), status text, placed_at timestamptz);
insert into shop.orders select g, 1 + g % (200000 * :s), (g * 13 % 50000) / 3.0,
  (array['new','paid','shipped','returned'])[1 + g % 4], timestamptz '2021-01-01' + g * interval '1 minute'
  from generate_series(1, 1000000 * :s) g;
create index on shop.orders (customer_id);
create table shop.order_items (order_id bigint references shop.orders, line int, sku text, quantity int,
  price numeric(10,2), primary key (order_id, line));
insert into shop.order_items select o, l, 'SKU-' || (o * l) % 9973, 1 + (o + l) % 9, ((o * 7 + l) % 20000) / 9.0
  from generate_series(1, 1000000 * :s) o, generate_series(1, 2) l;
create table events.log (id bigint primary key, at timestamptz, kind text, payload jsonb);
insert into events.log select g, timestamptz '2022-01-01' + g * interval '1 second', 'kind' || g % 17,
  jsonb_build_object('user', g % 5000, 'path', '/api/v1/items/' || g, 'ms', g % 997, 'ok', g % 13 <> 0,
                     'trace', md5(g::text))
  from generate_series(1, 500000 * :s) g;
create index on events.log (at);
create table media.blobs (id int primary key, name text, content bytea);
insert into media.blobs select g, 'file-' || g || '.bin',
  decode(md5(g::text) || repeat(md5((g * 31)::text) || md5((g * 17)::text), 60), 'hex')
  from generate_series(1, 40000 * :s) g;
create table metrics.samples (ts timestamptz, host int, cpu float8, mem float8, vals int[]);
insert into metrics.samples select timestamptz '2023-01-01' + g * interval '10 seconds', g % 64, (g % 1000) / 10.0,
  sin(g) * 1000, array[g % 100, g % 1000, g % 10000]
  from generate_series(1, 1500000 * :s) g;
create index on metrics.samples (host, ts);
vacuum analyze;
SQL
fi
SIZE=$("${PSQL[@]}" -d "$DB" -c "select pg_size_pretty(pg_database_size('$DB'))")
echo "database $DB: $SIZE"

# CPU_REPORT=1: each process's CPU-seconds during every dump and restore, printed at the end; CPU_REPORT=threads
# also splits the JVMs' share into JIT, GC, Kafka polling and the rest (the sampler then costs more CPU itself)
if [[ ${CPU_REPORT:-0} == 1 || ${CPU_REPORT:-0} == threads ]]; then
  # shellcheck disable=SC2046
  "$ROOT/deploy/bench/cpu-by-process.py" record "$OUT/cpu.txt" $([[ $CPU_REPORT == threads ]] && echo threads) & CPU_PID=$!
fi

# writes go on during every measurement, bare and Lifeboat alike: WRITE_RATE transactions a second (0: none), each
# updating rows at random over the four schemas and adding one
WRITE_RATE=${WRITE_RATE:-50}
WRITER_PID=
if [[ $WRITE_RATE -gt 0 ]]; then
  cat > "$OUT/writes.sql" <<'PGB'
\set o random(1, 1000000)
\set c random(1, 200000)
\set e random(1, 500000)
\set b random(1, 40000)
begin;
update shop.orders set status = 'returned', total = total + 1 where id = :o;
update shop.order_items set quantity = quantity + 1 where order_id = :o;
update shop.customers set balance = balance - 1, profile = profile || '{"touched": true}' where id = :c;
update events.log set payload = payload || '{"seen": 1}' where id = :e;
update media.blobs set name = name || '+' where id = :b;
insert into metrics.samples values (now(), :b % 64, random() * 100, random() * 1000, array[:o % 100, :c % 1000]);
commit;
PGB
  pgbench -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -c 1 -R "$WRITE_RATE" -T 7200 -f "$OUT/writes.sql" "$DB" \
    > "$OUT/writes.log" 2>&1 &
  WRITER_PID=$!
  echo "writing $WRITE_RATE transactions a second into $DB while everything below runs (pgbench pid $WRITER_PID)"
fi
writer_alive() { [[ -z $WRITER_PID ]] || kill -0 "$WRITER_PID" 2>/dev/null || { echo "the writer (pgbench) died: $(tail -3 "$OUT/writes.log")" >&2; exit 1; }; }

rm -f "$OUT/pipe.zst"
T0=$(now); pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres --format=custom --compress=0 "$DB" | zstd -q -1 > "$OUT/pipe.zst"; T1=$(now)
ZSTD_S=$(secs "$T0" "$T1"); ZSTD_B=$(stat -c %s "$OUT/pipe.zst"); rm -f "$OUT/pipe.zst"
rm -rf "$OUT/dump"
T0=$(now); pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres --format=directory --compress=0 --jobs=2 -f "$OUT/dump" "$DB"; T1=$(now)
FD_S=$(secs "$T0" "$T1")
"${PSQL[@]}" -d postgres -c "drop database if exists ${DB}_bare" -c "create database ${DB}_bare"
T0=$(now); pg_restore -h 127.0.0.1 -p "$PG_PORT" -U postgres --jobs=2 --no-owner --exit-on-error -d "${DB}_bare" "$OUT/dump"; T1=$(now)
PGR_S=$(secs "$T0" "$T1")
# the dump stays for the bare restores LogicalBench runs just before each of its own (removed on exit)
"${PSQL[@]}" -d postgres -c "drop database ${DB}_bare"
writer_alive
echo "bare: pg_dump -Fc -Z0 | zstd -1 ${ZSTD_S} s ($((ZSTD_B / 1048576)) MB), pg_dump -Fd -Z0 -j2 ${FD_S} s, pg_restore -j2 ${PGR_S} s"

# CHANGE=1 (default): after the FULLs, 1 % of every table's rows updated, scattered (every hundredth key; a
# different hundredth each run), then an INCREMENTAL: the share of the FULL it uploads
CHANGE_ARG=
if [[ ${CHANGE:-1} == 1 ]]; then
  cat > "$OUT/change.sql" <<'SQL'
create temporary table pick as select (extract(epoch from clock_timestamp())::bigint % 100) as r;
update shop.customers set balance = balance + 1 where id % 100 = (select r from pick);
update shop.orders set total = total + 1 where id % 100 = (select r from pick);
update shop.order_items set quantity = quantity + 1 where order_id % 100 = (select r from pick);
update events.log set payload = payload || '{"changed": true}' where id % 100 = (select r from pick);
update media.blobs set name = name || '~' where id % 100 = (select r from pick);
update metrics.samples set cpu = cpu + 1 where (extract(epoch from ts)::bigint / 10) % 100 = (select r from pick);
drop table pick;
SQL
  CHANGE_ARG=-Dlifeboat.bench.change-sql=$OUT/change.sql
fi
LOG=$OUT/lifeboat.log
# shellcheck disable=SC2086
(cd "$ROOT" && ./mvnw -B ${MVN_ARGS:-} -pl e2e-tests verify -Dit.test=LogicalBench -Dtest=none \
   -Dlifeboat.bench=true -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false \
   -Dlifeboat.bench.database="$DB" -Dlifeboat.bench.full-rounds="${FULL_ROUNDS:-1}" \
   -Dlifeboat.bench.restore-rounds="${RESTORE_ROUNDS:-1}" -Dlifeboat.bench.bare-dir="$OUT" $CHANGE_ARG \
   ${SERVICE_JAVA_OPTS:+"-Dtest.jvm.options=$SERVICE_JAVA_OPTS"}) > "$LOG" 2>&1 || { tail -60 "$LOG"; echo "LogicalBench failed; log: $LOG" >&2; exit 1; }
writer_alive
val() { sed -n "s/^BENCH $1=//p" "$LOG" | tail -1; }
FULL_MS=$(val full_ms); TINY=$(val tiny_full_ms); TINY_MED=$(val tiny_full_median_ms)
STEPS=$(val restore_steps)
FETCH_MS=$(jq -r '[.[0].details | .. | .fetchMillis? // empty] | first // empty' <<<"$STEPS" 2>/dev/null || true)
PGRL_MS=$(jq -r '[.[0].details | .. | .pgRestoreMillis? // empty] | first // empty' <<<"$STEPS" 2>/dev/null || true)
# the RestoreDatabase step's own total, from a drill's steps
restore_total() { jq -r '[.[0].details | .. | .totalMillis? // empty] | first // empty' <<<"$1" 2>/dev/null || true; }
RTOT_MS=$(restore_total "$STEPS")
STEP_MS=$(jq -r '.[0].durationMillis' <<<"$STEPS" 2>/dev/null || true)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else print "-" }'; }
FULL_S=$(awk -v m="$FULL_MS" 'BEGIN{printf "%.2f", m/1000}')
RTOT_S=$(awk -v m="${RTOT_MS:-0}" 'BEGIN{printf "%.2f", m/1000}')
echo
echo "results on $DB ($SIZE; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $WRITE_RATE write transactions a second throughout):"
printf '  %-52s %9s  %s\n' what "wall s" note
printf '  %-52s %9s  %s\n' "pg_dump -Fc -Z0 | zstd -1" "$ZSTD_S" "$((ZSTD_B / 1048576)) MB"
printf '  %-52s %9s  %s\n' "pg_dump -Fd -Z0 -j2 to local disk" "$FD_S" ""
# the first FULL and restore next to the bare round run just before each (the script's own bare runs above came
# minutes earlier, under another load)
first_ms() { jq -r '.[0] // empty' <<<"$1" 2>/dev/null || true; }
BARE_FULL_MS=$(first_ms "$(val bare_full_rounds_ms)")
BARE_RESTORE_MS=$(first_ms "$(val bare_restore_rounds_ms)")
printf '  %-52s %9s  %s\n' "Lifeboat logical FULL (request until catalog COMPLETED)" "$FULL_S" "$(ratio "$FULL_MS" "${BARE_FULL_MS:-0}") of the zstd pipe run just before it (${BARE_FULL_MS:-?} ms; target 1.3x)"
if [[ ${FULL_ROUNDS:-1} -gt 1 ]]; then
  printf '  %-52s %9s  %s\n' "  the same worker's FULLs, in order (ms)" "" "$(val full_rounds_ms)"
fi
# each round's ratio to the bare round run just before it (same load of the moment)
per_round() { jq -nr --argjson a "$1" --argjson b "$2" \
  '[range(0; [($a|length), ($b|length)] | min) | "\($a[.]) / \($b[.]) = \((($a[.] / $b[.]) * 100 | round) / 100)x"] | join(", ")' \
  2>/dev/null || echo "-"; }
printf '  %-52s %9s  %s\n' "  each FULL / the zstd pipe just before it (ms)" "" \
  "$(per_round "$(val full_rounds_ms)" "$(val bare_full_rounds_ms)")"
printf '  %-52s %9s  %s\n' "  chunks of the (last) FULL" "" "$(val full_chunks)"
if [[ -n $CHANGE_ARG ]]; then
  printf '  %-52s %9s  %s\n' "INCREMENTAL after 1 % of rows changed, scattered (ms)" "$(val incremental_ms)" \
    "uploaded $(val incremental_uploaded) bytes, $(val incremental_share) of the FULL's; chunks uploaded/total $(val incremental_chunks)"
fi
printf '  %-52s %9s  %s\n' "pg_restore -j2 (bare)" "$PGR_S" ""
printf '  %-52s %9s  %s\n' "Lifeboat restore (RestoreDatabase: fetch+pg_restore)" "$RTOT_S" "$(ratio "${RTOT_MS:-0}" "${BARE_RESTORE_MS:-0}") of bare pg_restore run just before it (${BARE_RESTORE_MS:-?} ms; target 1.15x); fetch ${FETCH_MS:-?} ms, pg_restore ${PGRL_MS:-?} ms, step ${STEP_MS:-?} ms"
if [[ ${RESTORE_ROUNDS:-1} -gt 1 ]]; then
  NEXT=()
  for ((i = 1; i < RESTORE_ROUNDS; i++)); do
    NEXT+=("$(restore_total "$(val "restore_round_${i}_steps")")")
  done
  printf '  %-52s %9s  %s\n' "  the same worker's next restores (RestoreDatabase ms)" "" "${NEXT[*]}"
fi
ALL=()
for ((i = 0; i < ${RESTORE_ROUNDS:-1}; i++)); do ALL+=("$(restore_total "$(val "restore_round_${i}_steps")")"); done
printf '  %-52s %9s  %s\n' "  each restore / bare pg_restore just before it (ms)" "" \
  "$(per_round "[$(IFS=,; echo "${ALL[*]}")]" "$(val bare_restore_rounds_ms)")"
printf '  %-52s %9s  %s\n' "tiny database FULL, until catalog COMPLETED (ms)" "$TINY_MED" "median of $TINY"
echo "  tiny FULL per hop, median ms (request row, relay, snapshot-worker, sealing, catalog): $(val tiny_hops_median_ms)"
echo "  large FULL per hop, ms (the same hops): $(val full_round_0_hops_ms)"
echo "  one tiny backup's catalog entry: $(val tiny_entry)"
if [[ -n $CPU_PID ]]; then
  echo "  CPU-seconds by process while pg_dump, then pg_restore ran (the first of each is bare):"
  "$ROOT/deploy/bench/cpu-by-process.py" report "$OUT/cpu.txt" pg_dump pg_restore | sed 's/^/    /'
fi
