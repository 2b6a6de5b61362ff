#!/usr/bin/env bash
# Lifeboat local stack: real Kafka, PostgreSQL, S3 (S3Proxy) and Zipkin servers, without Docker.
#
#   deploy/local/stack.sh up     [kafka] [postgres] [s3] [zipkin]   (no names: all four; started in parallel)
#   deploy/local/stack.sh down   [kafka] [postgres] [s3] [zipkin]   (no names: all four; stops by pid file)
#   deploy/local/stack.sh status                                     (exit 0 only if all four are running)
#
# Everything binds 127.0.0.1. Data, logs and pid files live under LIFEBOAT_WORK (default <repo>/.work/stack).
# Environment:
#   LIFEBOAT_WORK  work directory                      KAFKA_PORT 9092, KAFKA_CONTROLLER_PORT 9093
#   PG_PORT 25432  S3_PORT 9000  ZIPKIN_PORT 9411      JAVA_HOME (else `java` on PATH; JDK 17+)
#   MVN            Maven command used for downloads (default mvn, else <repo>/mvnw)
#   KAFKA_VERSION 4.4.0, S3PROXY_VERSION 4.1.0, ZIPKIN_VERSION 3.6.1, *_HEAP, STACK_WAIT_S (120)
# Servers:
#   kafka     KRaft broker+controller from Maven Central jars; num.partitions=4; creates the lifeboat.* topics.
#             Clients authenticate with SASL SCRAM-SHA-512 (SASL_PLAINTEXT, loopback only) and are authorized by
#             the ACLs of deploy/kafka/acls.conf; users: admin (super user) and every principal of that table,
#             passwords generated once into LIFEBOAT_WORK/secrets/kafka/<user>.password (mode 600)
#   postgres  Debian's PostgreSQL (apt-installed when missing); superuser postgres/postgres,
#             role lifeboat/lifeboat (CREATEDB, REPLICATION) owning database lifeboat; TLS on (self-signed,
#             the certificate to trust as CA is copied to .work/stack/pg/root.crt)
#   s3        S3Proxy with a filesystem backend; keys local-access-key / local-secret-key, region us-east-1, path-style
#   zipkin    Zipkin server, in-memory storage
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
WORK=${LIFEBOAT_WORK:-$REPO_ROOT/.work/stack}
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)

KAFKA_PORT=${KAFKA_PORT:-9092}; KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
PG_PORT=${PG_PORT:-25432}; S3_PORT=${S3_PORT:-9000}; ZIPKIN_PORT=${ZIPKIN_PORT:-9411}
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}; LOG4J_VERSION=${LOG4J_VERSION:-2.25.5}  # log4j must match kafka-server's log4j-core
S3PROXY_VERSION=${S3PROXY_VERSION:-4.1.0}; ZIPKIN_VERSION=${ZIPKIN_VERSION:-3.6.1}
KAFKA_HEAP=${KAFKA_HEAP:-"-Xms128m -Xmx512m"}; S3_HEAP=${S3_HEAP:-"-Xmx256m"}; ZIPKIN_HEAP=${ZIPKIN_HEAP:-"-Xmx256m"}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-local-access-key}; S3_SECRET_KEY=${S3_SECRET_KEY:-local-secret-key}
WAIT_S=${STACK_WAIT_S:-120}
KAFKA_TOPICS=(lifeboat.backup.requested.v1 lifeboat.backup.events.v1 lifeboat.recovery.commands.v1
              lifeboat.recovery.replies.snapshot-worker.v1 lifeboat.recovery.replies.storage-worker.v1
              lifeboat.recovery.events.v1 lifeboat.wal.status.v1 lifeboat.dlq.v1 lifeboat.parked.v1)
ALL=(kafka postgres s3 zipkin)

