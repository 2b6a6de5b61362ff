package dev.lifeboat.catalog;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.Topics;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.ValidatableResponse;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.nullValue;

/** Backup events published on the real Kafka topics, read back over the catalog's HTTP API. */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
class BackupLifecycleTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    static TestKafka kafka;

    @BeforeAll
    static void connect() {
        kafka = new TestKafka();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    @Test
    void requestedBackupBecomesCompletedWithSizeChecksumLocationAndHistory() {
        TestBackups b = TestBackups.full();
        Instant start = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        String requestId = UUID.randomUUID().toString();
        kafka.publish(requestId, start, b.sourceId(), b.requested("ops@example.com"));
        awaitBackup(b.backupId(), "REQUESTED").body("requestedBy", equalTo("ops@example.com"));

        kafka.publish(b.sourceId(), b.progress("UPLOADING", 1024, 25));
        kafka.publish(b.sourceId(), b.snapshotCreated(start.plusSeconds(1)));
        kafka.publish(b.sourceId(), b.completed(start.plusSeconds(1)));

        awaitBackup(b.backupId(), "COMPLETED")
                .body("sourceId", equalTo(b.sourceId()))
                .body("type", equalTo("FULL"))
                .body("sizeBytes", equalTo(4096))
                .body("rawBytes", equalTo(16384))
                .body("sha256", equalTo(b.sha256()))
                .body("durationMs", equalTo(7000))
                .body("requestedAt", equalTo(start.toString()))
                .body("workerId", equalTo("worker-1"))
                .body("location.bucket", equalTo("lifeboat-backups"))
                .body("location.objectKey", equalTo(b.objectKey()))
                .body("location.manifestKey", equalTo(b.manifestKey()))
                .body("location.uri", equalTo("s3://lifeboat-backups/" + b.objectKey()))
                .body("progress.phase", equalTo("UPLOADING"))
                .body("failure", nullValue())
                .body("events.type", contains("dev.lifeboat.backup.requested.v1", "dev.lifeboat.backup.progress.v1",
                        "dev.lifeboat.backup.snapshot-created.v1", "dev.lifeboat.backup.completed.v1"))
                .body("events[0].id", equalTo(requestId))
                .body("events[0].time", equalTo(start.toString()))
                .body("events[0].data.requestedBy", equalTo("ops@example.com"))
                .body("events[3].data.manifestKey", equalTo(b.manifestKey()));
    }

    @Test
    void theVerdictShowsWithItsTimeAndAVerificationThatCouldNotReadTheStoreIsShownApart() {
        TestBackups b = TestBackups.full();
        Instant done = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        kafka.publish(b.sourceId(), b.completed(done));
        kafka.publish(b.sourceId(), new BackupVerified(b.backupId(), b.sourceId(), BackupVerified.FULL, false,
                java.util.List.of("3001.dat: chunk ab12: authentication tag mismatch"), done.plusSeconds(60)));
        kafka.publish(b.sourceId(), new BackupVerified(b.backupId(), b.sourceId(), BackupVerified.FULL, false,
                java.util.List.of("manifest unreadable now: connection refused"), done.plusSeconds(120),
                BackupVerified.UNREADABLE));

        await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> backup(b.backupId())
                .statusCode(200)
                .body("verification.state", equalTo("FAILED"))
                .body("verification.verifiedAt", equalTo(done.plusSeconds(60).toString()))
                .body("verification.problems", containsString("authentication tag mismatch"))
                .body("verification.unreadableAt", equalTo(done.plusSeconds(120).toString()))
                .body("verification.unreadableProblems", containsString("connection refused")));
    }

    @Test
    void duplicateEventIdIsRecordedOnce() {
        TestBackups b = TestBackups.full();
        String requestId = UUID.randomUUID().toString();
        String completedId = UUID.randomUUID().toString();
        Instant now = Instant.now();
        kafka.publish(requestId, now, b.sourceId(), b.requested("first"));
        // a redelivery, or a re-publication with changed content: the id decides, the first one wins
        kafka.publish(requestId, now, b.sourceId(), b.requested("second"));
        kafka.publish(completedId, now, b.sourceId(), b.completed(now));
        kafka.publish(completedId, now, b.sourceId(), b.completed(now));
        // same key, so same partitions: once these markers are in, the duplicates before them were processed
        TestBackups marker = TestBackups.full().ofSource(b.sourceId());
        kafka.publish(b.sourceId(), marker.requested("marker"));
        kafka.publish(b.sourceId(), marker.failed("DUMP", "marker"));
        await().atMost(WAIT).untilAsserted(() -> backup(marker.backupId()).statusCode(200).body("events", hasSize(2)));

        backup(b.backupId()).statusCode(200)
                .body("requestedBy", equalTo("first"))
                .body("events", hasSize(2))
                .body("events.id", containsInAnyOrder(requestId, completedId));
        given().auth().oauth2(Tokens.admin()).when().get("/q/metrics").then().statusCode(200)
                .body(containsString("lifeboat_catalog_events_duplicate_total{"));
    }

    @Test
    void completedBeforeRequestedEndsCompleted() {
        TestBackups b = TestBackups.full();
        Instant requestedAt = Instant.now().minusSeconds(60).truncatedTo(ChronoUnit.MILLIS);
        kafka.publish(b.sourceId(), b.completed(requestedAt.plusSeconds(5)));
        awaitBackup(b.backupId(), "COMPLETED").body("requestedBy", nullValue());

        kafka.publish(UUID.randomUUID().toString(), requestedAt, b.sourceId(), b.requested("late-request"));
        kafka.publish(b.sourceId(), b.progress("DUMPING", 10, null));
        await().atMost(WAIT).untilAsserted(() -> backup(b.backupId()).body("events", hasSize(3)));
        backup(b.backupId())
                .body("status", equalTo("COMPLETED"))
                .body("requestedBy", equalTo("late-request"))
                .body("requestedAt", equalTo(requestedAt.toString()))
                .body("location.manifestKey", equalTo(b.manifestKey()));
    }

    @Test
    void failedIsFinalAndShowsStageAndReason() {
        TestBackups b = TestBackups.full();
        kafka.publish(b.sourceId(), b.requested("ops"));
        kafka.publish(b.sourceId(), b.failed("CONNECT", "connection refused by db.example:5432; check the source"));
        awaitBackup(b.backupId(), "FAILED");
        kafka.publish(b.sourceId(), b.snapshotCreated(Instant.now()));
        await().atMost(WAIT).untilAsserted(() -> backup(b.backupId()).body("events", hasSize(3)));
        backup(b.backupId())
                .body("status", equalTo("FAILED"))
                .body("failure.stage", equalTo("CONNECT"))
                .body("failure.reason", containsString("connection refused"));
    }

    @Test
    void backupRequestedWithoutIdGetsTheIdOfItsRecord() {
        String source = TestBackups.newSource();
        RecordMetadata meta = kafka.publish(source,
                new BackupRequested(null, source, BackupType.INCREMENTAL, null, "external-system"));
        String expected = Ids.backupIdForRecord(Topics.BACKUP_REQUESTED, meta.partition(), meta.offset());
        awaitBackup(expected, "REQUESTED")
                .body("sourceId", equalTo(source))
                .body("type", equalTo("INCREMENTAL"))
                .body("events[0].data.backupId", equalTo(expected));
    }

    @Test
    void latestRestorableIsTheNewestCompletedBackupOfItsSource() {
        String source = TestBackups.newSource();
        Instant now = Instant.now();
        TestBackups older = TestBackups.full().ofSource(source);
        TestBackups newer = TestBackups.of(BackupType.INCREMENTAL).ofSource(source);
        TestBackups failing = TestBackups.full().ofSource(source);
        kafka.publish(source, older.completed(now.minusSeconds(3600)));
        kafka.publish(source, newer.completed(now.minusSeconds(600)));
        kafka.publish(source, failing.requested("ops"));
        kafka.publish(source, failing.failed("DUMP", "disk full"));
        awaitBackup(failing.backupId(), "FAILED");

        given().auth().oauth2(Tokens.admin()).when().get("/api/v1/sources/{id}/latest-restorable", source)
                .then().statusCode(200)
                .body("backupId", equalTo(newer.backupId()))
                .body("status", equalTo("COMPLETED"))
                .body("location.uri", equalTo("s3://lifeboat-backups/" + newer.objectKey()));
    }

    @Test
    void sourceWithoutCompletedBackupIs404ProblemJson() {
        given().auth().oauth2(Tokens.admin()).when().get("/api/v1/sources/{id}/latest-restorable", "never-backed-up")
                .then().statusCode(404)
                .contentType("application/problem+json")
                .body("status", equalTo(404))
                .body("detail", containsString("never-backed-up"));
    }

    @Test
    void unknownBackupIs404ProblemJson() {
        String id = UUID.randomUUID().toString();
        given().auth().oauth2(Tokens.admin()).when().get("/api/v1/backups/{id}", id)
                .then().statusCode(404)
                .contentType("application/problem+json")
                .body("title", equalTo("Not Found"))
                .body("detail", equalTo("backup '" + id + "' does not exist"))
                .body("instance", equalTo("/api/v1/backups/" + id));
    }

    static ValidatableResponse backup(String id) {
        return given().auth().oauth2(Tokens.admin()).when().get("/api/v1/backups/{id}", id).then();
    }

    static ValidatableResponse awaitBackup(String id, String status) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> backup(id).statusCode(200).body("status", equalTo(status)));
        return backup(id).statusCode(200);
    }

    /** One server-sent event: its name and its data. */
    record Sse(String event, String data) {
    }

    /** Comment lines (heartbeats) seen by {@link #follow} streams. */
    static final java.util.concurrent.atomic.AtomicInteger COMMENTS = new java.util.concurrent.atomic.AtomicInteger();

    /** Reads the events of a stream into a queue on a thread of its own (ends with an "end" item). */
    static java.util.concurrent.BlockingQueue<Sse> follow(String backupId) throws Exception {
        var queue = new java.util.concurrent.LinkedBlockingQueue<Sse>();
        var client = java.net.http.HttpClient.newHttpClient();
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                        + io.restassured.RestAssured.port + "/api/v1/backups/" + backupId + "/progress"))
                .header("Authorization", "Bearer " + Tokens.viewer()).header("Accept", "text/event-stream")
                .timeout(WAIT).build();
        var response = client.send(request, java.net.http.HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        Thread.ofVirtual().start(() -> {
            String event = "message";
            StringBuilder data = new StringBuilder();
            for (var it = response.body().iterator(); it.hasNext(); ) {
                String line = it.next();
                if (line.isEmpty()) {
                    if (!data.isEmpty()) {
                        queue.add(new Sse(event, data.toString()));
                    }
                    event = "message";
                    data.setLength(0);
                } else if (line.startsWith(":")) {
                    COMMENTS.incrementAndGet();
                } else if (line.startsWith("event:")) {
                    event = line.substring(6).trim();
                } else if (line.startsWith("data:")) {
                    data.append(line.substring(5).trim());
                }
            }
            queue.add(new Sse("end", ""));
        });
        return queue;
    }

    static Sse next(java.util.concurrent.BlockingQueue<Sse> queue) throws InterruptedException {
        Sse e = queue.poll(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertThat(e).as("an event within %s", WAIT).isNotNull();
        return e;
    }

    @Test
    void progressStreamsWhileTheBackupRunsThenDoneEndsIt() throws Exception {
        TestBackups b = TestBackups.of(BackupType.FULL);
        kafka.publish(b.sourceId(), b.requested("progress-test"));
        kafka.publish(b.sourceId(), b.progress("DUMPING", 1000, 10));
        awaitBackup(b.backupId(), "RUNNING");
        var events = follow(b.backupId());
        Sse first = next(events);
        assertThat(first.event()).isEqualTo("progress");
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var p = json.readTree(first.data());
        assertThat(p.path("backupId").asText()).isEqualTo(b.backupId());
        assertThat(p.path("status").asText()).isEqualTo("RUNNING");
        assertThat(p.path("phase").asText()).isEqualTo("DUMPING");
        assertThat(p.path("bytesDone").asLong()).isEqualTo(1000);
        assertThat(p.path("bytesTotal").asLong()).isEqualTo(10000);
        assertThat(p.path("percent").asInt()).isEqualTo(10);
        assertThat(p.has("rateBytesPerSecond")).isTrue();
        assertThat(p.has("etaSeconds")).isTrue();
        assertThat(p.path("at").asText()).isNotBlank();

        // the test profile sends a heartbeat every 2 s (CatalogTestResource)
        int comments = COMMENTS.get();
        await().atMost(WAIT).until(() -> COMMENTS.get() > comments);
        kafka.publish(b.sourceId(), b.progress("UPLOADING", 5000, 50));
        Sse second = next(events);
        assertThat(second.event()).isEqualTo("progress");
        assertThat(json.readTree(second.data()).path("phase").asText()).isEqualTo("UPLOADING");
        assertThat(json.readTree(second.data()).path("bytesDone").asLong()).isEqualTo(5000);

        kafka.publish(b.sourceId(), b.completed(Instant.now().minusSeconds(7)));
        Sse done = next(events);
        assertThat(done.event()).isEqualTo("done");
        var view = json.readTree(done.data());
        assertThat(view.path("backupId").asText()).isEqualTo(b.backupId());
        assertThat(view.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(view.path("events").size()).isGreaterThanOrEqualTo(4);
        assertThat(next(events).event()).isEqualTo("end");

        // a finished backup: done at once, then the end
        var again = follow(b.backupId());
        assertThat(next(again).event()).isEqualTo("done");
        assertThat(next(again).event()).isEqualTo("end");

        given().auth().oauth2(Tokens.viewer()).when().get("/api/v1/backups/{id}/progress", UUID.randomUUID().toString())
                .then().statusCode(404).contentType("application/problem+json");
    }
}
