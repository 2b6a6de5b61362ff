package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.wal.WalArchive;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.PgCluster;
import dev.lifeboat.testsupport.ServiceProcess;
import dev.lifeboat.testsupport.TableFingerprint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Point-in-time recovery of a physical source end to end, with Lifeboat's own pieces only: the packaged services as
 * processes, a PostgreSQL cluster of its own as the source (pgbench writing all along, plus a marker table), the
 * snapshot-workers' WAL archiver, a physical FULL requested over the API, and RestoreCluster steps run by the
 * coordinator. One scenario, in order: the archiver owning the source is killed and another takes over with no
 * WAL missing; a restore to a time between two markers equals the source as it was then; the source is killed and a
 * restore to the latest point loses nothing older than the archiver's reported lag.
 */
class PointInTimeRecoveryIT {
    static final String RUN = Long.toString(System.currentTimeMillis(), 36);
    static final String SOURCE = "pitr-" + RUN;
    static final String CLUSTER_TARGET = "pitr-clusters";
    static final String CLUSTER_PASSWORD_ENV = "LIFEBOAT_SECRET_E2E_CLUSTER_PASSWORD";
    /** Short lease and status intervals so that a takeover and the archive's lag show within seconds. */
    static final Duration LEASE_TTL = Duration.ofSeconds(6);
    static final Duration STATUS_INTERVAL = Duration.ofSeconds(1);
    static final Path ROOT = Path.of("/var/tmp", "lifeboat-pitr-e2e-"
            + System.getenv().getOrDefault("KAFKA_PORT", "9092"));
    static final Path DATA_ROOT = ROOT.resolve("restores");

    static Platform platform;
    static PgCluster source;
    static Process pgbench;
    /** pgbench's transactions a second: a steady write load, WAL flowing into every segment the scenario reads. */
    static final int PGBENCH_RATE = 300;

    @AfterAll
    static void stop() {
        if (pgbench != null) {
            pgbench.descendants().forEach(ProcessHandle::destroyForcibly);
            pgbench.destroyForcibly();
        }
        if (platform != null) {
            platform.close();
        }
        stopClustersUnder(DATA_ROOT);
        if (source != null) {
            source.kill9();
        }
        deleteRecursively(ROOT);
    }

