package dev.lifeboat.scheduler;

import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.scheduler.domain.BackupRequest;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.vertx.VertxContextSupport;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The backup watchdog against real Kafka and PostgreSQL, with no snapshot-worker running: a request nobody works
 * on, and a backup whose progress stops, are re-requested a bounded number of times and then failed with a reason.
 * Timeouts are shortened (WatchdogServers); the real defaults are minutes.
 */
@QuarkusTest
@QuarkusTestResource(value = BackupWatchdogTest.WatchdogServers.class, restrictToAnnotatedClass = true)
class BackupWatchdogTest {
    static final Duration NO_PROGRESS = Duration.ofSeconds(6);

    public static class WatchdogServers extends RealServers {
        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            config.put("lifeboat.watchdog.check-interval", "1s");
            config.put("lifeboat.watchdog.no-progress-timeout", NO_PROGRESS.toMillis() + "ms");
            config.put("lifeboat.watchdog.max-rerequests", "2");
            config.put("mp.messaging.incoming.backup-results.group.id", "scheduler-service-watchdog-test");
            return config;
        }
    }

    @Test
    void aRequestNobodyWorksOnIsReRequestedThenFailedWithTheReason() {
        String src = register();
        String backupId = requestBackup(src);

        List<BackupRequested> requests = awaitRequests(src, 3, Duration.ofSeconds(60));
        BackupFailed failed = awaitFailure(backupId, Duration.ofSeconds(60));

        assertThat(requests).extracting(BackupRequested::backupId).containsOnly(backupId);
        assertThat(failed.sourceId()).isEqualTo(src);
        assertThat(failed.stage()).isEqualTo("QUEUED");
        assertThat(failed.reason()).contains("no progress since").contains("no worker reported progress")
                .contains("re-requested 2 times");
        given().auth().oauth2(Tokens.viewer()).get("/api/v1/backups/" + backupId).then().statusCode(200)
                .body("status", org.hamcrest.Matchers.equalTo("FAILED"));
    }

    @Test
    void aRequestAnotherSystemPublishedDirectlyIsWatchedLikeTheSchedulersOwn() throws Exception {
        String src = register();
        Map<String, Object> config = LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_PUBLISHER);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> publisher = new KafkaProducer<>(config, new StringSerializer(),
                new StringSerializer())) {
            // a new consumer group starts at the end of the topic: wait until the scheduler takes requests in
            long until = System.currentTimeMillis() + 120_000;
            boolean seen = false;
            while (!seen && System.currentTimeMillis() < until) {
                String warmUp = publishDirectly(publisher, src);
                for (int i = 0; i < 10 && !seen; i++) {
                    Thread.sleep(300);
                    seen = given().auth().oauth2(Tokens.viewer()).get("/api/v1/backups/" + warmUp).statusCode() == 200;
                }
            }
            assertThat(seen).as("the scheduler records requests published by others").isTrue();

            String backupId = publishDirectly(publisher, src);

            BackupFailed failed = awaitFailure(backupId, Duration.ofSeconds(90));
            assertThat(requestsOf(src, backupId)).as("the request and its two re-requests").hasSize(3);
            assertThat(failed.stage()).isEqualTo("QUEUED");
            assertThat(failed.reason()).contains("no worker reported progress").contains("re-requested 2 times");
            given().auth().oauth2(Tokens.viewer()).get("/api/v1/backups/" + backupId).then().statusCode(200)
                    .body("status", org.hamcrest.Matchers.equalTo("FAILED"))
                    .body("requestedBy", org.hamcrest.Matchers.equalTo("erp-nightly"));
        }
    }

    private static String publishDirectly(KafkaProducer<String, String> publisher, String src) throws Exception {
        String backupId = UUID.randomUUID().toString();
        BackupRequested request = new BackupRequested(backupId, src, dev.lifeboat.contracts.BackupType.FULL, null,
                "erp-nightly");
        publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, src, EventCodec.encodeData(request),
                EventCodec.headers(EventType.BACKUP_REQUESTED, "/erp/nightly", src))).get();
        return backupId;
    }

    @Test
    void aBackupWhoseProgressStopsIsReRequestedThenFailedNamingItsPhaseAndWorker() throws Exception {
        String src = register();
        Instant lastBeat;
        try (KafkaProducer<String, String> producer = progressProducer()) {
            // the scheduler's consumer may not be fetching yet (group join): warm it up on backups of its own
            long caughtUp = System.currentTimeMillis() + 120_000;
            boolean warm = false;
            while (!warm && System.currentTimeMillis() < caughtUp) {
                String warmUp = requestBackup(src);
                for (int i = 0; i < 20 && !warm; i++) {
                    beat(producer, warmUp, src);
                    Thread.sleep(300);
                    warm = progressRecorded(warmUp) != null;
                }
            }
            assertThat(warm).as("the scheduler records heartbeats").isTrue();
            String backupId = requestBackup(src);
            Instant firstBeat = Instant.now();
            beat(producer, backupId, src);
            // progress events are heartbeats: while they flow, the backup is left alone
            Instant heartbeatsUntil = Instant.now().plus(NO_PROGRESS.multipliedBy(2));
            do {
                lastBeat = Instant.now();
                beat(producer, backupId, src);
                Thread.sleep(500);
            } while (Instant.now().isBefore(heartbeatsUntil));
            assertThat(requestsOf(src, backupId)).as("re-requests while progress flowed").hasSize(1);

            BackupFailed failed = awaitFailure(backupId, Duration.ofSeconds(90));

            assertThat(requestsOf(src, backupId)).hasSize(3);
            assertThat(failed.stage()).isEqualTo("DUMP");
            assertThat(failed.reason()).contains("no progress since").contains("phase DUMPING on worker worker-7")
                    .contains("re-requested 2 times");
            Instant since = Instant.parse(failed.reason().replaceAll(".*no progress since (\\S+) .*", "$1"));
            assertThat(since).isBetween(firstBeat, lastBeat.plus(NO_PROGRESS));
        }
    }

    private static List<BackupRequested> requestsOf(String src, String backupId) {
        return requestsSeen(src).stream().filter(r -> r.backupId().equals(backupId)).toList();
    }

    private static void beat(KafkaProducer<String, String> producer, String backupId, String src) throws Exception {
        producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, backupId,
                EventCodec.encodeData(new BackupProgress(backupId, src, "DUMPING", 4096, 10, "worker-7")),
                EventCodec.headers(EventType.BACKUP_PROGRESS, "/lifeboat/snapshot-worker", backupId))).get();
    }

    /** When the scheduler recorded the backup's last heartbeat, or null. */
    private static Instant progressRecorded(String backupId) {
        try {
            BackupRequest row = VertxContextSupport.subscribeAndAwait(() -> Panache.withSession(
                    () -> BackupRequest.<BackupRequest>findById(UUID.fromString(backupId))));
            return row == null ? null : row.lastProgressAt;
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    private static String register() {
        String src = "wd-" + UUID.randomUUID().toString().substring(0, 8);
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", src, "name", "Stalled", "host", "127.0.0.1", "port", 25432, "database", "orders",
                        "username", "backup", "passwordRef", "env:LIFEBOAT_SECRET_ORDERS_DB_PASSWORD"))
                .post("/api/v1/sources").then().statusCode(201);
        return src;
    }

    private static String requestBackup(String src) {
        return given().auth().oauth2(Tokens.operator()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL")).post("/api/v1/backups")
                .then().statusCode(202).extract().path("backupId");
    }

    private static KafkaProducer<String, String> progressProducer() {
        Map<String, Object> config = LocalStack.ensureStarted().kafkaClientConfig("snapshot-worker");
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    private static List<BackupRequested> awaitRequests(String src, int count, Duration wait) {
        List<BackupRequested> found = requestsSeen(src);
        long deadline = System.currentTimeMillis() + wait.toMillis();
        while (found.size() < count && System.currentTimeMillis() < deadline) {
            sleep(500);
            found = requestsSeen(src);
        }
        assertThat(found).as("BackupRequested of %s", src).hasSize(count);
        return found;
    }

    /** Every BackupRequested of the source on the topic so far. */
    private static List<BackupRequested> requestsSeen(String src) {
        List<BackupRequested> found = new ArrayList<>();
        for (CloudEvent<?> e : read(Topics.BACKUP_REQUESTED, src)) {
            found.add((BackupRequested) e.data());
        }
        return found;
    }

    private static BackupFailed awaitFailure(String backupId, Duration wait) {
        long deadline = System.currentTimeMillis() + wait.toMillis();
        while (System.currentTimeMillis() < deadline) {
            for (CloudEvent<?> e : read(Topics.BACKUP_EVENTS, backupId)) {
                if (e.data() instanceof BackupFailed f) {
                    return f;
                }
            }
            sleep(500);
        }
        throw new AssertionError("no BackupFailed for " + backupId + " within " + wait);
    }

    /** Every record of {@code key} on the topic up to its end as of now. */
    private static List<CloudEvent<?>> read(String topic, String key) {
        Map<String, Object> config = LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN);
        List<CloudEvent<?>> found = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config,
                new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(300))) {
                    if (key.equals(r.key())) {
                        found.add(EventCodec.decode(r.headers(), r.value()));
                    }
                }
            }
        }
        return found;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
