#!/usr/bin/env bash
# Authentication benchmark, one run: what checking a bearer JWT costs on catalog-service's list endpoint,
# GET /api/v1/backups?size=20. Two builds of catalog-service answer the same requests against the same database:
#   with token check     the current tree (smallrye-jwt: signature, issuer, expiry and roles on every request)
#   without token check  BASELINE (default 00b18d2, the last commit before authentication), built in a temporary
#                        git worktree under the work directory. It differs by more than the check: the
#                        commits since (for 00b18d2 also Quarkus 3.32.4 against 3.33.2), so read small
#                        differences as noise.
# Every request of both runs carries the same valid viewer token, so the requests are byte for byte the same and
# the only difference is the check. Each run: WARMUP unmeasured requests, then REQUESTS measured ones from
# CONCURRENCY virtual threads (deploy/bench/AuthBench.java, java.net.http, HTTP/1.1 keep-alive); p50/p99 latency
# and requests/s; ratio = p50 over the p50 without the check. The two runs go one after the other, and only one
# catalog-service runs at a time.
#
# The catalog's rows come the way they come in production: AuthBench.java publishes BackupRequested,
# SnapshotCreated and BackupCompleted (one in forty BackupFailed instead) CloudEvents, made by the contracts
# module's EventCodec, for BACKUPS hourly backups (a FULL a day, INCREMENTAL otherwise) over SOURCES sources,
# and the current build consumes them into its schema before it is measured. The events go to topics of the run's
# own (auth-bench-<id>.*), never the platform's lifeboat.* topics: a BackupRequested there would start real backups.
#
# Needs Kafka and PostgreSQL of deploy/local/stack.sh (`deploy/local/stack.sh up kafka postgres`), a JDK 21+,
# curl, jq, psql. Usage: deploy/bench/auth-bench.sh
# Environment: KAFKA_PORT (9092), PG_PORT (25432), BENCH_PORT (18085) and BASELINE_PORT (18185) for the two
# catalog-service instances, BACKUPS (3000), SOURCES (8), REQUESTS (10000), WARMUP (2000), CONCURRENCY (8),
# BASELINE (00b18d2), LIFEBOAT_JAVA_OPTS (-Xmx512m), SKIP_BUILD=1 to use the current tree's catalog-service as
# built; Maven reads extra arguments from MAVEN_ARGS (e.g. -Dmaven.repo.local=...).
# Everything it creates goes on exit: both catalog-service processes (by pid), the database, the topics and the
# consumer group, the key pair and tokens, the baseline worktree and the work directory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KAFKA_PORT=${KAFKA_PORT:-9092}; PG_PORT=${PG_PORT:-25432}
BENCH_PORT=${BENCH_PORT:-18085}; BASELINE_PORT=${BASELINE_PORT:-18185}
BACKUPS=${BACKUPS:-3000}; SOURCES=${SOURCES:-8}
REQUESTS=${REQUESTS:-10000}; WARMUP=${WARMUP:-2000}; CONCURRENCY=${CONCURRENCY:-8}
BASELINE=${BASELINE:-00b18d2}
JAVA_OPTS=${LIFEBOAT_JAVA_OPTS:--Xmx512m}
PATH_QUERY="/api/v1/backups?size=20"
RUN_ID=$(date +%s)-$$
DB=auth_bench_${RUN_ID//-/_}
PREFIX=auth-bench-$RUN_ID
GROUP=catalog-service-auth-bench-$RUN_ID
NAME=auth-bench
source "$ROOT/deploy/bench/catalog-bench-lib.sh"
bench_java
for tool in curl jq psql git; do command -v "$tool" >/dev/null || fail "$tool is required"; done
git -C "$ROOT" rev-parse --verify -q "$BASELINE^{commit}" >/dev/null || fail "baseline commit '$BASELINE' not found in $ROOT"
for p in "$BENCH_PORT" "$BASELINE_PORT"; do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && fail "port 127.0.0.1:$p is in use (set BENCH_PORT / BASELINE_PORT)"
done
bench_servers

mkdir -p "$ROOT/.work"
WORK=$(mktemp -d "$ROOT/.work/auth-bench.XXXXXX")
BASE_TREE=$WORK/baseline
PIDS=(); DB_CREATED=0; TOPICS_CREATED=0; TREE_CREATED=0
cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)); then   # the logs go with the work directory: show their ends first
    for f in "$WORK/current.log" "$WORK/baseline.log"; do [[ -s $f ]] && { echo "--- end of ${f##*/}"; tail -20 "$f"; } >&2; done
  fi
  bench_teardown
  if [[ $TREE_CREATED == 1 ]]; then git -C "$ROOT" worktree remove --force "$BASE_TREE"; fi
  rm -rf "$WORK"
  git -C "$ROOT" worktree prune
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- builds
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  say "building catalog-service (current tree, $(git -C "$ROOT" rev-parse --short HEAD))"
  (cd "$ROOT" && ./mvnw -B -q -DskipTests package -pl catalog-service -am) || fail "build of the current tree failed"
