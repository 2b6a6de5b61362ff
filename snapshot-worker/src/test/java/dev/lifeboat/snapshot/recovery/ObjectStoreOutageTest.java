package dev.lifeboat.snapshot.recovery;

import com.sun.net.httpserver.HttpServer;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.blob.FaultInjectingObjectStore;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
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
import java.sql.Connection;
import java.sql.SQLException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The object store is stopped for 90 s in the middle of a backup's upload (its first chunks already stored): the
 * request is redone under the retry policy, no BackupFailed is reported for the outage, and the backup is created once
 * the store is back. Real Kafka, PostgreSQL (the source too) and S3Proxy; scheduler-service's source lookup is answered
 * by a small HTTP server of the test's own, which answers 503 as scheduler-service does while PostgreSQL is away.
 */
@QuarkusTest
@QuarkusTestResource(value = ObjectStoreOutageTest.Resource.class, restrictToAnnotatedClass = true)
class ObjectStoreOutageTest {
    /** A new repository per run, so the upload really writes its chunks instead of finding them stored. */
    static final String SOURCE = "outage-src-" + UUID.randomUUID().toString().substring(0, 8);
    static final String SOURCE_DB = "snapshot_outage_src";
    static final String BUCKET = "lifeboat-snapshot-outage-test";
    static final Duration OUTAGE = Duration.ofSeconds(90);
    static HttpServer scheduler;

    @Inject
    FaultInjectingObjectStore store;

    /** The component test's servers, a retry window longer than the outage, and the stand-in scheduler. */
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
            // a few MB: several chunks, so the upload can be stopped after the first ones
            Databases.loadSample(SOURCE_DB, 4);
            byte[] source = """
                    {"id":"%s","kind":"postgresql","host":"127.0.0.1","port":%d,"database":"%s",
                     "username":"%s","passwordRef":"file:%s","sslmode":"require"}"""
                    .formatted(SOURCE, stack.pgPort(), SOURCE_DB, stack.pgSuperUser(),
                            RecoveryCommandsTestResource.TARGET_PASSWORD_FILE).getBytes(StandardCharsets.UTF_8);
            try {
                scheduler = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            scheduler.createContext("/api/v1/sources/" + SOURCE, exchange -> {
                byte[] body = source;
                int status = 200;
                try (Connection probe = Databases.connect("postgres")) {
                    exchange.getResponseHeaders().add("Content-Type", "application/json");
                } catch (SQLException databaseAway) {
                    // scheduler-service's own answer while the platform's database is away
                    status = 503;
                    body = """
                            {"type":"about:blank","title":"Service Unavailable","status":503,
                             "detail":"scheduler-service's database is unavailable (%s); retry later"}"""
                            .formatted(databaseAway.getMessage().replace("\"", "'")).getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().add("Content-Type", "application/problem+json");
                    exchange.getResponseHeaders().add("Retry-After", "1");
                }
                exchange.sendResponseHeaders(status, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            scheduler.start();
        }
        return "http://127.0.0.1:" + scheduler.getAddress().getPort();
    }

    @AfterAll
    static void stopScheduler() {
        if (scheduler != null) {
            scheduler.stop(0);
            scheduler = null;
        }
    }

    @Test
    void backupWhoseUploadIsCutByANinetySecondObjectStoreOutageCompletesOnceItIsBack() throws Exception {
        store.ensureBucket(BUCKET);
        LocalStack stack = LocalStack.ensureStarted();
        String backupId = UUID.randomUUID().toString();
        try (TopicTail events = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.BACKUP_EVENTS);
             TopicTail parked = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.PARKED);
             TopicTail dead = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.DLQ);
             KafkaProducer<String, String> publisher = new KafkaProducer<>(
                     stack.kafkaClientConfig(LocalStack.KAFKA_PUBLISHER), new StringSerializer(),
                     new StringSerializer())) {
            // the new repository's key file and the first chunk reach the store; the next chunks wait for the stop
            store.holdWrites(BUCKET, 2);
            try {
                publish(publisher, backupId);
                awaitHeldWrite(Duration.ofSeconds(120));
                // chunks are written in parallel: the one let through may still be on its way while the next is held
                List<String> stored = awaitStoredChunk(Duration.ofSeconds(30));
                assertThat(stored).as("chunks stored before the stop: the outage lands mid-upload")
                        .anyMatch(k -> k.contains("/chunks/"));
                assertThat(stored).as("no manifest yet").noneMatch(k -> k.contains("/manifests/"));

                stack.stopServer("s3");
                Instant stopped = Instant.now();
                try {
                    store.release(); // the held chunk writes now meet the stopped store
                    Thread.sleep(Math.max(0, OUTAGE.minus(Duration.between(stopped, Instant.now())).toMillis()));
                    assertThat(events.seen(ofType(EventType.BACKUP_FAILED, backupId)))
                            .as("an object store outage is not a failed backup").isEmpty();
                    assertThat(events.seen(ofType(EventType.SNAPSHOT_CREATED, backupId))).isEmpty();
                } finally {
                    stack.startServer("s3");
                }
            } finally {
                store.release();
            }

            ConsumerRecord<String, String> created = events.await(ofType(EventType.SNAPSHOT_CREATED, backupId),
                    Duration.ofSeconds(120));
            assertThat(created.value()).contains(BUCKET);
            assertThat(events.seen(ofType(EventType.BACKUP_FAILED, backupId))).isEmpty();
            assertThat(parked.seen(r -> r.value() != null && r.value().contains(backupId))).isEmpty();
            assertThat(dead.seen(r -> r.value() != null && r.value().contains(backupId))).isEmpty();
        }
    }

    static void publish(KafkaProducer<String, String> publisher, String backupId) throws Exception {
        BackupRequested request = new BackupRequested(backupId, SOURCE, BackupType.FULL, null, "test");
        publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, SOURCE, EventCodec.encodeData(request),
                EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher", SOURCE))).get();
    }

    private List<String> awaitStoredChunk(Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            List<String> stored = store.list(BUCKET, "").stream().filter(k -> k.contains(SOURCE + "/")).toList();
            if (stored.stream().anyMatch(k -> k.contains("/chunks/")) || Instant.now().isAfter(deadline)) {
                return stored;
            }
            Thread.sleep(100);
        }
    }

    private void awaitHeldWrite(Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (store.heldWrites() == 0) {
            assertThat(Instant.now()).as("the upload reached its second chunk within %s", timeout).isBefore(deadline);
            Thread.sleep(50);
        }
    }

    static Predicate<ConsumerRecord<String, String>> ofType(EventType type, String backupId) {
        return r -> type.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))
                && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
    }
}
