#!/usr/bin/env bash
# Physical backup benchmark, one run: a physical FULL (pg_basebackup's tar stream chunked, compressed, encrypted and
# uploaded by snapshot-worker's physical path) next to `pgbackrest backup --type=full` (zst, process-max 2) of the
# same cluster, plus the peak RSS of the JVM that ran the physical path.
#
# The cluster is one of its own (initdb under the work directory, port BENCH_PG_PORT, run as the postgres OS user
# when root), filled with SIZE_GB (1) of varied data in two schemas: narrow rows with numeric and arrays, jsonb
# orders, and documents with incompressible bytea; then VACUUM (FREEZE, ANALYZE) and a checkpoint. The physical FULL
# runs PhysicalBackupBench (snapshot-worker test sources, through Maven's surefire, -Xmx$JAVA_XMX and
# BENCH_JAVA_OPTS, default -XX:G1HeapRegionSize=16m as snapshot-worker runs in production) against the
# S3-compatible server of deploy/local/stack.sh (S3_PORT); pgBackRest writes to a repository directory on the same
# disk, WAL archived by archive-push, online with start-fast.
#
# Needs: deploy/local/stack.sh up s3 (same S3_PORT), PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin),
# pgbackrest (apt-get install -y pgbackrest), a JDK 21+. Usage: deploy/bench/physical-backup.sh
# Environment: BENCH_PG_PORT (21435), S3_PORT (9000), SIZE_GB (1), WORK (<repo>/.work/physical-bench), JAVA_XMX (512m),
# MAVEN_ARGS (extra Maven arguments, e.g. -o -Dmaven.repo.local=...), SKIP_BUILD=1 when the modules are installed,
# KEEP=1 keeps the cluster and pgBackRest's repository. Everything else it starts is stopped on exit, by pid.
# The JVM warms up the chunk codec before the FULL, as a worker does at its start; MAVEN_ARGS=-Dlifeboat.bench.cold=true
# times the FULL in a cold JVM instead.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/deploy/bench/varied-cluster.sh"
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

cleanup() {
  varied_cluster_stop
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

rm -rf "$WORK"; mkdir -p "$WORK" "$PGBR/repo" "$PGBR/log" "$PGBR/spool"
[[ $(id -u) == 0 ]] && chown -R postgres:postgres "$WORK"
pgbackrest_conf
[[ $(id -u) == 0 ]] && chown -R postgres:postgres "$PGBR"

say "initdb under $DATA, port $PORT"
EXTRA_CONF="archive_mode = on
archive_command = 'pgbackrest --config=$PGBR/pgbackrest.conf --stanza=bench archive-push %p'"
varied_cluster_init

say "filling the cluster with ~$SIZE_GB GB of varied data"
t0=$(now)
varied_cluster_fill
say "cluster ready in $(secs "$t0" "$(now)") s: $("${PSQL[@]}" -c "select pg_size_pretty(sum(pg_database_size(oid))) from pg_database")"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  say "building snapshot-worker and what it needs"
  (cd "$ROOT" && ./mvnw -B -q ${MAVEN_ARGS:-} -pl snapshot-worker -am install -DskipTests)
fi

say "physical FULL (snapshot-worker's physical path)"
t0=$(now)
(cd "$ROOT" && ./mvnw -B -q ${MAVEN_ARGS:-} -pl snapshot-worker test -Dtest=PhysicalBackupBench \
  -Dsurefire.failIfNoSpecifiedTests=false -DargLine="-Xmx${JAVA_XMX:-512m} ${BENCH_JAVA_OPTS:--XX:G1HeapRegionSize=16m}" -Dlifeboat.bench=true \
  -Dlifeboat.bench.pg-port="$PORT" -Dlifeboat.bench.s3-endpoint="http://127.0.0.1:$S3_PORT" \
  -Dlifeboat.bench.pg-basebackup="$BIN/pg_basebackup" ${CHUNK_SIZES:+-Dlifeboat.bench.chunk-sizes=$CHUNK_SIZES}) | tee "$WORK/lifeboat.out" | grep BENCH || \
  fail "the physical FULL failed; output in $WORK/lifeboat.out"
LIFEBOAT=$(grep -o 'physical FULL: [0-9.]* s' "$WORK/lifeboat.out" | head -1 | grep -o '[0-9.]*')
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