fi
[[ -f $ROOT/catalog-service/target/quarkus-app/quarkus-run.jar ]] || fail "catalog-service not built in $ROOT (run without SKIP_BUILD)"
say "building catalog-service at $BASELINE (no authentication) in a temporary worktree"
git -C "$ROOT" worktree add -q --detach "$BASE_TREE" "$BASELINE"; TREE_CREATED=1
(cd "$BASE_TREE" && ./mvnw -B -q -DskipTests package -pl catalog-service -am) || fail "build of $BASELINE failed"
if ls "$BASE_TREE/catalog-service/target/quarkus-app/lib/main/" | grep -q smallrye-jwt; then
  fail "$BASELINE already has smallrye-jwt: not a build without authentication"
fi

# ---------------------------------------------------------------- tokens, database, topics
(umask 077; mint auth-bench lifeboat-viewer > "$WORK/viewer.token"; mint catalog-service lifeboat-viewer > "$WORK/service.token")
"${PSQL[@]}" -d postgres -c "create database $DB owner lifeboat"; DB_CREATED=1
"${BENCH[@]}" topics "127.0.0.1:$KAFKA_PORT" "$PREFIX" create; TOPICS_CREATED=1

total() {   # total URL [curl args...]: the list's total (builds before cursor paging), or an empty line
  curl -s "$1$PATH_QUERY" "${@:2}" | jq -r '.total // empty' 2>/dev/null || true
}
declare -A P50 P99 RPS LABEL
measure() {   # measure with|without URL
  local out
  say "measuring ${LABEL[$1]}: $WARMUP warm-up + $REQUESTS requests, concurrency $CONCURRENCY (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  out=$("${BENCH[@]}" load "$2$PATH_QUERY" \
    "$WORK/viewer.token" "$REQUESTS" "$WARMUP" "$CONCURRENCY") || fail "load run against $2 failed"
  read -r "P50[$1]" "P99[$1]" "RPS[$1]" <<<"$out"
  [[ -n ${RPS[$1]:-} ]] || fail "load run against $2 printed nothing"
  echo "   p50 ${P50[$1]} ms, p99 ${P99[$1]} ms, ${RPS[$1]} req/s"
}

# ---------------------------------------------------------------- with the token check (current build)
LABEL[with]="with token check ($(git -C "$ROOT" rev-parse --short HEAD))"
LABEL[without]="without ($(git -C "$ROOT" rev-parse --short "$BASELINE"))"
CURRENT=http://127.0.0.1:$BENCH_PORT
say "starting catalog-service (current) on $BENCH_PORT, database $DB"
start_catalog "$ROOT/catalog-service/target/quarkus-app/quarkus-run.jar" "$BENCH_PORT" "$WORK/current.log" \
  LIFEBOAT_JWT_PUBLIC_KEY_LOCATION="file:$WORK/jwt/public.pem" LIFEBOAT_SERVICE_TOKEN_FILE="$WORK/service.token"
