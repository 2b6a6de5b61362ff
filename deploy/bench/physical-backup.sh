#!/usr/bin/env bash
# Physical backup benchmark, one run: a physical FULL (pg_basebackup's tar stream chunked, compressed, encrypted and
# uploaded by snapshot-worker's physical path) next to `pgbackrest backup --type=full` (zst, process-max 2) of the
# same cluster, plus the peak RSS of the JVM that ran the physical path.
#
# The cluster is one of its own (initdb under the work directory, port BENCH_PG_PORT, run as the postgres OS user
# when root), filled with SIZE_GB (1) of varied data in two schemas: narrow rows with numeric and arrays, jsonb
# orders, and documents with incompressible bytea; then VACUUM (FREEZE, ANALYZE) and a checkpoint. The physical FULL
# runs PhysicalBackupBench (snapshot-worker test sources, through Maven's surefire, -Xmx$JAVA_XMX) against the
# S3-compatible server of deploy/local/stack.sh (S3_PORT); pgBackRest writes to a repository directory on the same
# disk, WAL archived by archive-push, online with start-fast.
#
# Needs: deploy/local/stack.sh up s3 (same S3_PORT), PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin),
# pgbackrest (apt-get install -y pgbackrest), a JDK 21+. Usage: deploy/bench/physical-backup.sh
# Environment: BENCH_PG_PORT (21435), S3_PORT (9000), SIZE_GB (1), WORK (<repo>/.work/physical-bench), JAVA_XMX (512m),
# MAVEN_ARGS (extra Maven arguments, e.g. -o -Dmaven.repo.local=...), SKIP_BUILD=1 when the modules are installed,
# KEEP=1 keeps the cluster and pgBackRest's repository. Everything else it starts is stopped on exit, by pid.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${BENCH_PG_PORT:-21435}
S3_PORT=${S3_PORT:-9000}
SIZE_GB=${SIZE_GB:-1}
WORK=${WORK:-$ROOT/.work/physical-bench}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DATA=$WORK/data
PGBR=$WORK/pgbackrest
AS_PG=()
[[ $(id -u) == 0 ]] && AS_PG=(runuser -u postgres --)

