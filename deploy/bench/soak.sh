#!/usr/bin/env bash
# Fault-injection soak, one run: the packaged services as separate processes (two instances of each worker) against
# the real servers of deploy/local/stack.sh, three sources under write load with policies firing every minute,
# on-demand backups and drills, while an injector kills -9 random instances (and restarts them), stops PostgreSQL,
# the object store and the broker for SOAK_OUTAGE_SECONDS each (same data, started again) and holds exclusive
# locks on a source table. Then the work drains and the run is checked: every request ended COMPLETED or FAILED
# with a reason (none open, none only dead-lettered), every COMPLETED backup passes full verification and one per
# source and type restores equal to its tables at backup time, catalog, scheduler and bucket agree, retention kept
# the newest verified backup, every cron minute fired or was caught up, every drill ended with a result.
#
#   deploy/bench/soak.sh                  20 minutes, a new seed (printed first, and in the report)
#   SOAK_SEED=123 deploy/bench/soak.sh    replays the schedule of seed 123 (with the same SOAK_* settings)
#
# It is SoakIT with long settings; the report is printed and written to e2e-tests/target/soak-report-<seed>.txt.
# Exit status is non-zero when there are findings (SOAK_ENFORCE=false only reports them) or the harness broke.
# Environment (seconds as MIN-MAX):
#   SOAK_MINUTES 20            SOAK_OUTAGE_SECONDS 30-90   SOAK_LOCK_SECONDS 30-90   SOAK_GAP_SECONDS 20-60
#   SOAK_BACKUP_EVERY_SECONDS 10-30   SOAK_DRILL_EVERY_SECONDS 60-120   SOAK_DRAIN_MINUTES 5   SOAK_ENFORCE true
#   SOAK_SERVICE_ENV "K=V,K=V" added to every service's environment (e.g. a shorter watchdog)
#   SOAK_SKIP_BUILD=1 uses the services as already packaged; MAVEN_ARGS is passed to every Maven call (e.g. -o)
#   Server ports and work directory as for deploy/local/stack.sh (KAFKA_PORT, PG_PORT, S3_PORT, ZIPKIN_PORT,
#   LIFEBOAT_WORK); servers not running are started and stopped again at the end. Never run it next to
#   ./lifeboat up: the soak stops and starts the servers it uses.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export SOAK_MINUTES=${SOAK_MINUTES:-20}
export SOAK_OUTAGE_SECONDS=${SOAK_OUTAGE_SECONDS:-30-90}
export SOAK_LOCK_SECONDS=${SOAK_LOCK_SECONDS:-30-90}
export SOAK_GAP_SECONDS=${SOAK_GAP_SECONDS:-20-60}
export SOAK_BACKUP_EVERY_SECONDS=${SOAK_BACKUP_EVERY_SECONDS:-10-30}
export SOAK_DRILL_EVERY_SECONDS=${SOAK_DRILL_EVERY_SECONDS:-60-120}
export SOAK_DRAIN_MINUTES=${SOAK_DRAIN_MINUTES:-5}
export SOAK_ENFORCE=${SOAK_ENFORCE:-true}
[[ -n ${SOAK_SEED:-} ]] && export SOAK_SEED
MVN=("$ROOT/mvnw" -B ${MAVEN_ARGS:-})

if [[ ${SOAK_SKIP_BUILD:-0} != 1 ]]; then
  echo "packaging the services (SOAK_SKIP_BUILD=1 skips this)"
  "${MVN[@]}" -q install -DskipTests
fi
echo "soak: $SOAK_MINUTES min, outages $SOAK_OUTAGE_SECONDS s, locks $SOAK_LOCK_SECONDS s, seed ${SOAK_SEED:-new}"
rc=0
# the services run with the JVM's defaults, as in production (the test run's short soak uses test.jvm.options, pom.xml)
"${MVN[@]}" -pl e2e-tests verify -Dtest.jvm.options= -Dit.test=SoakIT -Dtest=SoakPlanTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dfailsafe.failIfNoSpecifiedTests=false -Dlifeboat.soak.enforce="$SOAK_ENFORCE" || rc=$?
REPORT=$(ls -t e2e-tests/target/soak-report-*.txt 2>/dev/null | head -1 || true)
if [[ -n $REPORT ]]; then
  echo; cat "$REPORT"; echo "(report: $REPORT; service logs: e2e-tests/target/e2e-logs/)"
else
  echo "no report was written: see the Maven output above and e2e-tests/target/e2e-logs/" >&2
fi
exit $rc