CURRENT_PID=$STARTED_PID
say "publishing $BACKUPS backups over $SOURCES sources to $PREFIX.backup.* (3 CloudEvents each)"
T0=$(date +%s.%N)
SEEDED=$("${BENCH[@]}" seed "127.0.0.1:$KAFKA_PORT" "$PREFIX" "$BACKUPS" "$SOURCES")
# consumed when every event is in the backups' histories; given up only when nothing moves for 120 s
EVENTS=0; STILL=0
while ((EVENTS < SEEDED * 3)); do
  sleep 1
  kill -0 "$CURRENT_PID" 2>/dev/null || fail "catalog-service stopped while consuming"
  NOW=$("${PSQL[@]}" -d "$DB" -c "select count(*) from catalog.backup_event" 2>/dev/null || echo 0)
  if ((NOW > EVENTS)); then EVENTS=$NOW; STILL=0; elif ((++STILL >= 120)); then
    fail "the catalog recorded $EVENTS of $((SEEDED * 3)) events and nothing more for 120 s"
  fi
done
# the current build counts no totals (its lists page by cursor): a full first page with a next cursor, and the rows
GOT=$(curl -s "$CURRENT$PATH_QUERY" -H "Authorization: Bearer $(cat "$WORK/viewer.token")" \
  | jq -r '"\(.items | length) \(.nextCursor != null)"' 2>/dev/null || true)
[[ $GOT == "20 true" ]] || fail "GET $PATH_QUERY answers ${GOT:-nothing}, expected a full page and a next cursor"
GOT=$("${PSQL[@]}" -d "$DB" -c "select count(*) from catalog.backup")
[[ $GOT == "$SEEDED" ]] || fail "the catalog holds $GOT backups, expected $SEEDED"
COMPLETED=$("${PSQL[@]}" -d "$DB" -c "select count(*) filter (where status = 'COMPLETED') || ' completed, ' ||
  count(*) filter (where status = 'FAILED') || ' failed, ' || count(distinct source_id) || ' sources' from catalog.backup")
echo "   the catalog recorded $SEEDED backups ($COMPLETED), $EVENTS events, in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
NOAUTH=$(curl -s -o /dev/null -w '%{http_code}' "$CURRENT$PATH_QUERY")
[[ $NOAUTH == 401 ]] || fail "the current build answered $NOAUTH without a token, expected 401"
measure with "$CURRENT"
stop "$CURRENT_PID"

# ---------------------------------------------------------------- without (baseline build), same database
OLD=http://127.0.0.1:$BASELINE_PORT
say "starting catalog-service ($BASELINE) on $BASELINE_PORT, same database"
start_catalog "$BASE_TREE/catalog-service/target/quarkus-app/quarkus-run.jar" "$BASELINE_PORT" "$WORK/baseline.log"
[[ $(total "$OLD") == "$SEEDED" ]] || fail "the baseline build does not answer $SEEDED backups without a token"
measure without "$OLD"
stop "$STARTED_PID"

# ---------------------------------------------------------------- table
echo
echo "GET $PATH_QUERY, $SEEDED backups over $SOURCES sources; machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %9s %12s %9s %9s %9s %7s\n' variant requests concurrency "p50 ms" "p99 ms" "req/s" ratio
for v in without with; do
  printf '%-30s %9s %12s %9s %9s %9s %7s\n' "${LABEL[$v]}" "$REQUESTS" "$CONCURRENCY" "${P50[$v]}" "${P99[$v]}" "${RPS[$v]}" \
    "$(awk -v a="${P50[$v]}" -v b="${P50[without]}" 'BEGIN{printf "%.2f", a/b}')"
done
echo "ratio: p50 over the p50 without the token check; p99 $(awk -v a="${P99[with]}" -v b="${P99[without]}" 'BEGIN{printf "%.2f", a/b}'),"\
  "req/s $(awk -v a="${RPS[with]}" -v b="${RPS[without]}" 'BEGIN{printf "%.2f", a/b}') (with / without)"