if [[ -n ${JAVA_HOME:-} ]]; then JAVA=$JAVA_HOME/bin/java; else JAVA=java; fi
MVN=${MVN:-mvn}
if ! command -v "$MVN" >/dev/null 2>&1 && [[ -x $REPO_ROOT/mvnw ]]; then MVN=$REPO_ROOT/mvnw; fi
[[ $MVN == */* && $MVN != /* ]] && MVN=$(cd "$(dirname "$MVN")" && pwd)/$(basename "$MVN")
M2_REPO=${M2_REPO:-$HOME/.m2/repository}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
die() { echo "ERROR: $*" >&2; exit 1; }
need_java() { command -v "$JAVA" >/dev/null 2>&1 || die "no java at '$JAVA' (set JAVA_HOME to a JDK 17+)"; }
need_curl() { command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install curl)"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free_or_die() { if port_open "$1"; then die "port 127.0.0.1:$1 is already in use by another process (set ${2}_PORT)"; fi; }

# pid_alive FILE PATTERN: pid in FILE is alive and its command line contains PATTERN (guards against pid reuse)
pid_alive() {
  [[ -f $1 ]] || return 1
  local p; p=$(head -1 "$1" 2>/dev/null) || return 1
  [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# daemon PIDFILE LOG CMD...: start CMD in its own session, detached from our stdio and lock fds
daemon() {
  local pidfile=$1 log=$2; shift 2
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" </dev/null >"$log" 2>&1 8>&- 9>&- &
  for _ in {1..50}; do [[ -s $pidfile ]] && return 0; sleep 0.02; done
  die "could not start $*"
}

# stop_pid PIDFILE PATTERN NAME: SIGTERM, wait up to 30 s, then SIGKILL
stop_pid() {
  local pidfile=$1 pattern=$2 name=$3 p
  if pid_alive "$pidfile" "$pattern"; then
    p=$(head -1 "$pidfile"); kill "$p" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then echo "$name pid $p did not stop in 30 s, killing"; kill -9 "$p" 2>/dev/null || true; fi
    echo "$name stopped (pid $p)"
  else
    echo "$name not running"
  fi
  rm -f "$pidfile"
}

# Maven downloads are serialized (the local repository is not safe for concurrent writers).
mvn_locked() {
  local log; log=$(mktemp "$WORK/.mvn-XXXXXX.log")
  if ( flock 7; cd "$WORK"; "$MVN" "$@" ) 7>"$WORK/.mvn.lock" >"$log" 2>&1; then rm -f "$log"
  else tail -30 "$log"; rm -f "$log"; die "download failed: $MVN $*"; fi
}

# ---------------------------------------------------------------- kafka
KW=$WORK/kafka
kafka_tool() { "$JAVA" -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$KW/config/tools-log4j2.properties" -cp "$KW/lib/*" "$@"; }

KAFKA_SECRETS=$WORK/secrets/kafka
KAFKA_ACLS=$REPO_ROOT/deploy/kafka/acls.conf
# admin plus every principal named in the ACL table
kafka_users() { echo admin; sed -e 's/#.*//' "$KAFKA_ACLS" | awk 'NF {print $1}' | sort -u; }
kafka_password() { cat "$KAFKA_SECRETS/$1.password"; }

# Topics and ACLs in one JVM, with the super user's credentials (AclCommand would cost a JVM per principal).
# Compiled once into $KW/tools/release-17 (javac next to java; class files for Java 17, so the stack also starts when
# JAVA_HOME later names an older JDK than the one that compiled it), else run from source (slower: compiles on every
# run).
kafka_setup() {
  local src=$REPO_ROOT/deploy/local/KafkaSetup.java javac main=() tools=$KW/tools/release-17
  javac=$(dirname "$(command -v "$JAVA")")/javac
  if [[ -x $javac ]]; then
    if [[ ! -f $tools/KafkaSetup.class || $src -nt $tools/KafkaSetup.class ]]; then
      mkdir -p "$tools"; "$javac" -nowarn --release 17 -cp "$KW/lib/*" -d "$tools" "$src" || die "cannot compile $src"
    fi
    main=(KafkaSetup)
  else
    main=("$src")
  fi
  "$JAVA" -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$KW/config/tools-log4j2.properties" \
    -cp "$tools:$KW/lib/*" "${main[@]}" "$KW/config/admin.properties" "$KAFKA_ACLS" 4 "${KAFKA_TOPICS[@]}" \
    || die "kafka topic/ACL setup failed (ACL table $KAFKA_ACLS)"
}

# The data directory must hold exactly the SCRAM users whose passwords are on file (kafka_up generates missing
# ones): a directory formatted by an older, plaintext stack.sh (or for other users) is throwaway: formatted again.
kafka_format() {
  local users u; users=$(kafka_users)
  if [[ -f $KW/data/meta.properties ]]; then
    local ok=1
    [[ $(cat "$KW/data/.lifeboat-scram-users" 2>/dev/null) == "$users" ]] || ok=0
    [[ $ok == 1 ]] && return 0
    echo "kafka data $KW/data was formatted without these SCRAM users (an older plaintext broker?): formatting it again, its topics and offsets are lost"
    rm -rf "$KW/data"
  fi
  local scram=()
  for u in $users; do scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(kafka_password "$u")]"); done
  local cid; cid=$(kafka_tool kafka.tools.StorageTool random-uuid)
  kafka_tool kafka.tools.StorageTool format -t "$cid" -c "$KW/config/server.properties" "${scram[@]}" >"$KW/logs/format.log" 2>&1 \
    || { cat "$KW/logs/format.log"; die "kafka storage format failed"; }
  echo "$users" > "$KW/data/.lifeboat-scram-users"
  echo "kafka formatted with SCRAM users: $(echo $users); passwords in $KAFKA_SECRETS"
}

kafka_up() {
  need_java
  if pid_alive "$KW/kafka.pid" "$KW"; then
    echo "kafka already running pid $(cat "$KW/kafka.pid") on 127.0.0.1:$KAFKA_PORT"; kafka_setup; return 0
  fi
  port_free_or_die "$KAFKA_PORT" KAFKA; port_free_or_die "$KAFKA_CONTROLLER_PORT" KAFKA_CONTROLLER
  mkdir -p "$KW"
  if [[ ! -f $KW/lib/.ok-$KAFKA_VERSION ]]; then   # ~44 MB, 47 jars; kafka-tools without connect-runtime
    echo "downloading Kafka $KAFKA_VERSION jars"
    rm -rf "$KW/lib"; mkdir -p "$KW/cp"
    cat > "$KW/cp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
 <groupId>local</groupId><artifactId>kafka-cp</artifactId><version>1</version><packaging>pom</packaging>
 <dependencies>
  <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
  <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version>
   <exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions></dependency>
  <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
 </dependencies></project>
POM
    mvn_locked -q -B -f "$KW/cp/pom.xml" dependency:copy-dependencies -DoutputDirectory="$KW/lib" -DincludeScope=runtime
    touch "$KW/lib/.ok-$KAFKA_VERSION"
  fi
  mkdir -p "$KW/config" "$KW/logs"
  # passwords exist before server.properties is written: it holds the super user's (mode 600)
  local u p
  mkdir -p "$KAFKA_SECRETS"; chmod 700 "$WORK/secrets" "$KAFKA_SECRETS"
  for u in $(kafka_users); do
    if [[ ! -s $KAFKA_SECRETS/$u.password ]]; then
      rm -f "$KW/data/.lifeboat-scram-users"   # a new password means a new format
      p=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9'); p=${p:0:32}
      (umask 077; printf '%s' "$p" > "$KAFKA_SECRETS/$u.password")
    fi
  done
  local admin_pw; admin_pw=$(kafka_password admin)
  # The controller listener cannot use SCRAM (its credentials live in the metadata log it serves): SASL PLAIN there.
  (umask 077; cat > "$KW/config/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_pw" user_admin="$admin_pw";
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
log.dirs=$KW/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat > "$KW/config/admin.properties" <<PROPS
bootstrap.servers=127.0.0.1:$KAFKA_PORT
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
PROPS
  )
  cat > "$KW/config/log4j2.properties" <<'L4J'
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
L4J
  cat > "$KW/config/tools-log4j2.properties" <<'L4J'
status = warn
appender.console.type = Console
appender.console.name = STDERR
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
L4J
  kafka_format
  : > "$KW/logs/server.log"
  local t0; t0=$(now_ms)
  # shellcheck disable=SC2086
  daemon "$KW/kafka.pid" "$KW/logs/stdout.log" "$JAVA" $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -Dlog4j2.configurationFile="$KW/config/log4j2.properties" \
    -Dkafka.logs.dir="$KW/logs" -Djava.awt.headless=true -cp "$KW/lib/*" kafka.Kafka "$KW/config/server.properties"
  for ((i=0; i<WAIT_S*10; i++)); do
    grep -q "Kafka Server started" "$KW/logs/server.log" 2>/dev/null && break
    pid_alive "$KW/kafka.pid" "$KW" || { tail -20 "$KW/logs/stdout.log" "$KW/logs/server.log"; die "kafka died, see $KW/logs"; }
    sleep 0.1
  done
  grep -q "Kafka Server started" "$KW/logs/server.log" || die "kafka not ready after ${WAIT_S}s, see $KW/logs"
  echo "kafka ready on 127.0.0.1:$KAFKA_PORT pid $(cat "$KW/kafka.pid") in $(( $(now_ms) - t0 )) ms (SASL SCRAM-SHA-512, ACLs)"
  kafka_setup
}
kafka_down() { stop_pid "$KW/kafka.pid" "$KW" kafka; }
kafka_status() {
  if pid_alive "$KW/kafka.pid" "$KW"; then echo "kafka     running  pid $(cat "$KW/kafka.pid")  127.0.0.1:$KAFKA_PORT"
  else echo "kafka     stopped  -  127.0.0.1:$KAFKA_PORT"; return 1; fi
}

# ---------------------------------------------------------------- postgres
PW=$WORK/pg
PG_RUN=()
[[ $(id -u) == 0 ]] && PG_RUN=(runuser -u postgres --)
pg_bin() {
  if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    [[ $(id -u) == 0 ]] || die "PostgreSQL server binaries missing: apt-get install postgresql postgresql-contrib"
    echo "installing Debian's postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib >/dev/null; }
  fi
  ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1   # Debian does not put initdb/pg_ctl on PATH
}
# Data directory: $PW/data, unless the postgres OS user cannot reach $PW (e.g. a checkout under /root):
# then a directory under /var/tmp, remembered in $PW/datadir.
pg_data() {
  if [[ -f $PW/datadir ]]; then cat "$PW/datadir"; return; fi
  local d=$PW; mkdir -p "$PW"
  if [[ $(id -u) == 0 ]]; then
    mkdir -p "$PW"; chown postgres:postgres "$PW"
    if ! runuser -u postgres -- test -w "$PW"; then
      d=/var/tmp/lifeboat-pg-$(printf %s "$PW" | md5sum | cut -c1-10); mkdir -p "$d"; chown postgres:postgres "$d"
    fi
  fi
  echo "$d" > "$PW/datadir"; echo "$d"
}
pg_pidfile_pid() { local d; d=$(pg_data); [[ -f $d/data/postmaster.pid ]] && head -1 "$d/data/postmaster.pid"; }
pg_running() {
  local d; d=$(pg_data); [[ -f $d/data/postmaster.pid ]] || return 1
  local p; p=$(head -1 "$d/data/postmaster.pid"); kill -0 "$p" 2>/dev/null
}

# A self-signed server certificate for 127.0.0.1/localhost, made once; it is its own CA, copied to $PW/root.crt.
pg_tls() {
  local d=$1
  if [[ ! -f $d/tls/server.crt ]]; then
    mkdir -p "$d/tls"
    if ! command -v openssl >/dev/null 2>&1; then
      [[ $(id -u) == 0 ]] || die "openssl is required for the PostgreSQL server certificate (apt-get install openssl)"
      apt-get install -y -qq --no-install-recommends openssl >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends openssl >/dev/null; }
    fi
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -addext "basicConstraints=critical,CA:TRUE" \
      -keyout "$d/tls/server.key" -out "$d/tls/server.crt" >/dev/null 2>&1 || die "openssl could not make the TLS certificate"
    chmod 600 "$d/tls/server.key"
    [[ $(id -u) == 0 ]] && chown -R postgres:postgres "$d/tls"
  fi
  cp "$d/tls/server.crt" "$PW/root.crt"; chmod 644 "$PW/root.crt"
}

pg_up() {
  mkdir -p "$PW"
  local bin d sock t0; bin=$(pg_bin); d=$(pg_data); t0=$(now_ms)
  sock=$d; [[ ${#sock} -gt 80 ]] && sock=/tmp      # unix socket paths are limited to ~107 bytes
  local fresh=1
  if pg_running; then
    local running_port; running_port=$(sed -n 4p "$d/data/postmaster.pid")
    [[ $running_port == "$PG_PORT" ]] || die "postgres of $d runs on port $running_port, not PG_PORT=$PG_PORT" \
      "(the default moved from 55432 to 25432): stop it first (PG_PORT=$running_port $0 down postgres)"
    fresh=0; echo "postgres already running pid $(pg_pidfile_pid) on 127.0.0.1:$PG_PORT"
  else
    if [[ ! -f $d/data/PG_VERSION ]]; then
      echo postgres > "$d/.pw"; [[ $(id -u) == 0 ]] && chown postgres "$d/.pw"
      "${PG_RUN[@]}" "$bin/initdb" -D "$d/data" -U postgres --pwfile="$d/.pw" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$d/initdb.log" 2>&1 || { cat "$d/initdb.log"; die "initdb failed"; }
      cat >> "$d/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock'
fsync = off                 # throwaway cluster: speed over durability
synchronous_commit = off
full_page_writes = off
max_connections = 200
wal_level = replica         # pg_basebackup needs it
max_wal_senders = 10
CONF
    fi
    pg_tls "$d"
    port_free_or_die "$PG_PORT" PG
    # -p: the port follows PG_PORT even when the cluster was initialized with another one; TLS on, so that
    # sources can be registered with sslmode require or verify-full (CA: $PW/root.crt)
    # A client socket can hold the port for a moment (a connection retried while the server was down may even
    # connect to itself when the port lies in the kernel's ephemeral range): "Address already in use" is retried.
    local attempt
    for attempt in 1 2 3 4 5 6; do
      local logged=0; [[ -f $d/postgres.log ]] && logged=$(stat -c %s "$d/postgres.log")
      "${PG_RUN[@]}" "$bin/pg_ctl" -D "$d/data" -l "$d/postgres.log" \
        -o "-p $PG_PORT -c ssl=on -c ssl_cert_file=$d/tls/server.crt -c ssl_key_file=$d/tls/server.key" \
        -w -t "$WAIT_S" start >/dev/null 8>&- 9>&- && break
      if ((attempt < 6)) && grep -q "Address already in use" < <(tail -c +$((logged + 1)) "$d/postgres.log"); then
        echo "port $PG_PORT held by a client socket; retrying in 5 s"; sleep 5; continue
      fi
      tail -20 "$d/postgres.log"; die "postgres did not start"
    done
  fi
  local psql=("${PG_RUN[@]}" "$bin/psql" -h "$sock" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt -d postgres)
  [[ -n $("${psql[@]}" -c "select 1 from pg_roles where rolname='lifeboat'") ]] \
    || "${psql[@]}" -c "create role lifeboat login password 'lifeboat' createdb replication"
  [[ -n $("${psql[@]}" -c "select 1 from pg_database where datname='lifeboat'") ]] \
    || "${psql[@]}" -c "create database lifeboat owner lifeboat"
  [[ $fresh == 1 ]] && echo "postgres $("$bin/postgres" --version | awk '{print $3}') ready on 127.0.0.1:$PG_PORT pid $(pg_pidfile_pid)" \
       "in $(( $(now_ms) - t0 )) ms; db lifeboat (lifeboat/lifeboat), superuser postgres/postgres, data $d/data"
  return 0
}
pg_down() {
  if pg_running; then
    local bin d p; bin=$(pg_bin); d=$(pg_data); p=$(pg_pidfile_pid)
    "${PG_RUN[@]}" "$bin/pg_ctl" -D "$d/data" -m fast -w -t 60 stop >/dev/null
    echo "postgres stopped (pid $p)"
  else echo "postgres not running"; fi
}
pg_status() {
  if pg_running; then echo "postgres  running  pid $(pg_pidfile_pid)  127.0.0.1:$PG_PORT"
  else echo "postgres  stopped  -  127.0.0.1:$PG_PORT"; return 1; fi
}

# ---------------------------------------------------------------- s3 (S3Proxy)
SW=$WORK/s3
# The -jar-with-dependencies classifier is required: the plain jar's resolved classpath is broken.
S3_JAR=$M2_REPO/org/gaul/s3proxy/$S3PROXY_VERSION/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar
s3_up() {
  need_java; need_curl
  if pid_alive "$SW/s3proxy.pid" "$SW"; then echo "s3 already running pid $(cat "$SW/s3proxy.pid") on http://127.0.0.1:$S3_PORT"; return 0; fi
  port_free_or_die "$S3_PORT" S3
  mkdir -p "$SW/data" "$SW/logs"
  if [[ ! -f $S3_JAR ]]; then
    echo "downloading S3Proxy $S3PROXY_VERSION"
    mvn_locked -q -B dependency:get -Dartifact="org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies" -Dtransitive=false
  fi
  cat > "$SW/s3proxy.conf" <<CONF
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY
s3proxy.credential=$S3_SECRET_KEY
# AWS SDK async multipart sends x-amz-mp-object-size: 501 without this
s3proxy.ignore-unknown-headers=true
jclouds.provider=filesystem-nio2
jclouds.identity=unused
jclouds.credential=unused
jclouds.filesystem.basedir=$SW/data
CONF
  local t0; t0=$(now_ms)
  # shellcheck disable=SC2086
  daemon "$SW/s3proxy.pid" "$SW/logs/s3proxy.log" env LOG_LEVEL="${S3_LOG_LEVEL:-info}" \
    "$JAVA" $S3_HEAP -Dlifeboat.stack="$SW" -jar "$S3_JAR" --properties "$SW/s3proxy.conf"
  for ((i=0; i<WAIT_S*10; i++)); do
    # unauthenticated GET / answers 403 AccessDenied once Jetty is up
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S3_PORT/" || true) == 403 ]] && break
    pid_alive "$SW/s3proxy.pid" "$SW" || { tail -30 "$SW/logs/s3proxy.log"; die "s3proxy died"; }
    sleep 0.1
  done
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S3_PORT/" || true) == 403 ]] || die "s3proxy not ready after ${WAIT_S}s"
  echo "s3 ready on http://127.0.0.1:$S3_PORT pid $(cat "$SW/s3proxy.pid") in $(( $(now_ms) - t0 )) ms;" \
       "keys $S3_ACCESS_KEY/$S3_SECRET_KEY, region us-east-1, path-style"
}
s3_down() { stop_pid "$SW/s3proxy.pid" "$SW" s3; }
s3_status() {
  if pid_alive "$SW/s3proxy.pid" "$SW"; then echo "s3        running  pid $(cat "$SW/s3proxy.pid")  http://127.0.0.1:$S3_PORT"
  else echo "s3        stopped  -  http://127.0.0.1:$S3_PORT"; return 1; fi
}

# ---------------------------------------------------------------- zipkin
ZW=$WORK/zipkin
ZIPKIN_JAR=$M2_REPO/io/zipkin/zipkin-server/$ZIPKIN_VERSION/zipkin-server-$ZIPKIN_VERSION-exec.jar   # 135 MB
zipkin_up() {
  need_java; need_curl
  if pid_alive "$ZW/zipkin.pid" "$ZW"; then echo "zipkin already running pid $(cat "$ZW/zipkin.pid") on http://127.0.0.1:$ZIPKIN_PORT"; return 0; fi
  port_free_or_die "$ZIPKIN_PORT" ZIPKIN
  mkdir -p "$ZW"
  if [[ ! -f $ZIPKIN_JAR ]]; then
    echo "downloading Zipkin $ZIPKIN_VERSION"
    mvn_locked -q -B dependency:get -Dartifact="io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" -Dtransitive=false
  fi
  local t0; t0=$(now_ms)
  # armeria.ports[0].ip pins the listener to loopback. Collectors for Kafka etc. stay off unless their
  # env vars are set: KAFKA_BOOTSTRAP_SERVERS is removed so zipkin never consumes the lifeboat broker.
  # shellcheck disable=SC2086
  daemon "$ZW/zipkin.pid" "$ZW/zipkin.log" env -u KAFKA_BOOTSTRAP_SERVERS QUERY_PORT="$ZIPKIN_PORT" STORAGE_TYPE=mem \
    "$JAVA" $ZIPKIN_HEAP -Dlifeboat.stack="$ZW" -jar "$ZIPKIN_JAR" \
    "--armeria.ports[0].ip=127.0.0.1" "--armeria.ports[0].port=$ZIPKIN_PORT"
  for ((i=0; i<WAIT_S*10; i++)); do
    curl -sf "http://127.0.0.1:$ZIPKIN_PORT/health" >/dev/null 2>&1 && break
    pid_alive "$ZW/zipkin.pid" "$ZW" || { tail -30 "$ZW/zipkin.log"; die "zipkin died"; }
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$ZIPKIN_PORT/health" >/dev/null 2>&1 || die "zipkin not ready after ${WAIT_S}s"
  echo "zipkin ready on http://127.0.0.1:$ZIPKIN_PORT (UI /zipkin/) pid $(cat "$ZW/zipkin.pid") in $(( $(now_ms) - t0 )) ms"
}
zipkin_down() { stop_pid "$ZW/zipkin.pid" "$ZW" zipkin; }
zipkin_status() {
  if pid_alive "$ZW/zipkin.pid" "$ZW"; then echo "zipkin    running  pid $(cat "$ZW/zipkin.pid")  http://127.0.0.1:$ZIPKIN_PORT"
  else echo "zipkin    stopped  -  http://127.0.0.1:$ZIPKIN_PORT"; return 1; fi
}

# ---------------------------------------------------------------- main
fn_prefix() { case $1 in kafka) echo kafka;; postgres|pg) echo pg;; s3) echo s3;; zipkin) echo zipkin;; *) die "unknown server '$1' (kafka|postgres|s3|zipkin)";; esac; }

# run_parallel ACTION NAME...: runs <prefix>_<ACTION> for each server concurrently, output prefixed by server name
run_parallel() {
  local action=$1; shift
  local names=("$@") n pids=() rc=0
  [[ ${#names[@]} -eq 0 ]] && names=("${ALL[@]}")
  for n in "${names[@]}"; do fn_prefix "$n" >/dev/null; done   # validate first
  for n in "${names[@]}"; do
    rm -f "$WORK/.rc-$n"
    { if ( set -e; "$(fn_prefix "$n")_$action" ) 2>&1; then echo ok > "$WORK/.rc-$n"; fi; } | sed -u "s/^/[$n] /" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  for n in "${names[@]}"; do
    [[ -f $WORK/.rc-$n ]] || { echo "[$n] FAILED: $action" >&2; rc=1; }
    rm -f "$WORK/.rc-$n"
  done
  return $rc
}

cmd=${1:-}; shift || true
case $cmd in
  up|down)
    exec 9>"$WORK/.stack.lock"; flock 9     # one up/down at a time for this work directory
    if [[ $cmd == up ]] && read -r eph_lo eph_hi < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; then
      for p in KAFKA_PORT KAFKA_CONTROLLER_PORT PG_PORT S3_PORT ZIPKIN_PORT; do
        ((${!p} >= eph_lo && ${!p} <= eph_hi)) && echo "WARNING: $p=${!p} lies in the ephemeral port range" \
          "$eph_lo-$eph_hi: an outgoing connection may hold it while the server is down and block its restart" >&2
      done
    fi
    t0=$(now_ms)
    if run_parallel "$cmd" "$@"; then echo "stack $cmd done in $(( $(now_ms) - t0 )) ms (work dir $WORK)"
    else echo "stack $cmd FAILED after $(( $(now_ms) - t0 )) ms; logs under $WORK" >&2; exit 1; fi ;;
  status)
    rc=0
    names=("$@"); [[ ${#names[@]} -eq 0 ]] && names=("${ALL[@]}")
    for n in "${names[@]}"; do "$(fn_prefix "$n")_status" || rc=1; done
    exit $rc ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; [[ $cmd == -h || $cmd == --help || $cmd == help ]] && exit 0; exit 2 ;;
esac