fail() { echo "physical-bench: $*" >&2; exit 1; }
say() { echo "== $*"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
command -v pgbackrest >/dev/null || fail "pgbackrest is required (apt-get install -y pgbackrest)"
(exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null || fail "no S3-compatible server on 127.0.0.1:$S3_PORT (deploy/local/stack.sh up s3; set S3_PORT)"
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && fail "port 127.0.0.1:$PORT is in use (set BENCH_PG_PORT)"
if [[ -z ${JAVA_HOME:-} ]]; then
  for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64; do
    [[ -x $j/bin/java ]] && { export JAVA_HOME=$j; break; }
  done
fi

stop_cluster() {
  [[ -f $DATA/postmaster.pid ]] && "${AS_PG[@]}" "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
}
cleanup() {
  stop_cluster
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

rm -rf "$WORK"; mkdir -p "$WORK" "$PGBR/repo" "$PGBR/log" "$PGBR/spool"
[[ $(id -u) == 0 ]] && chown -R postgres:postgres "$WORK"
echo postgres > "$WORK/.pw"; [[ $(id -u) == 0 ]] && chown postgres "$WORK/.pw"
cat > "$PGBR/pgbackrest.conf" <<EOF
[global]
repo1-path=$PGBR/repo
repo1-retention-full=2
log-path=$PGBR/log
spool-path=$PGBR/spool
lock-path=$PGBR/spool
compress-type=zst
process-max=2
start-fast=y
log-level-console=warn

[bench]
pg1-path=$DATA
pg1-port=$PORT
pg1-socket-path=$WORK
pg1-user=postgres
EOF
[[ $(id -u) == 0 ]] && chown -R postgres:postgres "$PGBR"
PGBACKREST=("${AS_PG[@]}" pgbackrest --config="$PGBR/pgbackrest.conf" --stanza=bench)

say "initdb under $DATA, port $PORT"
"${AS_PG[@]}" "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$WORK/.pw" -E UTF8 --locale=C.UTF-8 \
  --auth-local=trust --auth-host=scram-sha-256 >/dev/null
cat >> "$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORK'
wal_level = replica
max_wal_senders = 10
shared_buffers = 256MB
max_wal_size = 4GB
archive_mode = on
archive_command = 'pgbackrest --config=$PGBR/pgbackrest.conf --stanza=bench archive-push %p'
EOF
cat > "$DATA/pg_hba.conf" <<EOF
local all         all                       trust
host  replication replicator 127.0.0.1/32  scram-sha-256
host  all         all        127.0.0.1/32  scram-sha-256
EOF
"${AS_PG[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$WORK/postgres.log" -w start >/dev/null
PSQL=("${AS_PG[@]}" "$BIN/psql" -h "$WORK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
"${PSQL[@]}" -c "create role replicator login replication password 'replicator'"

ROWS=$((SIZE_GB * 1000000))
say "filling the cluster with ~$SIZE_GB GB of varied data"
t0=$(now)
"${PSQL[@]}" <<EOF
create schema sales; create schema docs;
create table sales.customers (id int primary key, name text, email text, balance numeric(12,2), tags text[],
  created timestamptz);
insert into sales.customers select g, 'customer ' || g, 'c' || g || '@example.org', (g * 7.31) % 10000,
  array['t' || g % 7, 't' || g % 11], '2024-01-01'::timestamptz + g * interval '1 min'
  from generate_series(1, $ROWS) g;
create table sales.orders (id bigint primary key, customer int, amount numeric(12,2), placed timestamptz, lines jsonb);
insert into sales.orders select g, g % $ROWS + 1, (g * 13.7) % 5000, '2024-06-01'::timestamptz + g * interval '7 s',
  jsonb_build_object('sku', 'sku-' || g % 997, 'qty', g % 9 + 1, 'note', md5(g::text))
  from generate_series(1, $((ROWS * 2))) g;
create index on sales.orders (customer);
create table docs.documents (id int primary key, title text, version int, body bytea);
insert into docs.documents select g, 'document ' || g, 1, decode(string_agg(md5(g::text || '-' || k), ''), 'hex')
  from generate_series(1, $((ROWS / 5))) g, generate_series(1, 150) k group by g;
vacuum (freeze, analyze);
checkpoint;
EOF
say "cluster ready in $(secs "$t0" "$(now)") s: $("${PSQL[@]}" -c "select pg_size_pretty(sum(pg_database_size(oid))) from pg_database")"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  say "building snapshot-worker and what it needs"
  (cd "$ROOT" && ./mvnw -B -q ${MAVEN_ARGS:-} -pl snapshot-worker -am install -DskipTests)
fi

say "physical FULL (snapshot-worker's physical path)"
t0=$(now)
(cd "$ROOT" && ./mvnw -B -q ${MAVEN_ARGS:-} -pl snapshot-worker test -Dtest=PhysicalBackupBench \
  -Dsurefire.failIfNoSpecifiedTests=false -DargLine="-Xmx${JAVA_XMX:-512m}" -Dlifeboat.bench=true \
  -Dlifeboat.bench.pg-port="$PORT" -Dlifeboat.bench.s3-endpoint="http://127.0.0.1:$S3_PORT" \
  -Dlifeboat.bench.pg-basebackup="$BIN/pg_basebackup") | tee "$WORK/lifeboat.out" | grep BENCH || \
  fail "the physical FULL failed; output in $WORK/lifeboat.out"
LIFEBOAT=$(grep -o 'physical FULL: [0-9.]* s' "$WORK/lifeboat.out" | grep -o '[0-9.]*')
say "Maven + JVM start included: $(secs "$t0" "$(now)") s"

say "pgbackrest backup --type=full (zst, process-max 2)"
"${PGBACKREST[@]}" stanza-create
t0=$(now)
"${PGBACKREST[@]}" backup --type=full
PGBR_SECS=$(secs "$t0" "$(now)")
PGBR_SIZE=$(du -sb "$PGBR/repo/backup" | cut -f1)

echo
printf '%-52s %10s\n' "" "wall (s)"
printf '%-52s %10s\n' "Lifeboat physical FULL (PhysicalBackup + SnapshotWriter)" "$LIFEBOAT"
printf '%-52s %10s\n' "pgbackrest backup --type=full (zst, process-max 2)" "$PGBR_SECS"
echo "pgBackRest repository: $PGBR_SIZE bytes; Lifeboat: $(grep -o '[0-9]* bytes uploaded' "$WORK/lifeboat.out")"
