package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.ServiceProcess;
import dev.lifeboat.testsupport.TableFingerprint;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.s3.S3Client;

import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Lifeboat as an attacker on the network sees it: Kafka clients holding an outside publisher's credentials, or a
 * platform service's (a compromised worker), try to make the platform delete or expire backups, or back up into
 * another source's destination. The broker refuses what the ACLs do not grant; the consumers refuse what does not
 * agree with what they own. Afterwards the victim's backups are still there and restore equal to their source.
 */
@ExtendWith(Platform.Shared.class)
@Order(2)
class HostileClientEndToEndIT {
    static final String SOURCE_DB = "e2e_hostile";
    static final String RUN = Long.toString(System.currentTimeMillis(), 36);
    static final String VICTIM = "victim-" + RUN;
    static final String OTHER = "other-" + RUN;
    static final String VICTIM_POLICY = "victim-policy-" + RUN;
    static final String OTHER_POLICY = "other-policy-" + RUN;
    static Platform platform;
    static S3Client s3;
    static Map<String, TableFingerprint> expected;
    static final List<JsonNode> victimBackups = new ArrayList<>();

    @BeforeAll
    static void startPlatformWithTwoSourcesAndTheirBackups() throws Exception {
        platform = Platform.shared();
        Databases.createDatabase(SOURCE_DB);
        Databases.loadSample(SOURCE_DB, 1);
        s3 = platform.s3();
        platform.registerSource(VICTIM, "127.0.0.1", platform.stack.pgPort(), SOURCE_DB);
        platform.registerSource(OTHER, "127.0.0.1", platform.stack.pgPort(), SOURCE_DB);
        createPolicy(VICTIM_POLICY, VICTIM, 3);
        createPolicy(OTHER_POLICY, OTHER, 3);
        expected = platform.fingerprints(SOURCE_DB);
        // one backup of the policy: its retention (3 daily) keeps it, so any deletion of it is a forgery's doing
        Platform.Response accepted = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", VICTIM, "type", "FULL", "policyId", VICTIM_POLICY));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        victimBackups.add(platform.awaitBackup(accepted.json().get("backupId").asText(), "COMPLETED"));
    }

