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
    static final int PG_PORT = Integer.parseInt(System.getenv().getOrDefault("ARCHIVER_TEST_PG_PORT", "22433"));
    static final String BUCKET = "lifeboat-archiver-test";
    static final String PREFIX = "archiver-" + UUID.randomUUID().toString().substring(0, 8);
    static final Map<String, String> SCHEDULER = new ConcurrentHashMap<>();
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
        String body = SCHEDULER.get(exchange.getRequestURI().getPath().substring("/api/v1/".length()));
        byte[] bytes = (body == null ? "{\"status\":404,\"title\":\"Not Found\"}" : body)
                .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", body == null ? "application/problem+json"
                : "application/json");
        exchange.sendResponseHeaders(body == null ? 404 : 200, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }

    @BeforeAll
    static void startCluster() throws IOException {
        cluster = PgCluster.at(Path.of("target", "pgc-archiver"), PG_PORT).start();
        Path password = Path.of(System.getProperty("java.io.tmpdir"), "lifeboat-snapshot-test-secrets",
                "replicator-password");
        Files.createDirectories(password.getParent());
        Files.writeString(password, PgCluster.REPLICATION_PASSWORD);
        for (String id : List.of("pitr-main", "pitr-gap")) {
            SCHEDULER.put("sources/" + id, """
                    {"id":"%s","kind":"postgresql","method":"physical","host":"127.0.0.1","port":%d,
                     "database":"postgres","username":"%s","passwordRef":"file:%s","sslmode":"disable"}"""
                    .formatted(id, PG_PORT, PgCluster.REPLICATION_USER, password));
        }
        SCHEDULER.put("sources", """
                [{"id":"pitr-main","kind":"postgresql","method":"physical"},
                 {"id":"shop","kind":"postgresql","method":"logical"},
                 {"id":"pitr-gap","kind":"postgresql","method":"physical"}]""");
        cluster.execute("postgres", "create table if not exists marker (id bigserial primary key, note text, "
                + "pad text, at timestamptz default clock_timestamp())");
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            for (String slot : List.of("lifeboat_wal_pitr_main_", "lifeboat_wal_pitr_gap_")) {
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
            await().atMost(Duration.ofSeconds(20)).until(() -> first.owned().contains(source));
            second.start();
            WalArchive archive = repositories.openOrInit(BUCKET, PREFIX + "/" + source).wal();

            // the partial trails the server by about the partial interval: a committed row is archived in seconds
            await().atMost(Duration.ofSeconds(20)).until(() -> archived(source) > 0);
            switchWal(3);
            long switched = serverFlushLsn();
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                    .until(() -> Long.compareUnsigned(archived(source), switched) >= 0);
            cluster.execute("postgres", "insert into marker (note) values ('committed')");
            long committed = serverFlushLsn();
            long t0 = System.nanoTime();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .until(() -> Long.compareUnsigned(archived(source), committed) >= 0);
            // the partial interval (0.5 s) plus the status interval (1 s) through which the test sees it
            double trailSeconds = (System.nanoTime() - t0) / 1e9;
            assertThat(trailSeconds).as("seconds until a committed position was archived").isLessThan(3);
            assertThat(second.owned()).as("one owner at a time").isEmpty();

            // the owner dies holding its lease; the other takes the source over within the lease's TTL
            first.close();
            long killed = System.nanoTime();
            await().atMost(LEASE_TTL.plusSeconds(6)).pollInterval(Duration.ofMillis(100))
                    .until(() -> second.owned().contains(source));
            double takeover = (System.nanoTime() - killed) / 1e9;
            assertThat(takeover).as("seconds until the other worker took over").isLessThan(
                    LEASE_TTL.toSeconds() + 2);
            switchWal(2);
            long lastCommitted = serverFlushLsn();
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() ->
                    statuses().containsKey(source) && "worker-b".equals(statuses().get(source).workerId())
                            && Long.compareUnsigned(archived(source), lastCommitted) >= 0);
            writing.set(false);
            load.join();

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
                await().atMost(Duration.ofSeconds(20)).until(() -> archiver.statuses().containsKey(source));
                switchWal(3);
                long committed = serverFlushLsn();
                await().atMost(Duration.ofSeconds(20)).until(() -> {
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
                        Duration.ofSeconds(15));
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

    private Map<String, WalStatus> statuses() {
        return archiver.statuses();
    }

    private long archived(String source) {
        WalStatus s = archiver.statuses().get(source);
        return s == null || s.archivedLsn() == null ? 0 : WalNames.parseLsn(s.archivedLsn());
    }

    private static long serverFlushLsn() throws Exception {
        try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select pg_current_wal_flush_lsn()::text")) {
            rs.next();
            return WalNames.parseLsn(rs.getString(1));
        }
    }

    private static void switchWal(int times) throws Exception {
        try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement()) {
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