    @Test
    void archivesUnderLoadSurvivesAnArchiverCrashAndRestoresToATimeAndToTheLatestPointAfterTheSourceDies()
            throws Exception {
        Instant began = Instant.now();
        stopClustersUnder(DATA_ROOT);
        stopClustersUnder(ROOT);
        deleteRecursively(ROOT);
        Files.createDirectories(DATA_ROOT);
        // root's and sticky, as /var/tmp: the source (postgres) lives below, and the data root stays root's, as a
        // root worker requires
        new ProcessBuilder("chmod", "1777", ROOT.toString()).start().waitFor();
        int basePort = clusterPorts();
        Thread sourceSetUp = Thread.ofPlatform().start(() -> source = startSource(basePort));
        platform = Platform.start(1, Map.of(
                CLUSTER_PASSWORD_ENV, PgCluster.REPLICATION_PASSWORD,
                "LIFEBOAT_ARCHIVER_SOURCES_INTERVAL", "1s",
                "LIFEBOAT_ARCHIVER_LEASE_TTL", LEASE_TTL.toSeconds() + "s",
                "LIFEBOAT_ARCHIVER_LEASE_RENEW_INTERVAL", "2s",
                "LIFEBOAT_ARCHIVER_STATUS_INTERVAL", STATUS_INTERVAL.toSeconds() + "s",
                "RECOVERY_CLUSTER_DATA_ROOTS", DATA_ROOT.toString(),
                "RECOVERY_CLUSTER_PORTS", "1024-65535",
                "RECOVERY_CLUSTER_WAL_WAIT", "20s",
                "RECOVERY_CLUSTER_RECOVERY_TIMEOUT", "120s"), Duration.ofMinutes(8));
        sourceSetUp.join();
        assertThat(source).as("source cluster started").isNotNull();
        Duration platformReady = Duration.between(began, Instant.now());

        // pgbench for the whole scenario, and markers with the time their commit was acknowledged
        pgbench = startPgbench(source);
        Markers markers = new Markers(source);

        // 1. the cluster registered as a physical source with a policy, and a place for restored clusters
        Platform.Response put = Platform.send("PUT", platform.schedulerUrl("/api/v1/sources/" + SOURCE), Map.of(
                "name", "e2e point-in-time " + SOURCE, "host", "127.0.0.1", "port", source.port(),
                "database", "postgres", "username", PgCluster.REPLICATION_USER,
                "passwordRef", "env:" + CLUSTER_PASSWORD_ENV, "method", "physical", "sslmode", "disable"));
        assertThat(put.status()).as(put.body()).isEqualTo(200);
        String policy = "pitr-policy-" + RUN;
        Platform.Response created = Platform.send("POST", platform.schedulerUrl("/api/v1/policies"), Map.of(
                "id", policy, "sourceId", SOURCE, "type", "FULL", "schedule", "0 3 1 1 *", "rpo", "PT1M"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        Platform.Response target = Platform.send("PUT", platform.coordinatorUrl("/api/v1/targets/" + CLUSTER_TARGET),
                Map.of("kind", "cluster", "dataRoot", DATA_ROOT.toString(), "ports", "1024-65535"));
        assertThat(target.status()).as(target.body()).isIn(200, 201);

        // 2. one worker's archiver takes the source and reports; a physical FULL reaches COMPLETED
        String firstOwner = awaitLeaseOwner(null, Duration.ofSeconds(60));
        awaitArchiveReport(Duration.ofSeconds(60));
        Platform.Response accepted = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", SOURCE, "type", "FULL", "policyId", policy));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode backup = platform.awaitBackup(accepted.json().get("backupId").asText(), "COMPLETED");
        assertThat(backup.get("method").asText()).isEqualTo("physical");
        String startSegment = backup.at("/physical/startWalSegment").asText();
        assertThat(WalNames.isSegment(startSegment)).as(backup.toString()).isTrue();
        Instant backedUp = Instant.now();
        markers.start();

        // 3. the instance holding the lease dies; the other takes the source over, and no WAL goes missing
        ServiceProcess owner = firstOwner.startsWith("worker-a") ? platform.snapshotA : platform.snapshotB;
        owner.kill9();
        Instant killed = Instant.now();
        String secondOwner = awaitLeaseOwner(firstOwner, LEASE_TTL.plusSeconds(20));
        Duration takeover = Duration.between(killed, Instant.now());
        assertThat(secondOwner).startsWith(firstOwner.startsWith("worker-a") ? "worker-b" : "worker-a");
        assertThat(takeover).as("takeover after the owner's kill -9").isLessThan(LEASE_TTL.plusSeconds(10));
        WalArchive archive = archiveOf(backup);
        String switched = sourceQuery("select pg_walfile_name(pg_switch_wal())");
        WalArchive.Continuity[] continuity = new WalArchive.Continuity[1];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            continuity[0] = archive.continuity(startSegment);
            assertThat(continuity[0].firstMissing()).as("archive from %s", startSegment).isEmpty();
            assertThat(continuity[0].lastContiguous().map(s -> WalNames.segmentNumber(s, archive.segmentSize()))
                    .orElse(-1L)).as("archived through %s (switched after the takeover)", switched)
                    .isGreaterThanOrEqualTo(WalNames.segmentNumber(switched, archive.segmentSize()));
        });

        // 4. a quiet moment between two markers: the oracle, then a restore to that time through the coordinator
        Thread.sleep(1_000);
        markers.pause();
        signal(pgbench, "STOP");
        Thread.sleep(300);
        Map<String, TableFingerprint> atTarget = TableFingerprint.of(source.jdbcUrl("postgres"),
                PgCluster.SUPERUSER, PgCluster.SUPERUSER_PASSWORD);
        Instant targetTime = Instant.parse(sourceQuery(
                "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
        List<Integer> markersBeforeTarget = markers.committedIds();
        Thread.sleep(50);
        signal(pgbench, "CONT");
        markers.resume();
        assertThat(markersBeforeTarget).as("markers before the target").hasSizeGreaterThan(2);
        assertThat(atTarget).containsKeys("public.pgbench_accounts", "public.pgbench_history", "public.varied",
                "public.markers");
        awaitMarkersAfter(markers, markersBeforeTarget.size() + 2);
        // the WAL past the target must be in the archive for replay to stop there
        String afterTarget = sourceQuery("select pg_walfile_name(pg_switch_wal())");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() ->
                archive.hasComplete(afterTarget));

        int timePort = basePort + 1;
        JsonNode timeRun = runPlan("pitr-time-" + RUN, "recovery", restoreStep("pitr-time-" + RUN, timePort,
                Map.of("kind", "TIME", "value", targetTime.toString()), null));
        assertThat(timeRun.get("status").asText()).as(timeRun.toPrettyString()).isEqualTo("SUCCEEDED");
        assertThat(listening(timePort)).as("restored cluster accepts connections on %d", timePort).isTrue();
        String timeUrl = "jdbc:postgresql://127.0.0.1:" + timePort + "/postgres";
        assertThat(query(timeUrl, "select id from markers order by id")).as("markers committed before %s", targetTime)
                .isEqualTo(markersBeforeTarget);
        assertThat(TableFingerprint.of(timeUrl, PgCluster.SUPERUSER, PgCluster.SUPERUSER_PASSWORD))
                .as("every table as it was at %s", targetTime).isEqualTo(atTarget);

        // 6. a physical drill: restored to its start minus drillAgo on a scratch cluster, which is removed at its end;
        // its RTO counts the WAL replay
        int drillPort = basePort + 3;
        JsonNode drill = runPlan("pitr-drill-" + RUN, "drill", restoreStep("pitr-drill-" + RUN, drillPort,
                Map.of("kind", "LATEST"), "PT5S"));
        assertThat(drill.get("status").asText()).as(drill.toPrettyString()).isEqualTo("SUCCEEDED");
        JsonNode drilled = drill.at("/steps/0/details/restore-cluster");
        assertThat(drilled.get("recoveryTarget").asText()).as(drilled.toString()).startsWith("time ");
        assertThat(drilled.get("dataDirectory").asText()).contains("/drill_");
        assertThat(drilled.get("replayMillis").asLong()).isPositive();
        assertThat(drill.at("/result/totalMillis").asLong()).as(drill.toString())
                .isGreaterThanOrEqualTo(drilled.get("fetchMillis").asLong() + drilled.get("replayMillis").asLong());
        assertThat(Path.of(drilled.get("dataDirectory").asText())).as("scratch cluster removed").doesNotExist();
        try (Stream<Path> left = Files.list(DATA_ROOT)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("drill_"));
        }
        assertThat(listening(drillPort)).as("scratch cluster stopped").isFalse();

        // 5. the source dies: a restore to the latest point loses nothing older than the reported lag
        Thread.sleep(2_000);
        JsonNode wal = awaitArchiveReport(Duration.ofSeconds(10));
        source.kill9();
        Instant sourceKilled = Instant.now();
        markers.stop();
        // the lag as of the kill is the reported lag plus the report's age then: nothing acknowledged before the
        // report's time minus its lag may be lost
        Instant reportedAt = Instant.parse(wal.get("reportedAt").asText());
        Instant lossHorizon = reportedAt.minusMillis(Math.round(wal.get("lagSeconds").asDouble() * 1000));
        double lagSeconds = Duration.between(lossHorizon, sourceKilled).toMillis() / 1000.0;
        List<Integer> mustSurvive = markers.acknowledgedBefore(lossHorizon);
        assertThat(mustSurvive).as("markers acknowledged before %s", lossHorizon).isNotEmpty();
        Thread.sleep(STATUS_INTERVAL.toMillis() + 1_000);   // what the archiver held at the kill reaches the archive

        int latestPort = basePort + 2;
        JsonNode latestRun = runPlan("pitr-latest-" + RUN, "recovery", restoreStep("pitr-latest-" + RUN, latestPort,
                Map.of("kind", "LATEST"), null));
        assertThat(latestRun.get("status").asText()).as(latestRun.toPrettyString()).isEqualTo("SUCCEEDED");
        String latestUrl = "jdbc:postgresql://127.0.0.1:" + latestPort + "/postgres";
        List<Integer> survived = query(latestUrl, "select id from markers order by id");
        assertThat(survived).as("markers acknowledged more than %.3f s (the lag as of the kill) before it",
                lagSeconds).containsAll(mustSurvive);
        assertThat(markers.attemptedIds()).containsAll(survived);

        System.out.printf("point-in-time scenario: platform ready %s s, base backup after %s s, archiver takeover "
                        + "%d ms, restore to time %s (%s), reported lag at the source's kill %.1f s, markers "
                        + "acknowledged %d, restored at latest %d, total %s s%n",
                platformReady.toSeconds(), Duration.between(began, backedUp).toSeconds(), takeover.toMillis(),
                targetTime, timeRun.at("/steps/0").toString() + ", drill " + drill.at("/result"), lagSeconds, markers.acknowledged.size(),
                survived.size(), Duration.between(began, Instant.now()).toSeconds());
    }

