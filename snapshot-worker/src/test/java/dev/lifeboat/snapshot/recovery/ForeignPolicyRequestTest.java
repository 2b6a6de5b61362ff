package dev.lifeboat.snapshot.recovery;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.testsupport.LocalStack;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A BackupRequested published by an outside publisher (its own Kafka principal) that names another source's policy is
 * refused with a reason, and nothing is written to that policy's destination; a backup id already taken for one
 * source is not taken again for another. Real Kafka, PostgreSQL and S3Proxy; scheduler-service's source and policy
 * lookups are answered by a small HTTP server of the test's own.
 */
@QuarkusTest
@QuarkusTestResource(value = ForeignPolicyRequestTest.Resource.class, restrictToAnnotatedClass = true)
class ForeignPolicyRequestTest {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String SOURCE = "orders-db";
    static final String OTHER_SOURCE = "billing-db";
    static final String BUCKET = "lifeboat-snapshot-foreign-test";
    static final String OTHER_PREFIX = "billing-" + UUID.randomUUID();
    static final String OTHER_POLICY = "billing-nightly";
    static final Map<String, String> SCHEDULER = new ConcurrentHashMap<>();
    static HttpServer scheduler;
    static KafkaProducer<String, String> publisher;

    @Inject
    ObjectStore store;
    @Inject
    MeterRegistry registry;
    TopicTail events;

    /** The component test's servers plus the stand-in for scheduler-service. */
    public static class Resource extends RecoveryCommandsTestResource {
        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            config.put("quarkus.rest-client.scheduler.url", schedulerUrl());
            return config;
        }
    }

    static synchronized String schedulerUrl() {
        if (scheduler == null) {
            String source = """
                    {"id":"%s","kind":"postgresql","host":"127.0.0.1","port":1,"database":"%s","username":"u",
                     "passwordRef":"env:LIFEBOAT_SECRET_UNUSED"}""";
            SCHEDULER.put("sources/" + SOURCE, source.formatted(SOURCE, SOURCE));
            SCHEDULER.put("sources/" + OTHER_SOURCE, source.formatted(OTHER_SOURCE, OTHER_SOURCE));
            SCHEDULER.put("policies/" + OTHER_POLICY, """
                    {"id":"%s","sourceId":"%s","destination":{"bucket":"%s","prefix":"%s"},
                     "offsite":null}""".formatted(OTHER_POLICY, OTHER_SOURCE, BUCKET, OTHER_PREFIX));
            try {
                scheduler = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            scheduler.createContext("/api/v1/", ForeignPolicyRequestTest::answer);
            scheduler.start();
        }
        return "http://127.0.0.1:" + scheduler.getAddress().getPort();
    }

    private static void answer(HttpExchange exchange) throws IOException {
        String body = SCHEDULER.get(exchange.getRequestURI().getPath().substring("/api/v1/".length()));
        SchedulerAnswer.send(exchange, body);
    }

    @BeforeAll
    static void publisher() {
        publisher = new KafkaProducer<>(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_PUBLISHER),
                new StringSerializer(), new StringSerializer());
    }

    @AfterAll
    static void close() {
        publisher.close();
        if (scheduler != null) {
            scheduler.stop(0);
        }
    }

    @BeforeEach
    void tail() {
        store.ensureBucket(BUCKET);
        events = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.BACKUP_EVENTS);
    }

    @AfterEach
    void closeTail() {
        events.close();
    }

    @Test
    void requestNamingAnotherSourcesPolicyFailsWithReasonAndWritesNothingThere() {
        String backupId = UUID.randomUUID().toString();

        request(new BackupRequested(backupId, SOURCE, BackupType.FULL, OTHER_POLICY, "intruder"));

        BackupFailed failed = failedOf(backupId);
        assertThat(failed.sourceId()).isEqualTo(SOURCE);
        assertThat(failed.stage()).isEqualTo("LOOKUP");
        assertThat(failed.reason()).contains("policy '" + OTHER_POLICY + "' belongs to source '" + OTHER_SOURCE + "'")
                .contains("not to source '" + SOURCE + "'").contains("nothing was backed up");
        assertThat(store.list(BUCKET, OTHER_PREFIX + "/")).as("objects under the other source's destination").isEmpty();
        assertThat(events.seen(ofType(EventType.SNAPSHOT_CREATED, backupId))).isEmpty();
    }

    @Test
    void backupIdTakenForOneSourceIsNotTakenAgainForAnother() {
        String backupId = UUID.randomUUID().toString();
        request(new BackupRequested(backupId, SOURCE, BackupType.FULL, OTHER_POLICY, "intruder"));
        failedOf(backupId);
        double before = refused("BACKUP_ID_OF_OTHER_SOURCE");

        // the same id for another source, then a marker on the same key (partition) to know it was consumed
        request(new BackupRequested(backupId, OTHER_SOURCE, BackupType.FULL, OTHER_POLICY, "intruder"));
        String marker = UUID.randomUUID().toString();
        request(new BackupRequested(marker, OTHER_SOURCE, BackupType.FULL, "no-such-policy", "intruder"));
        assertThat(failedOf(marker).reason()).contains("policy 'no-such-policy' is not registered");

        assertThat(refused("BACKUP_ID_OF_OTHER_SOURCE")).isEqualTo(before + 1);
        assertThat(events.seen(r -> r.value() != null && r.value().contains(backupId)
                && !EventType.BACKUP_FAILED.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))))
                .as("no progress or snapshot under the taken id").isEmpty();
        assertThat(events.seen(ofType(EventType.BACKUP_FAILED, backupId))).as("only the first request's outcome")
                .hasSize(1);
        assertThat(store.list(BUCKET, OTHER_PREFIX + "/")).isEmpty();
    }

    private double refused(String reason) {
        var counter = registry.find("lifeboat_backup_requests_refused_total").tag("reason", reason).counter();
        return counter == null ? 0 : counter.count();
    }

    private BackupFailed failedOf(String backupId) {
        ConsumerRecord<String, String> record = events.await(ofType(EventType.BACKUP_FAILED, backupId), WAIT);
        return (BackupFailed) EventCodec.decode(record.headers(), record.value()).data();
    }

    private static Predicate<ConsumerRecord<String, String>> ofType(EventType type, String backupId) {
        return r -> type.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))
                && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
    }

    private static void request(BackupRequested request) {
        try {
            publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, request.sourceId(),
                    EventCodec.encodeData(request), EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher",
                    request.sourceId()))).get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot publish BackupRequested " + request.backupId(), e);
        }
    }
}
