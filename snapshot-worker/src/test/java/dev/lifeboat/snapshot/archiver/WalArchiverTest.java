package dev.lifeboat.snapshot.archiver;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.WalStatus;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.wal.WalArchive;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.snapshot.recovery.RecoveryCommandsTestResource;
import dev.lifeboat.snapshot.recovery.TopicTail;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.PgCluster;
import dev.lifeboat.testsupport.Tokens;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Continuous WAL archiving against real servers: a PostgreSQL cluster of its own under writes (the physical source,
 * streamed through a replication slot), the platform database holding the leases, S3Proxy holding the archive and
 * Kafka carrying the status. Two archiver instances in this process stand for two workers: they share the real
 * lease table; one of them dies without giving its lease up (as kill -9 leaves it).
 */
@QuarkusTest
@QuarkusTestResource(value = WalArchiverTest.Resource.class, restrictToAnnotatedClass = true)
class WalArchiverTest {
    static final Duration LEASE_TTL = Duration.ofSeconds(4);
    /**
     * How long a wait for the archive to catch up may take. Generous: these waits only let the work happen on a
     * loaded machine (two test lanes on two cores); what is timed (a committed row archived within seconds, the
     * takeover within the lease's TTL) has waits and assertions of its own.
     */
    static final Duration PROGRESS = Duration.ofSeconds(60);
    static final int PG_PORT = Integer.parseInt(System.getenv().getOrDefault("ARCHIVER_TEST_PG_PORT", "22433"));
    static final String BUCKET = "lifeboat-archiver-test";
    static final String PREFIX = "archiver-" + UUID.randomUUID().toString().substring(0, 8);
    static final Map<String, String> SCHEDULER = new ConcurrentHashMap<>();
    /** Paths the fake scheduler-service answers 503 to, as during an outage. */
    static final java.util.Set<String> SCHEDULER_DOWN = ConcurrentHashMap.newKeySet();
    static Path passwordFile;
    static HttpServer scheduler;
    static PgCluster cluster;

    @Inject
    WalArchiver archiver;
    @Inject
    AgroalDataSource ds;
    @Inject
    Repositories repositories;
    @Inject
    ObjectStore store;
    @Inject
    io.micrometer.core.instrument.MeterRegistry registry;