    @Test
    void anOutsidePublisherMayRequestBackupsAndNothingElse() throws Exception {
        String data = "{\"sourceId\":\"" + VICTIM + "\",\"type\":\"INCREMENTAL\",\"requestedBy\":\"billing-system\"}";
        RecordMetadata sent;
        try (KafkaProducer<String, String> publisher = producer(LocalStack.KAFKA_PUBLISHER)) {
            sent = publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, VICTIM, data,
                    headers(EventType.BACKUP_REQUESTED))).get(30, TimeUnit.SECONDS);
        }
        JsonNode entry = platform.awaitBackup(Ids.backupIdForRecord(sent.topic(), sent.partition(), sent.offset()), "COMPLETED");
        assertThat(entry.get("requestedBy").asText()).isEqualTo("billing-system");

        for (String topic : List.of(Topics.BACKUP_EVENTS, Topics.RECOVERY_COMMANDS, Topics.SNAPSHOT_WORKER_REPLIES,
                Topics.STORAGE_WORKER_REPLIES, Topics.RECOVERY_EVENTS)) {
            try (KafkaProducer<String, String> publisher = producer(LocalStack.KAFKA_PUBLISHER)) {
                assertThatThrownBy(() -> publisher.send(new ProducerRecord<>(topic, null, "k", "{}",
                        headers(EventType.BACKUP_COMPLETED))).get(30, TimeUnit.SECONDS))
                        .as("the publisher writing to %s", topic)
                        .isInstanceOf(ExecutionException.class)
                        .hasCauseInstanceOf(TopicAuthorizationException.class);
            }
        }
    }

    @Test
    void forgedExpiriesAndCompletionsFromACompromisedWorkerDeleteNothing() throws Exception {
        JsonNode oldest = victimBackups.get(0);
        String oldestId = oldest.get("backupId").asText();
        try (KafkaProducer<String, String> worker = producer("snapshot-worker")) {
            // an expiry the scheduler never decided: the retention of the victim's policy keeps both backups
            send(worker, EventType.BACKUPS_EXPIRED, VICTIM_POLICY, new BackupsExpired(VICTIM_POLICY, VICTIM,
                    List.of(oldestId), "forged", Instant.now()));
            // an expiry naming another source's policy
            send(worker, EventType.BACKUPS_EXPIRED, OTHER_POLICY, new BackupsExpired(OTHER_POLICY, OTHER,
                    List.of(oldestId), "forged", Instant.now()));
            // completions of backups that were never taken, enough to push the real ones out of the keep set
            for (int i = 0; i < 5; i++) {
                String fake = UUID.randomUUID().toString();
                Instant at = Instant.now().plusSeconds(60L * (i + 1));
                send(worker, EventType.BACKUP_COMPLETED, fake, new BackupCompleted(fake, VICTIM, VICTIM_POLICY,
                        BackupType.FULL, oldest.at("/location/bucket").asText(), "forged/" + fake + ".json",
                        "forged/" + fake + ".json", 1, 1, "0".repeat(64), at, at, 1, null, "QUICK_OK"));
            }
        }
        // the consumers have had ample time to act on every forged record
        Thread.sleep(Duration.ofSeconds(20).toMillis());
        for (JsonNode backup : victimBackups) {
            String id = backup.get("backupId").asText();
            Platform.Response r = Platform.send("GET", platform.catalogUrl("/api/v1/backups/" + id), null);
            assertThat(r.json().get("status").asText()).as(r.body()).isEqualTo("COMPLETED");
            // nor did the forged completions push it out of its policy's keep set in the scheduler's ledger
            Platform.Response ledger = Platform.send("GET", platform.schedulerUrl("/api/v1/backups/" + id), null);
            assertThat(ledger.json().get("status").asText()).as(ledger.body()).isEqualTo("COMPLETED");
            String key = backup.at("/location/objectKey").asText();
            assertThat(s3.headObject(h -> h.bucket(backup.at("/location/bucket").asText()).key(key)).contentLength())
                    .as("manifest %s", key).isPositive();
            String restored = "e2e_hostile_restored_" + RUN + "_" + victimBackups.indexOf(backup);
            platform.restore(backup, restored);
            try {
                assertThat(platform.fingerprints(restored)).isEqualTo(expected).hasSizeGreaterThanOrEqualTo(5);
            } finally {
                Databases.dropDatabase(restored);
            }
        }
    }

    @Test
    void aBackupRequestNamingAnotherSourcesPolicyFailsWithAReason() throws Exception {
        String backupId = UUID.randomUUID().toString();
        String data = "{\"backupId\":\"" + backupId + "\",\"sourceId\":\"" + OTHER + "\",\"type\":\"FULL\","
                + "\"policyId\":\"" + VICTIM_POLICY + "\",\"requestedBy\":\"intruder\"}";
        try (KafkaProducer<String, String> publisher = producer(LocalStack.KAFKA_PUBLISHER)) {
            publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, OTHER, data,
                    headers(EventType.BACKUP_REQUESTED))).get(30, TimeUnit.SECONDS);
        }
        JsonNode failed = platform.awaitBackup(backupId, "FAILED");
        assertThat(failed.toString()).contains(VICTIM_POLICY);
    }

    @Test
    void deniedRequestsAreRefusedAsProblemsAndLoggedWithoutTheToken() throws Exception {
        String viewer = dev.lifeboat.testsupport.Tokens.mint("intruder-" + RUN, dev.lifeboat.identity.Roles.VIEWER);
        Platform.Response anonymous = Platform.send("DELETE", platform.schedulerUrl("/api/v1/sources/" + VICTIM), null,
                null);
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.contentType()).startsWith("application/problem+json");
        Platform.Response forbidden = Platform.send("DELETE", platform.schedulerUrl("/api/v1/sources/" + VICTIM), null,
                viewer);
        assertThat(forbidden.status()).isEqualTo(403);
        assertThat(forbidden.body()).contains("intruder-" + RUN);
        Platform.Response gc = Platform.send("POST", platform.storage.baseUrl() + "/api/v1/gc", null, viewer);
        assertThat(gc.status()).isEqualTo(403);
        assertThat(Platform.send("GET", platform.schedulerUrl("/api/v1/sources/" + VICTIM), null).status())
                .isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            String log = Files.readString(platform.scheduler.logFile());
            assertThat(log).contains("denied DELETE /api/v1/sources/" + VICTIM + ": 401")
                    .contains("denied DELETE /api/v1/sources/" + VICTIM + ": 403, principal 'intruder-" + RUN + "'")
                    .doesNotContain(viewer).doesNotContain(viewer.substring(viewer.lastIndexOf('.') + 1));
        });
    }

    @Test
    void everyPackagedServiceServesItsSwaggerUiAndDocumentButNoOperationWithoutAToken() {
        for (ServiceProcess service : List.of(platform.scheduler, platform.snapshotA, platform.storage,
                platform.coordinator, platform.catalog)) {
            Platform.Response ui = Platform.send("GET", service.baseUrl() + "/q/swagger-ui/", null, null);
            assertThat(ui.status()).as(service.baseUrl()).isEqualTo(200);
            assertThat(ui.contentType()).startsWith("text/html");
            Platform.Response document = Platform.send("GET", service.baseUrl() + "/q/openapi?format=json", null, null);
            assertThat(document.status()).as(service.baseUrl()).isEqualTo(200);
            assertThat(document.body()).contains("\"/api/v1/");
        }
        assertThat(Platform.send("GET", platform.catalogUrl("/api/v1/backups"), null, null).status()).isEqualTo(401);
    }

    private static void createPolicy(String id, String source, int daily) {
        Map<String, Object> body = new HashMap<>();
        body.put("id", id);
        body.put("sourceId", source);
        body.put("type", "FULL");
        body.put("schedule", "0 3 1 1 *");
        body.put("retention", Map.of("daily", daily, "weekly", 0, "monthly", 0));
        Platform.Response r = Platform.send("POST", platform.schedulerUrl("/api/v1/policies"), body);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }

    private static void send(KafkaProducer<String, String> producer, EventType type, String key, Object data)
            throws Exception {
        producer.send(new ProducerRecord<>(type.topic(), null, key, EventCodec.encodeData(data), headers(type)))
                .get(30, TimeUnit.SECONDS);
    }

    /** The headers any producer of the platform writes; the forged events look exactly like the real ones. */
    private static Headers headers(EventType type) {
        return EventCodec.headers(type, "/lifeboat/scheduler-service", null);
    }

    private static KafkaProducer<String, String> producer(String principal) {
        Map<String, Object> config = new HashMap<>(platform.stack.kafkaClientConfig(principal));
        config.put("acks", "all");
        config.put("max.block.ms", "20000");
        config.put("delivery.timeout.ms", "25000");
        config.put("request.timeout.ms", "20000");
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }
}