    private static Map<String, Object> restoreStep(String cluster, int port, Map<String, Object> recoveryTarget,
                                                   String drillAgo) {
        Map<String, Object> step = new LinkedHashMap<>(Map.of("kind", "RestoreCluster", "sourceId", SOURCE,
                "backup", "latest", "target", CLUSTER_TARGET, "cluster", cluster, "port", port,
                "recoveryTarget", recoveryTarget));
        if (drillAgo != null) {
            step.put("drillAgo", drillAgo);
        }
        return step;
    }

    private static JsonNode runPlan(String id, String mode, Map<String, Object> step) {
        Platform.Response created = Platform.send("POST", platform.coordinatorUrl("/api/v1/plans"), Map.of(
                "id", id, "name", "point-in-time " + id, "rto", "PT10M", "rpo", "PT1H", "steps", List.of(step)));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        Platform.Response started = Platform.send("POST", platform.coordinatorUrl("/api/v1/plans/" + id + "/runs"),
                Map.of("mode", mode));
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        String runId = started.json().get("runId").asText();
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
            Platform.Response r = Platform.send("GET", platform.coordinatorUrl("/api/v1/runs/" + runId), null);
            last[0] = r.json();
            return Set.of("SUCCEEDED", "FAILED", "COMPENSATED").contains(r.json().get("status").asText());
        });
        return last[0];
    }

    /** The source's archiver lease holder once it is not {@code previous} (null: any holder). */
    private static String awaitLeaseOwner(String previous, Duration within) {
        String[] owner = new String[1];
        await().atMost(within).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
            try (Connection c = Databases.connect(Platform.PLATFORM_DB); PreparedStatement ps = c.prepareStatement(
                    "select owner from snapshot.archiver_lease where source_id = ? and expires_at > now()")) {
                ps.setString(1, SOURCE);
                try (ResultSet rs = ps.executeQuery()) {
                    owner[0] = rs.next() ? rs.getString(1) : null;
                }
            }
            return owner[0] != null && !owner[0].equals(previous);
        });
        return owner[0];
    }

    /** The catalog's view of the archive (walArchive of the source's RPO) once a fresh report with a position is in. */
    private static JsonNode awaitArchiveReport(Duration within) {
        JsonNode[] wal = new JsonNode[1];
        await().atMost(within).pollInterval(Duration.ofMillis(300)).ignoreExceptions().untilAsserted(() -> {
            Platform.Response r = Platform.send("GET", platform.catalogUrl("/api/v1/sources/" + SOURCE + "/rpo"), null);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            wal[0] = r.json().get("walArchive");
            assertThat(wal[0]).as(r.body()).isNotNull();
            assertThat(wal[0].path("archivedLsn").isTextual()).as(r.body()).isTrue();
            assertThat(wal[0].get("stale").asBoolean()).as(r.body()).isFalse();
            assertThat(wal[0].get("gap").asBoolean()).as(r.body()).isFalse();
        });
        return wal[0];
    }

    private static WalArchive archiveOf(JsonNode backup) {
        String manifestKey = backup.at("/location/objectKey").asText();
        Repository repository = Repository.open(new S3ObjectStore(platform.s3(), S3Settings.MIN_PART_SIZE),
                backup.at("/location/bucket").asText(), manifestKey.substring(0, manifestKey.indexOf("/chains/")),
                platform.masterKey);
        return repository.wal();
    }

    private static void awaitMarkersAfter(Markers markers, int count) {
        await().atMost(Duration.ofSeconds(20)).until(() -> markers.acknowledged.size() >= count);
    }

    /**
     * The source: pgbench's tables and a table of varied types, then started; {@code basePort} is its port and the
     * restored clusters take the next ones.
     */
    private static PgCluster startSource(int basePort) {
        PgCluster cluster = PgCluster.at(ROOT.resolve("source"), basePort).start();
        PgCluster.run(List.of(PgCluster.binDir().resolve("pgbench").toString(), "-i", "-q", "-s", "1",
                conninfo(cluster)), 120);
        cluster.execute("postgres", """
                CREATE TABLE varied (id bigserial PRIMARY KEY, amount numeric(18,4), doc jsonb, raw bytea,
                    tags text[], at timestamptz, span interval, ratio double precision, flag boolean, note text);
                INSERT INTO varied (amount, doc, raw, tags, at, span, ratio, flag, note)
                SELECT g * 1.2345, jsonb_build_object('g', g, 'nested', jsonb_build_array(g, 'x' || g)),
                    decode(md5(g::text), 'hex'), ARRAY['t' || g % 7, 'u' || g % 3],
                    timestamptz '2026-01-01 00:00:00+00' + g * interval '37 seconds', g * interval '1 minute',
                    g / 7.0, g % 2 = 0, repeat('ü', g % 40) FROM generate_series(1, 5000) g;
                CREATE TABLE markers (id int PRIMARY KEY, written_at timestamptz NOT NULL)""");
        return cluster;
    }

    private static String conninfo(PgCluster cluster) {
        return "host=127.0.0.1 port=" + cluster.port() + " user=" + PgCluster.SUPERUSER + " password="
                + PgCluster.SUPERUSER_PASSWORD + " dbname=postgres";
    }

    /**
     * pgbench's TPC-B-like transactions from two clients at {@link #PGBENCH_RATE} a second, until the test ends it.
     * Not as fast as they go: on the test run's two cores that took about 1.9 cores for pgbench and its backends
     * (5,500 transactions a second on an idle machine), CPU taken from the other test lane for the whole scenario.
     * The archive lag at full speed is measured by {@code deploy/bench/pitr-bench.sh}.
     */
    private static Process startPgbench(PgCluster cluster) throws IOException {
        List<String> cmd = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(List.of(PgCluster.binDir().resolve("pgbench").toString(), "-n", "-c", "2", "-j", "2", "-T", "900",
                "--rate", String.valueOf(PGBENCH_RATE),
                conninfo(cluster)));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    /** SIGSTOP / SIGCONT of pgbench itself (not the runuser in front of it). */
    private static void signal(Process process, String signal) throws Exception {
        List<Long> pids = new ArrayList<>(List.of(process.pid()));
        process.descendants().forEach(d -> pids.add(d.pid()));
        for (long pid : pids) {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    private static String sourceQuery(String sql) throws SQLException {
        try (Connection c = source.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static List<Integer> query(String url, String sql) throws SQLException {
        List<Integer> out = new ArrayList<>();
        try (Connection c = java.sql.DriverManager.getConnection(url, PgCluster.SUPERUSER,
                PgCluster.SUPERUSER_PASSWORD); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getInt(1));
            }
        }
        return out;
    }

    /**
     * Marker rows 1, 2, 3 ... each committed with a row of varied types in one transaction, every 100 ms; for each,
     * the moment its commit was acknowledged to the client (the commit is no later than that).
     */
    static final class Markers {
        final PgCluster cluster;
        final ConcurrentSkipListMap<Integer, Instant> acknowledged = new ConcurrentSkipListMap<>();
        final ConcurrentSkipListMap<Integer, Boolean> attempted = new ConcurrentSkipListMap<>();
        private final AtomicBoolean paused = new AtomicBoolean();
        private final AtomicBoolean idle = new AtomicBoolean();
        private final AtomicBoolean stopped = new AtomicBoolean();
        private Thread thread;
        volatile SQLException failure;

        Markers(PgCluster cluster) {
            this.cluster = cluster;
        }

        void start() {
            thread = Thread.ofPlatform().daemon().name("markers").start(this::write);
        }

        private void write() {
            try (Connection c = cluster.connect("postgres")) {
                c.setAutoCommit(false);
                int id = 0;
                while (!stopped.get()) {
                    if (paused.get()) {
                        idle.set(true);
                        Thread.sleep(10);
                        continue;
                    }
                    idle.set(false);
                    id++;
                    attempted.put(id, true);
                    try (Statement st = c.createStatement()) {
                        st.execute("INSERT INTO markers VALUES (" + id + ", clock_timestamp());"
                                + "INSERT INTO varied (amount, doc, tags, at, note) VALUES (" + id + ".5, "
                                + "'{\"marker\": " + id + "}', ARRAY['marker'], clock_timestamp(), 'marker " + id
                                + "')");
                    }
                    c.commit();
                    acknowledged.put(id, Instant.now());
                    Thread.sleep(100);
                }
            } catch (SQLException e) {
                // the source was killed (or failed): the markers acknowledged so far are the record
                failure = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void pause() {
            if (failure != null) {
                throw new AssertionError("the marker writer failed: " + failure.getMessage(), failure);
            }
            paused.set(true);
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).until(idle::get);
        }

        void resume() {
            idle.set(false);
            paused.set(false);
        }

        void stop() throws InterruptedException {
            stopped.set(true);
            thread.join(10_000);
        }

        List<Integer> committedIds() {
            return List.copyOf(acknowledged.keySet());
        }

        List<Integer> attemptedIds() {
            return List.copyOf(attempted.keySet());
        }

        List<Integer> acknowledgedBefore(Instant t) {
            return acknowledged.entrySet().stream().filter(e -> e.getValue().isBefore(t)).map(Map.Entry::getKey)
                    .toList();
        }
    }

    /**
     * The first of four free ports for the source and the three restored clusters: right above the stack's PostgreSQL
     * (where a developer's stack keeps its ports together), else anywhere free.
     */
    private static int clusterPorts() {
        int preferred = LocalStack.ensureStarted().pgPort() + 1;
        if (!listening(preferred) && !listening(preferred + 1) && !listening(preferred + 2)
                && !listening(preferred + 3)) {
            return preferred;
        }
        for (int attempt = 0; attempt < 20; attempt++) {
            int port = ServiceProcess.freePort();
            if (port < 65532 && !listening(port + 1) && !listening(port + 2) && !listening(port + 3)) {
                return port;
            }
        }
        throw new IllegalStateException("no four free ports in a row for the PostgreSQL clusters of this test");
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A failed assertion may leave a cluster running: its postmaster goes with the test. */
    private static void stopClustersUnder(Path root) {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> pids = Files.walk(root, 3)) {
            for (Path pid : pids.filter(p -> p.getFileName().toString().equals("postmaster.pid")).toList()) {
                Optional.of(Long.parseLong(Files.readAllLines(pid).getFirst().trim())).flatMap(ProcessHandle::of)
                        .ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | RuntimeException e) {
            // best effort: the directory is removed next
        }
    }

    private static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
