# Sourced by the physical benchmarks: a PostgreSQL cluster of their own, filled with varied data.
# Expects BIN (PostgreSQL's bin directory), WORK, DATA, PORT, SIZE_GB, AS_PG (runuser prefix when root, else empty);
# EXTRA_CONF is appended to postgresql.conf (archive settings). Defines PSQL and the functions below.

# initdb, settings, pg_hba (local trust, replication and TCP by password), start, the replicator role
varied_cluster_init() {
  echo postgres > "$WORK/.pw"; [[ $(id -u) == 0 ]] && chown postgres "$WORK/.pw"
  "${AS_PG[@]}" "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$WORK/.pw" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  # TLS on, as Lifeboat's sources default to sslmode=require
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=127.0.0.1" -keyout "$DATA/server.key" \
    -out "$DATA/server.crt" >/dev/null 2>&1
  chmod 600 "$DATA/server.key"; [[ $(id -u) == 0 ]] && chown postgres:postgres "$DATA/server.key" "$DATA/server.crt"
  cat >> "$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORK'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
shared_buffers = 256MB
max_wal_size = 4GB
ssl = on
${EXTRA_CONF:-}
EOF
  cat > "$DATA/pg_hba.conf" <<EOF
local all         all                       trust
host  replication replicator 127.0.0.1/32  scram-sha-256
host  all         all        127.0.0.1/32  scram-sha-256
EOF
  "${AS_PG[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$WORK/postgres.log" -w start >/dev/null
  PSQL=("${AS_PG[@]}" "$BIN/psql" -h "$WORK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
  "${PSQL[@]}" -c "create role replicator login replication password 'replicator'"
}

# about SIZE_GB of data in two schemas: narrow rows with numeric and arrays, jsonb orders, incompressible bytea
varied_cluster_fill() {
  local rows=$((SIZE_GB * 1000000))
  "${PSQL[@]}" <<EOF
create schema sales; create schema docs;
create table sales.customers (id int primary key, name text, email text, balance numeric(12,2), tags text[],
  created timestamptz);
insert into sales.customers select g, 'customer ' || g, 'c' || g || '@example.org', (g * 7.31) % 10000,
  array['t' || g % 7, 't' || g % 11], '2024-01-01'::timestamptz + g * interval '1 min'
  from generate_series(1, $rows) g;
create table sales.orders (id bigint primary key, customer int, amount numeric(12,2), placed timestamptz, lines jsonb);
insert into sales.orders select g, g % $rows + 1, (g * 13.7) % 5000, '2024-06-01'::timestamptz + g * interval '7 s',
  jsonb_build_object('sku', 'sku-' || g % 997, 'qty', g % 9 + 1, 'note', md5(g::text))
  from generate_series(1, $((rows * 2))) g;
create index on sales.orders (customer);
create table docs.documents (id int primary key, title text, version int, body bytea);
insert into docs.documents select g, 'document ' || g, 1, decode(string_agg(md5(g::text || '-' || k), ''), 'hex')
  from generate_series(1, $((rows / 5))) g, generate_series(1, 150) k group by g;
vacuum (freeze, analyze);
checkpoint;
EOF
}

varied_cluster_stop() {
  [[ -f $DATA/postmaster.pid ]] && "${AS_PG[@]}" "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
}

# pgBackRest next to it (zst, process-max 2, start-fast), repository under PGBR; defines PGBACKREST
# PGBR_REPO=s3: pgBackRest's repository goes to an S3-compatible server like Lifeboat's, not to local disk: an S3Proxy
# of its own (the jar deploy/local/stack.sh uses) over https (pgBackRest speaks S3 only over TLS) on PGBR_S3_PORT
# (S3_PORT + 443), filesystem under $PGBR/s3, so both tools pay for an object store on the same two cores.
PGBR_S3_PID=
pgbackrest_s3_up() {
  [[ ${PGBR_REPO:-posix} == s3 ]] || return 0
  local port=${PGBR_S3_PORT:-$(( ${S3_PORT:-9000} + 443 ))} java=${JAVA_HOME:+$JAVA_HOME/bin/}java
  local jar=${M2_REPO:-$HOME/.m2/repository}/org/gaul/s3proxy/4.1.0/s3proxy-4.1.0-jar-with-dependencies.jar
  [[ -f $jar ]] || { echo "no S3Proxy jar at $jar: run deploy/local/stack.sh up s3 once" >&2; return 1; }
  mkdir -p "$PGBR/s3/data/pgbackrest"
  "${java%java}keytool" -genkeypair -alias s3 -keyalg RSA -keysize 2048 -validity 2 -dname CN=127.0.0.1 \
    -ext SAN=IP:127.0.0.1 -keystore "$PGBR/s3/keystore.p12" -storetype PKCS12 -storepass bench-only >/dev/null 2>&1
  cat > "$PGBR/s3/s3proxy.conf" <<CONF
s3proxy.secure-endpoint=https://127.0.0.1:$port
s3proxy.keystore-path=$PGBR/s3/keystore.p12
s3proxy.keystore-password=bench-only
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=pgbr-bench
s3proxy.credential=pgbr-bench-secret
s3proxy.ignore-unknown-headers=true
jclouds.provider=filesystem-nio2
jclouds.identity=unused
jclouds.credential=unused
jclouds.filesystem.basedir=$PGBR/s3/data
CONF
  "$java" ${S3_HEAP:--Xmx256m} -jar "$jar" --properties "$PGBR/s3/s3proxy.conf" >"$PGBR/s3/s3proxy.log" 2>&1 &
  PGBR_S3_PID=$!
  local deadline=$(( $(date +%s) + 60 ))
  until curl -sk -o /dev/null "https://127.0.0.1:$port/"; do
    kill -0 "$PGBR_S3_PID" 2>/dev/null || { tail -20 "$PGBR/s3/s3proxy.log" >&2; return 1; }
    (( $(date +%s) < deadline )) || { echo "pgBackRest's S3Proxy did not answer on $port within 60 s" >&2; return 1; }
    sleep 0.5
  done
  PGBR_S3_CONF="repo1-type=s3
repo1-path=/repo
repo1-s3-bucket=pgbackrest
repo1-s3-endpoint=127.0.0.1
repo1-storage-port=$port
repo1-s3-region=us-east-1
repo1-s3-key=pgbr-bench
repo1-s3-key-secret=pgbr-bench-secret
repo1-s3-uri-style=path
repo1-storage-verify-tls=n"
}
pgbackrest_s3_down() { [[ -n $PGBR_S3_PID ]] && kill "$PGBR_S3_PID" 2>/dev/null; PGBR_S3_PID=; return 0; }
# bytes in pgBackRest's repository, wherever it is
pgbackrest_repo_bytes() {
  if [[ ${PGBR_REPO:-posix} == s3 ]]; then du -sb "$PGBR/s3/data" | cut -f1; else du -sb "$PGBR/repo" | cut -f1; fi
}

pgbackrest_conf() {
  pgbackrest_s3_up
  cat > "$PGBR/pgbackrest.conf" <<EOF
[global]
${PGBR_S3_CONF:-repo1-path=$PGBR/repo}
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
  PGBACKREST=("${AS_PG[@]}" pgbackrest --config="$PGBR/pgbackrest.conf" --stanza=bench)
}
