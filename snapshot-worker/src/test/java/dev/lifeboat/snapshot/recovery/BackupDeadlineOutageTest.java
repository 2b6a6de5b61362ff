package dev.lifeboat.snapshot.recovery;

import com.sun.net.httpserver.HttpServer;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.snapshot.service.Spool;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The object store stays down longer than the policy's maxDuration while the backup is redone under the retry
 * policy (whose window is longer): the backup ends BackupFailed at UPLOAD with a reason that says what was
 * unreachable, why, and which limit it passed; once the store is back nothing of it is left (no manifest, no spool,
 * no SnapshotCreated, nothing parked). Real Kafka, PostgreSQL (the source too) and S3Proxy; scheduler-service's
 * source and policy lookups are answered by a small HTTP server of the test's own.
 */
@QuarkusTest
@QuarkusTestResource(value = BackupDeadlineOutageTest.Resource.class, restrictToAnnotatedClass = true)
class BackupDeadlineOutageTest {
    static final String SOURCE = "deadline-outage-src";
    static final String POLICY = "deadline-outage-policy";
    static final String SOURCE_DB = "snapshot_deadline_outage_src";
    static final String BUCKET = "lifeboat-snapshot-deadline-outage-test";
    static final String MAX_DURATION = "PT15S";
    static HttpServer scheduler;

    @Inject
    ObjectStore store;
    @Inject
    Spool spools;
    @Inject
    AgroalDataSource ds;

    /** The component test's servers, a retry window much longer than the maxDuration, the stand-in scheduler. */
    public static class Resource extends RecoveryCommandsTestResource {
        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            config.put("quarkus.rest-client.scheduler.url", schedulerUrl());
            config.put("lifeboat.object-store.default-bucket", BUCKET);
            config.put("lifeboat.retry.window", "3m");
            config.put("lifeboat.retry.initial-backoff", "1s");
            config.put("lifeboat.retry.max-backoff", "3s");
            return config;
        }
    }

    static synchronized String schedulerUrl() {
        if (scheduler == null) {
            LocalStack stack = LocalStack.ensureStarted();
            Databases.createDatabase(SOURCE_DB);
            Databases.loadSample(SOURCE_DB, 1);
            byte[] source = """
                    {"id":"%s","kind":"postgresql","host":"127.0.0.1","port":%d,"database":"%s",
                     "username":"%s","passwordRef":"file:%s","sslmode":"require"}"""
                    .formatted(SOURCE, stack.pgPort(), SOURCE_DB, stack.pgSuperUser(),
                            RecoveryCommandsTestResource.TARGET_PASSWORD_FILE).getBytes(StandardCharsets.UTF_8);
            byte[] policy = """
                    {"id":"%s","sourceId":"%s","maxDuration":"%s"}"""
                    .formatted(POLICY, SOURCE, MAX_DURATION).getBytes(StandardCharsets.UTF_8);
            try {
                scheduler = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            answer(scheduler, "/api/v1/sources/" + SOURCE, source);
            answer(scheduler, "/api/v1/policies/" + POLICY, policy);
            scheduler.start();
        }
        return "http://127.0.0.1:" + scheduler.getAddress().getPort();
    }

    private static void answer(HttpServer server, String path, byte[] body) {
        server.createContext(path, exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
    }

    @AfterAll
    static void stopScheduler() {
        if (scheduler != null) {
            scheduler.stop(0);
            scheduler = null;
        }
    }

    @Test
    void backupRetriedThroughAnObjectStoreOutageFailsAtItsMaxDurationAndLeavesNothingBehind() throws Exception {
        store.ensureBucket(BUCKET);
        LocalStack stack = LocalStack.ensureStarted();
        String backupId = UUID.randomUUID().toString();
        try (TopicTail events = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.BACKUP_EVENTS);
             TopicTail parked = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.PARKED);
             KafkaProducer<String, String> publisher = new KafkaProducer<>(
                     stack.kafkaClientConfig(LocalStack.KAFKA_PUBLISHER), new StringSerializer(),
                     new StringSerializer())) {
            ConsumerRecord<String, String> failed;
            stack.stopServer("s3");
            try {
                BackupRequested request = new BackupRequested(backupId, SOURCE, BackupType.FULL, POLICY, "test");
                publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, SOURCE,
                        EventCodec.encodeData(request), EventCodec.headers(EventType.BACKUP_REQUESTED,
                                "/test/publisher", SOURCE))).get();
                // the deadline is 15 s after the first attempt; the retry window (3 min) would go on much longer
                failed = events.await(ofType(EventType.BACKUP_FAILED, backupId), Duration.ofSeconds(60));
            } finally {
                stack.startServer("s3");
            }
            assertThat(failed.value()).contains("\"stage\":\"UPLOAD\"")
                    .contains("object store unreachable for")
                    .contains("the backup passed the maximum backup duration " + MAX_DURATION)
                    .contains("maxDuration of policy '" + POLICY + "'")
                    .containsIgnoringCase("connect");
            assertThat(failed.value()).doesNotContain(stack.pgSuperPassword());

            // the store is back: a retry still in flight would write the backup now; give it time to show
            Thread.sleep(5_000);
            assertThat(events.seen(ofType(EventType.SNAPSHOT_CREATED, backupId))).isEmpty();
            assertThat(events.seen(ofType(EventType.BACKUP_FAILED, backupId))).hasSize(1);
            assertThat(store.list(BUCKET, "")).noneMatch(key -> key.contains(backupId));
            assertThat(Files.exists(spools.job(backupId))).as("spool of the stopped backup").isFalse();
            assertThat(parked.seen(r -> r.value() != null && r.value().contains(backupId))).isEmpty();
            assertThat(ledgerStatus(backupId)).isEqualTo("FAILED");
        }
    }

    private String ledgerStatus(String backupId) throws Exception {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("select status from snapshot.job where backup_id = ?::uuid")) {
            ps.setString(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static Predicate<ConsumerRecord<String, String>> ofType(EventType type, String backupId) {
        return r -> type.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))
                && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
    }
}