    public static class Resource extends RecoveryCommandsTestResource {
        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            config.put("quarkus.rest-client.scheduler.url", schedulerUrl());
            // the instances of the test are started by the test itself
            config.put("lifeboat.archiver.enabled", "false");
            config.put("lifeboat.archiver.lease-ttl", LEASE_TTL.toMillis() + "ms");
            config.put("lifeboat.archiver.lease-renew-interval", "1s");
            config.put("lifeboat.archiver.sources-interval", "500ms");
            config.put("lifeboat.archiver.partial-interval", "500ms");
            config.put("lifeboat.archiver.status-interval", "1s");
            config.put("lifeboat.archiver.restart-initial-backoff", "200ms");
            config.put("lifeboat.archiver.restart-max-backoff", "1s");
            config.put("lifeboat.archiver.bucket", BUCKET);
            config.put("lifeboat.archiver.prefix", PREFIX);
            config.put("lifeboat.archiver.sources-timeout", "2s");
            config.put("lifeboat.archiver.base-backups-interval", "2s");
            return config;
        }
    }

    static synchronized String schedulerUrl() {
        if (scheduler == null) {
            try {
                scheduler = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            scheduler.createContext("/api/v1/", WalArchiverTest::answer);
            scheduler.start();
        }
        return "http://127.0.0.1:" + scheduler.getAddress().getPort();
    }

    private static void answer(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath().substring("/api/v1/".length())
                + (exchange.getRequestURI().getQuery() == null ? "" : "?" + exchange.getRequestURI().getQuery());
        if (SCHEDULER_DOWN.contains(path)) {
            exchange.sendResponseHeaders(503, -1);
            exchange.close();
            return;
        }
        // scheduler-service lists no policies of a source that has none
        String body = SCHEDULER.getOrDefault(path, path.startsWith("policies?") ? "[]" : null);
        dev.lifeboat.snapshot.recovery.SchedulerAnswer.send(exchange, body);
    }

    @BeforeAll
    static void startCluster() throws IOException {
        cluster = PgCluster.at(Path.of("target", "pgc-archiver"), PG_PORT).start();
        Path password = Path.of(System.getProperty("java.io.tmpdir"), "lifeboat-snapshot-test-secrets",
                "replicator-password");
        Files.createDirectories(password.getParent());
        Files.writeString(password, PgCluster.REPLICATION_PASSWORD);
        passwordFile = password;
        for (String id : List.of("pitr-main", "pitr-gap", "pitr-oldhole", "pitr-deleted", "pitr-dest")) {
            SCHEDULER.put("sources/" + id, source(id, PG_PORT));
        }
        SCHEDULER.put("sources", """
                [{"id":"pitr-main","kind":"postgresql","method":"physical"},
                 {"id":"shop","kind":"postgresql","method":"logical"},
                 {"id":"pitr-gap","kind":"postgresql","method":"physical"}]""");
        cluster.execute("postgres", "create table if not exists marker (id bigserial primary key, note text, "
                + "pad text, at timestamptz default clock_timestamp())");
    }

    static String source(String id, int port) {
        return """
                {"id":"%s","kind":"postgresql","method":"physical","host":"127.0.0.1","port":%d,
                 "database":"postgres","username":"%s","passwordRef":"file:%s","sslmode":"disable"}"""
                .formatted(id, port, PgCluster.REPLICATION_USER, passwordFile);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            for (String slot : List.of("lifeboat_wal_pitr_main_", "lifeboat_wal_pitr_gap_", "lifeboat_wal_pitr_oldhole_",
                    "lifeboat_wal_pitr_deleted_", "lifeboat_wal_pitr_dest_")) {
                try {
                    cluster.execute("postgres", "select pg_drop_replication_slot(slot_name) from pg_replication_slots"
                            + " where slot_name like '" + slot + "%' and not active");
                } catch (RuntimeException e) {
                    // the cluster goes with its directory below
                }
            }
            cluster.destroy();
        }
        if (scheduler != null) {
            scheduler.stop(0);
        }
    }

    @Test
    void onlyPhysicalSourcesAreArchived() {
        assertThat(archiver.physicalSources()).containsExactly("pitr-main", "pitr-gap");
    }

    @Test
    void everySegmentFromTheSlotsStartIsArchivedAndAnotherWorkerTakesOverWithinTheLeaseTtl() throws Exception {
        String source = "pitr-main";
        LeaseStore dying = new LeaseStore(ds) {
            @Override
            public void release(Lease lease) {
                // killed: it never gives the lease up
            }
        };
        ArchiverNode first = archiver.node("worker-a", () -> List.of(source), dying);
        ArchiverNode second = archiver.node("worker-b", () -> List.of(source), new LeaseStore(ds));
        AtomicBoolean writing = new AtomicBoolean(true);
        Thread load = Thread.ofPlatform().start(() -> write(writing));
        try {
            first.start();
            await().atMost(PROGRESS).until(() -> first.owned().contains(source));
            second.start();
            WalArchive archive = repositories.openOrInit(BUCKET, PREFIX + "/" + source).wal();

            // the partial trails the server by about the partial interval: a committed row is archived in seconds
            await().atMost(PROGRESS).until(() -> archived(source) > 0);
            switchWal(3);
            long switched = serverFlushLsn();
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(100))
                    .until(() -> Long.compareUnsigned(archived(source), switched) >= 0);
            cluster.execute("postgres", "insert into marker (note) values ('committed')");
            long committed = serverFlushLsn();
            long t0 = System.nanoTime();
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                    .until(() -> Long.compareUnsigned(archived(source), committed) >= 0);
            // the partial interval (0.5 s) plus the status interval (1 s) through which the test sees it, about 1 s
            // on an idle machine; the bound is the archive lag the archiver must keep (5 s), which a loaded machine
            // (two test lanes on two cores, each upload slower) must still meet
            double trailSeconds = (System.nanoTime() - t0) / 1e9;
            assertThat(trailSeconds).as("seconds until a committed position was archived").isLessThan(5);
            assertThat(second.owned()).as("one owner at a time").isEmpty();

            // the owner dies holding its lease; the other takes the source over within the lease's TTL
            first.close();
            long killed = System.nanoTime();
            await().atMost(LEASE_TTL.plusSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .until(() -> second.owned().contains(source));
            // the lease's TTL from its last renewal, then the other worker's next claim (every 0.5 s) and the claim
            // itself: about 3.5 s idle, some seconds more under load
            double takeover = (System.nanoTime() - killed) / 1e9;
            assertThat(takeover).as("seconds until the other worker took over").isLessThan(
                    LEASE_TTL.toSeconds() + 4);
            switchWal(2);
            long lastCommitted = serverFlushLsn();
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(200)).until(() ->
                    statuses().containsKey(source) && "worker-b".equals(statuses().get(source).workerId())
                            && Long.compareUnsigned(archived(source), lastCommitted) >= 0);
            writing.set(false);
            load.join();

            // how far the archive reaches is recorded as it is stored, of this cluster, for restores to the latest point
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(200)).until(() -> new LeaseStore(ds)
                    .archiveHead(source).filter(h -> Long.compareUnsigned(h.lsn(), lastCommitted) >= 0).isPresent());
            LeaseStore.ArchiveHead head = new LeaseStore(ds).archiveHead(source).orElseThrow();
            assertThat(head.location()).isEqualTo(archive.location());
            assertThat(head.timeline()).isEqualTo(1);
            try (java.sql.Connection c = cluster.connect("postgres"); java.sql.Statement st = c.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("select system_identifier::text from pg_control_system()")) {
                rs.next();
                assertThat(head.systemIdentifier()).isEqualTo(rs.getString(1));
            }

            // no hole from the slot's start to the newest WAL, across the change of owner
            String from = new LeaseStore(ds).archiveFrom(source).orElseThrow();
            WalArchive.Continuity continuity = archive.continuity(from);
            assertThat(continuity.unbroken()).as("continuity from %s: %s", from, continuity).isTrue();
            long lastSegment = Long.divideUnsigned(lastCommitted - 1, archive.segmentSize());
            long firstSegment = WalNames.segmentNumber(from, archive.segmentSize());
            assertThat(lastSegment - firstSegment).as("segments written during the test").isGreaterThanOrEqualTo(5);
            for (long n = firstSegment; n < lastSegment; n++) {
                String name = WalNames.segmentName(1, n, archive.segmentSize());
                assertThat(archive.hasComplete(name)).as("segment %s archived complete", name).isTrue();
            }
            // what is archived is the server's WAL, byte for byte, for the segments the server still keeps
            int compared = 0;
            for (long n = firstSegment; n < lastSegment; n++) {
                String name = WalNames.segmentName(1, n, archive.segmentSize());
                Path onServer = cluster.dataDir().resolve("pg_wal").resolve(name);
                if (Files.isRegularFile(onServer)) {
                    assertThat(Arrays.equals(archive.fetch(name).orElseThrow(), Files.readAllBytes(onServer)))
                            .as("archived %s equals the server's", name).isTrue();
                    compared++;
                }
            }
            assertThat(compared).as("segments compared with pg_wal").isPositive();
            System.out.printf("WAL archiver: committed position archived after %.2f s, takeover after %.2f s, "
                    + "%d segments without a hole, %d compared with pg_wal%n", trailSeconds, takeover,
                    lastSegment - firstSegment, compared);
        } finally {
            writing.set(false);
            load.join();
            first.close();
            second.close();
        }
    }

    @Test
    void aSegmentMissingFromTheArchiveIsReportedAsAGap() throws Exception {
        String source = "pitr-gap";
        try (TopicTail topic = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                Topics.WAL_STATUS)) {
            ArchiverNode node = archiver.node("worker-gap", () -> List.of(source), new LeaseStore(ds));
            try {
                node.start();
                await().atMost(PROGRESS).until(() -> archiver.statuses().containsKey(source));
                switchWal(3);
                long committed = serverFlushLsn();
                await().atMost(PROGRESS).until(() -> {
                    WalStatus s = archiver.statuses().get(source);
                    return s.archivedLsn() != null
                            && Long.compareUnsigned(WalNames.parseLsn(s.archivedLsn()), committed) >= 0;
                });
                WalArchive archive = repositories.openOrInit(BUCKET, PREFIX + "/" + source).wal();
                List<String> segments = archive.list().segments();
                assertThat(segments).hasSizeGreaterThanOrEqualTo(3);
                String deleted = segments.get(1);
                store.delete(BUCKET, PREFIX + "/" + source + "/wal/" + deleted);

                var report = topic.await(r -> source.equals(r.key()) && r.value().contains("\"gap\":true"),
                        Duration.ofSeconds(30));
                JsonNode status = EventCodec.mapper().readTree(report.value());
                assertThat(status.get("firstMissingSegment").asText()).isEqualTo(deleted);
                assertThat(status.get("lastContiguousSegment").asText()).isEqualTo(segments.get(0));
                assertThat(status.get("workerId").asText()).isEqualTo("worker-gap");
                assertThat(archiver.statuses().get(source).gap()).isTrue();
            } finally {
                node.close();
            }
        }
    }

    @Test
    void afterAFailoverTheArchiveFollowsThePromotedStandbysTimelineWithoutAHole() throws Exception {
        String source = "pitr-failover";
        PgCluster primary = PgCluster.at(Path.of("target", "pgc-failover-primary"), PG_PORT + 1).start();
        PgCluster standby = null;
        ArchiverNode node = null;
        try (TopicTail topic = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                Topics.WAL_STATUS)) {
            // the standby keeps recent WAL (as wal_keep_size does in production), so it still holds what the
            // archive lacks when it becomes the primary
            primary.execute("postgres", "alter system set wal_keep_size = '256MB'");
            primary.execute("postgres", "select pg_reload_conf()");
            primary.execute("postgres", "create table if not exists marker (id bigserial primary key, note text, "
                    + "pad text, at timestamptz default clock_timestamp())");
            standby = PgCluster.standbyOf(primary, Path.of("target", "pgc-failover-standby"), PG_PORT + 2).start();
            SCHEDULER.put("sources/" + source, source(source, PG_PORT + 1));
            node = archiver.node("worker-failover", () -> List.of(source), new LeaseStore(ds));
            node.start();
            switchWal(primary, 2);
            long beforeFailover = serverFlushLsn(primary);
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(100))
                    .until(() -> Long.compareUnsigned(archived(source), beforeFailover) >= 0);

            // a clean failover: the standby has all the primary wrote, the primary stops, the standby is promoted
            // and the source's address now reaches it; it writes on, long enough for a checkpoint to move past
            // the switch, so a slot created now would reserve WAL from after what the archive holds
            primary.execute("postgres", "insert into marker (note) values ('last on timeline 1')");
            long last = serverFlushLsn(primary);
            PgCluster following = standby;
            await().atMost(PROGRESS).until(() ->
                    Long.compareUnsigned(lsn(following, "select pg_last_wal_replay_lsn()::text"), last) >= 0);
            primary.stop();
            standby.promote();
            standby.execute("postgres", "insert into marker (note) values ('first on timeline 2')");
            switchWal(standby, 2);
            standby.execute("postgres", "checkpoint");
            SCHEDULER.put("sources/" + source, source(source, PG_PORT + 2));
            switchWal(standby, 1);
            long afterFailover = serverFlushLsn(standby);
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(200)).until(() -> {
                WalStatus st = statuses().get(source);
                return st != null && st.timeline() == 2
                        && Long.compareUnsigned(archived(source), afterFailover) >= 0;
            });
            // the recorded head follows the archive onto the new timeline
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(200)).until(() -> new LeaseStore(ds)
                    .archiveHead(source).filter(h -> h.timeline() == 2
                            && Long.compareUnsigned(h.lsn(), afterFailover) >= 0).isPresent());

            WalArchive archive = repositories.openOrInit(BUCKET, PREFIX + "/" + source).wal();
            int size = archive.segmentSize();
            assertThat(archive.list().histories()).contains("00000002.history");
            long switchPoint = WalStreamer.switchPoint(new String(archive.fetch("00000002.history").orElseThrow(),
                    StandardCharsets.UTF_8));
            long switchSegment = Long.divideUnsigned(switchPoint, size);
            assertThat(slotExists(standby, source)).as("the slot exists on the new primary").isTrue();
            var topicReport = topic.await(r -> source.equals(r.key()) && r.value().contains("\"warning\":\"replication slot"),
                    Duration.ofSeconds(30));
            assertThat(topicReport.value()).contains("was missing").contains("continuity check");

            // restore_command asks for each segment on the timeline the history file says: before the switch on
            // timeline 1, from the switch segment on timeline 2; every one is there, so nothing is missing
            String first = archive.list().segments().getFirst();
            WalArchive.Continuity continuity = archive.continuity(first);
            assertThat(continuity.unbroken()).as("continuity from %s: %s", first, continuity).isTrue();
            long lastSegment = Long.divideUnsigned(afterFailover - 1, size);
            assertThat(switchSegment).isGreaterThan(WalNames.segmentNumber(first, size));
            for (long n = WalNames.segmentNumber(first, size); n < lastSegment; n++) {
                String name = WalNames.segmentName(n < switchSegment ? 1 : 2, n, size);
                assertThat(archive.hasComplete(name)).as("segment %s archived complete", name).isTrue();
            }
            String firstOfTimeline2 = WalNames.segmentName(2, switchSegment, size);
            assertThat(archive.fetch(firstOfTimeline2).orElseThrow())
                    .as("%s equals the new primary's", firstOfTimeline2)
                    .isEqualTo(Files.readAllBytes(standby.dataDir().resolve("pg_wal").resolve(firstOfTimeline2)));
            await().atMost(Duration.ofSeconds(30)).until(() -> !statuses().get(source).gap()
                    && statuses().get(source).warning() == null);
        } finally {
            if (node != null) {
                node.close();
            }
            primary.destroy();
            if (standby != null) {
                standby.destroy();
            }
        }
    }

    @Test
    void aClusterReinitialisedUnderTheSameSourceIdIsRefusedWithTheReasonUntilAnAdminRetiresTheOldArchive()
            throws Exception {
        String source = "pitr-reinit";
        Path dir = Path.of("target", "pgc-reinit");
        PgCluster first = PgCluster.at(dir, PG_PORT + 3).start();
        PgCluster second = null;
        ArchiverNode node = archiver.node("worker-reinit", () -> List.of(source), new LeaseStore(ds));
        try {
            first.execute("postgres", "create table if not exists marker (id bigserial primary key, note text, "
                    + "pad text, at timestamptz default clock_timestamp())");
            SCHEDULER.put("sources/" + source, source(source, PG_PORT + 3));
            String oldCluster = systemIdentifier(first);
            node.start();
            switchWal(first, 2);
            long committed = serverFlushLsn(first);
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(100))
                    .until(() -> Long.compareUnsigned(archived(source), committed) >= 0);
            WalArchive archive = repositories.openOrInit(BUCKET, PREFIX + "/" + source).wal();
            assertThat(archive.identity().orElseThrow().systemIdentifier()).isEqualTo(oldCluster);
            node.close();

            // the data directory is re-initialised: another cluster at the same address, under the same source id
            first.destroy();
            second = PgCluster.at(dir, PG_PORT + 3).start();
            second.execute("postgres", "create table marker (id bigserial primary key, note text, pad text, "
                    + "at timestamptz default clock_timestamp())");
            String newCluster = systemIdentifier(second);
            assertThat(newCluster).isNotEqualTo(oldCluster);
            List<String> before = store.list(BUCKET, PREFIX + "/" + source + "/wal/");
            node = archiver.node("worker-reinit-2", () -> List.of(source), new LeaseStore(ds));
            node.start();
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(100)).until(() ->
                    statuses().containsKey(source) && WalStatus.REFUSED.equals(statuses().get(source).state()));
            WalStatus refused = statuses().get(source);
            assertThat(refused.error()).contains("cluster with system identifier " + newCluster)
                    .contains("belongs to the cluster with system identifier " + oldCluster)
                    .contains("nothing was written").contains("register this server under a new source id")
                    .contains("POST /api/v1/sources/" + source + "/wal-archive/retire?systemIdentifier="
                            + oldCluster);
            assertThat(registry.get("lifeboat_wal_archive_refused").tag("source", source).gauge().value())
                    .isEqualTo(1.0);
            assertThat(store.list(BUCKET, PREFIX + "/" + source + "/wal/")).as("nothing written")
                    .containsExactlyInAnyOrderElementsOf(before);
            assertThat(slotExists(second, source)).as("no slot made to retain WAL for a refused archive").isFalse();

            // the administrator's way out: naming another cluster than the archive's moves nothing
            String url = "/api/v1/sources/" + source + "/wal-archive/retire?systemIdentifier=";
            io.restassured.RestAssured.given().header("Authorization", Tokens.bearer(Tokens.admin()))
                    .post(url + newCluster).then().statusCode(409)
                    .body("detail", org.hamcrest.Matchers.containsString("nothing was moved"));
            io.restassured.RestAssured.given().header("Authorization", Tokens.bearer(Tokens.operator()))
                    .post(url + oldCluster).then().statusCode(403);
            String moved = io.restassured.RestAssured.given()
                    .header("Authorization", Tokens.bearer(Tokens.admin())).post(url + oldCluster).then()
                    .statusCode(200).extract().path("location");
            assertThat(moved).contains(PREFIX + "/" + source + "/wal-retired/" + oldCluster + "-");

            // the archiver starts a new archive of the new cluster; the old one is kept where restores find it
            PgCluster now = second;
            switchWal(now, 1);
            long afterRetire = serverFlushLsn(now);
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(100)).until(() ->
                    WalStatus.STREAMING.equals(statuses().get(source).state())
                            && Long.compareUnsigned(archived(source), afterRetire) >= 0);
            assertThat(archive.identity().orElseThrow().systemIdentifier()).isEqualTo(newCluster);
            assertThat(archive.retired()).hasSize(1);
            WalArchive old = archive.retired().getFirst();
            assertThat(old.identity().orElseThrow().systemIdentifier()).isEqualTo(oldCluster);
            assertThat(old.list().segments()).hasSizeGreaterThanOrEqualTo(2);
            for (String segment : archive.list().segments()) {
                assertThat(archive.fetch(segment, newCluster)).as("%s is the new cluster's", segment).isPresent();
            }
            assertThat(registry.get("lifeboat_wal_archive_refused").tag("source", source).gauge().value())
                    .isEqualTo(0.0);
        } finally {
            node.close();
            SCHEDULER.remove("sources/" + source);
            if (second != null) {
                second.destroy();
            } else {
                first.destroy();
            }
        }
    }

    @Test
    void aClusterWithOtherThanTheDefaultSegmentSizeIsRefusedWithTheReasonBeforeAnythingIsWritten() throws Exception {
        String source = "pitr-segsize";
        PgCluster big = PgCluster.at(Path.of("target", "pgc-segsize"), PG_PORT + 4, List.of("--wal-segsize=32"))
                .start();
        ArchiverNode node = archiver.node("worker-segsize", () -> List.of(source), new LeaseStore(ds));
        try {
            SCHEDULER.put("sources/" + source, source(source, PG_PORT + 4));
            node.start();
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(100)).until(() ->
                    statuses().containsKey(source) && WalStatus.REFUSED.equals(statuses().get(source).state()));
            assertThat(statuses().get(source).error()).contains("refusing to archive WAL of source " + source)
                    .contains("WAL segments are 32 MiB (initdb --wal-segsize)")
                    .contains("default 16 MiB segments only").contains("no replication slot was created")
                    .contains("logical method");
            assertThat(registry.get("lifeboat_wal_archive_refused").tag("source", source).gauge().value())
                    .isEqualTo(1.0);
            assertThat(store.list(BUCKET, PREFIX + "/" + source + "/wal/")).as("nothing written").isEmpty();
            assertThat(slotExists(big, source)).isFalse();
        } finally {
            node.close();
            SCHEDULER.remove("sources/" + source);
            big.destroy();
        }
    }

    private static String systemIdentifier(PgCluster on) throws Exception {
        try (Connection c = on.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select system_identifier::text from pg_control_system()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void aHoleBeforeTheLeasesFirstSegmentIsReportedFromTheOldestBaseBackupsStart() throws Exception {
        String source = "pitr-oldhole";
        switchWal(3);
        cluster.execute("postgres", "checkpoint");
        long now = Long.divideUnsigned(serverFlushLsn(), WalNames.DEFAULT_SEGMENT_SIZE);
        // a base backup starts at now-3; an earlier owner archived now-3 and now-1 and lost now-2 in between
        var repo = repositories.openOrInit(BUCKET, PREFIX + "/" + source);
        WalArchive archive = repo.wal();
        String baseStart = WalNames.segmentName(1, now - 3, archive.segmentSize());
        String lost = WalNames.segmentName(1, now - 2, archive.segmentSize());
        archive.put(baseStart, new byte[archive.segmentSize()]);
        archive.put(WalNames.segmentName(1, now - 1, archive.segmentSize()), new byte[archive.segmentSize()]);
        repo.writer().physical(() -> new dev.lifeboat.repository.snapshot.Manifest.Physical("1", "15", "15",
                        1, WalNames.formatLsn((now - 3) * archive.segmentSize()),
                        WalNames.formatLsn((now - 3) * archive.segmentSize() + 4096), baseStart,
                        java.time.Instant.now(), java.time.Instant.now()))
                .write(List.of(new dev.lifeboat.repository.snapshot.SnapshotWriter.Entry(
                                dev.lifeboat.repository.snapshot.Manifest.BASE_TAR,
                                () -> new java.io.ByteArrayInputStream(new byte[1024]))).iterator(),
                        dev.lifeboat.repository.snapshot.BackupType.FULL,
                        dev.lifeboat.repository.snapshot.ChainContext.latestChain("base-oldhole"), null);
        ArchiverNode node = archiver.node("worker-oldhole", () -> List.of(source), new LeaseStore(ds));
        try {
            node.start();
            switchWal(2);
            long committed = serverFlushLsn();
            await().atMost(PROGRESS).pollInterval(Duration.ofMillis(200)).until(() -> {
                WalStatus st = statuses().get(source);
                return st != null && Long.compareUnsigned(archived(source), committed) >= 0
                        && baseStart.equals(st.continuityFrom());
            });
            WalStatus status = statuses().get(source);
            assertThat(new LeaseStore(ds).archiveFrom(source).orElseThrow()).as("the lease's first segment")
                    .isGreaterThan(lost);
            assertThat(status.gap()).isTrue();
            assertThat(status.firstMissingSegment()).isEqualTo(lost);
            assertThat(status.lastContiguousSegment()).isEqualTo(baseStart);
        } finally {
            node.close();
        }
    }

    @Test
    void theArchiveIsWrittenWhereTheSourcesPoliciesPutItsBaseBackups() throws Exception {
        String source = "pitr-dest";
        String bucket = "lifeboat-archiver-policy-test";
        String prefix = "policy-" + UUID.randomUUID().toString().substring(0, 8);
        store.ensureBucket(bucket);
        // no policy: the archiver's own location, as before
        assertThat(archiver.destination(source)).isEqualTo(new WalArchiver.Destination(BUCKET, PREFIX + "/" + source));
        // a disabled policy elsewhere does not count; the enabled ones agree on their destination
        SCHEDULER.put("policies?sourceId=" + source, """
                [{"id":"b-nightly","sourceId":"%1$s","destination":{"bucket":"%2$s","prefix":"%3$s"},"enabled":true},
                 {"id":"a-hourly","sourceId":"%1$s","destination":{"bucket":"%2$s","prefix":"/%3$s/"},"enabled":true},
                 {"id":"0-old","sourceId":"%1$s","destination":{"bucket":"elsewhere","prefix":"old"},"enabled":false}]
                """.formatted(source, bucket, prefix));
        assertThat(archiver.destination(source)).isEqualTo(new WalArchiver.Destination(bucket, prefix + "/" + source));

        ArchiverNode node = archiver.node("worker-dest", () -> List.of(source), new LeaseStore(ds));
        try {
            node.start();
            await().atMost(PROGRESS).until(() -> statuses().containsKey(source)
                    && statuses().get(source).archivedLsn() != null);
            switchWal(2);
            long committed = serverFlushLsn();
            await().atMost(PROGRESS).until(() -> Long.compareUnsigned(archived(source), committed) >= 0);
            WalArchive archive = repositories.openOrInit(bucket, prefix + "/" + source).wal();
            assertThat(archive.list().segments()).as("WAL in the policy's repository").isNotEmpty();
            assertThat(store.list(BUCKET, PREFIX + "/" + source + "/wal/")).as("nothing at the archiver's default")
                    .isEmpty();
        } finally {
            node.close();
            SCHEDULER.remove("policies?sourceId=" + source);
        }

        // enabled policies that disagree: the first by policy id wins, with a warning that names them
        SCHEDULER.put("policies?sourceId=" + source, """
                [{"id":"b","sourceId":"%1$s","destination":{"bucket":"%2$s","prefix":"one"},"enabled":true},
                 {"id":"a","sourceId":"%1$s","destination":{"bucket":"%2$s","prefix":"two"},"enabled":true}]
                """.formatted(source, bucket));
        ArchiverNode disagreeing = archiver.node("worker-dest-2", () -> List.of(source), new LeaseStore(ds));
        try {
            WalArchiver.Destination chosen = archiver.destination(source);
            assertThat(chosen.repositoryPrefix()).isEqualTo("two/" + source);
            assertThat(chosen.warning()).contains("policies of source " + source + " name different destinations")
                    .contains("policy a").contains("policy b");
            disagreeing.start();
            await().atMost(PROGRESS).until(() -> statuses().containsKey(source)
                    && statuses().get(source).warning() != null && "worker-dest-2".equals(
                    statuses().get(source).workerId()));
            assertThat(statuses().get(source).warning()).contains("name different destinations");
        } finally {
            disagreeing.close();
            SCHEDULER.remove("policies?sourceId=" + source);
        }
    }

    @Test
    void theSlotOfASourceDeletedInTheSchedulerIsDroppedButAnOutageIsNotADeletion() throws Exception {
        String source = "pitr-deleted";
        List<String> listed = new java.util.concurrent.CopyOnWriteArrayList<>(List.of(source));
        ArchiverNode node = archiver.node("worker-deleted", () -> List.copyOf(listed), new LeaseStore(ds));
        cluster.execute("postgres", "select pg_create_physical_replication_slot('lifeboat_wal_unknown') "
                + "where not exists (select 1 from pg_replication_slots where slot_name = 'lifeboat_wal_unknown')");
        try {
            node.start();
            await().atMost(PROGRESS).until(() -> statuses().containsKey(source)
                    && statuses().get(source).archivedLsn() != null);
            assertThat(slotExists(cluster, source)).isTrue();

            // gone from the listing while scheduler-service cannot answer about it: archiving goes on
            SCHEDULER_DOWN.add("sources/" + source);
            listed.clear();
            Thread.sleep(3000);
            assertThat(node.owned()).contains(source);
            assertThat(slotExists(cluster, source)).isTrue();

            // scheduler-service says it no longer exists: the slot goes with it
            SCHEDULER_DOWN.remove("sources/" + source);
            SCHEDULER.remove("sources/" + source);
            // the slot is gone on the server a moment before the archiver counts it: both are awaited
            await().atMost(PROGRESS).until(() -> !slotExists(cluster, source)
                    && registry.counter("lifeboat_wal_slots_dropped_total", "source", source, "slot",
                    WalStreamer.slotName("lifeboat_wal_", source)).count() >= 1.0);
            assertThat(node.owned()).doesNotContain(source);
            assertThat(registry.counter("lifeboat_wal_slots_dropped_total", "source", source, "slot",
                    WalStreamer.slotName("lifeboat_wal_", source)).count()).isEqualTo(1.0);
            // a slot this Lifeboat never knew is not touched
            assertThat(slotExists(cluster, "unknown")).isTrue();
        } finally {
            SCHEDULER_DOWN.clear();
            node.close();
            cluster.execute("postgres", "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
                    + "where slot_name = 'lifeboat_wal_unknown'");
        }
    }

    private Map<String, WalStatus> statuses() {
        return archiver.statuses();
    }

    private long archived(String source) {
        WalStatus s = archiver.statuses().get(source);
        return s == null || s.archivedLsn() == null ? 0 : WalNames.parseLsn(s.archivedLsn());
    }

    private static long serverFlushLsn() throws Exception {
        return serverFlushLsn(cluster);
    }

    private static long serverFlushLsn(PgCluster on) throws Exception {
        return lsn(on, "select pg_current_wal_flush_lsn()::text");
    }

    private static long lsn(PgCluster on, String query) throws Exception {
        try (Connection c = on.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(query)) {
            rs.next();
            return rs.getString(1) == null ? 0 : WalNames.parseLsn(rs.getString(1));
        }
    }

    private static boolean slotExists(PgCluster on, String source) throws Exception {
        try (Connection c = on.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select count(*) from pg_replication_slots where slot_name = '"
                     + WalStreamer.slotName("lifeboat_wal_", source) + "'")) {
            rs.next();
            return rs.getInt(1) == 1;
        }
    }

    private static void switchWal(int times) throws Exception {
        switchWal(cluster, times);
    }

    private static void switchWal(PgCluster on, int times) throws Exception {
        try (Connection c = on.connect("postgres"); Statement st = c.createStatement()) {
            for (int i = 0; i < times; i++) {
                st.execute("insert into marker (note, pad) select 'switch', repeat(md5(random()::text), 20) "
                        + "from generate_series(1, 200)");
                st.execute("select pg_switch_wal()");
            }
        }
    }

    private static void write(AtomicBoolean writing) {
        try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement()) {
            while (writing.get()) {
                st.execute("insert into marker (note, pad) select 'load', repeat(md5(random()::text), 10) "
                        + "from generate_series(1, 100)");
                Thread.sleep(20);
            }
        } catch (Exception e) {
            throw new IllegalStateException("write load stopped: " + e.getMessage(), e);
        }
    }

}
