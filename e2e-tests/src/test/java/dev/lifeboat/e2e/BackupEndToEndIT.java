package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.archive.DumpArchive;
import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.S3Buckets;
import dev.lifeboat.testsupport.ServiceProcess;
import dev.lifeboat.testsupport.TableFingerprint;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The backup path end to end: HTTP or any Kafka publisher in, a verified archive in S3 and a catalog entry out. */
class BackupEndToEndIT {
    static final String SOURCE_DB = "e2e_shop";
    static final String RUN = Long.toString(System.currentTimeMillis(), 36);
    static Platform platform;
    static S3Client s3;

    @BeforeAll
    static void startPlatform() throws Exception {
        platform = Platform.start();
        Databases.createDatabase(SOURCE_DB);
        Databases.loadSample(SOURCE_DB, 2);
        s3 = S3Buckets.client();
    }

    @AfterAll
    static void stopPlatform() {
        if (platform != null) {
            platform.close();
        }
    }

    @Test
    void onDemandBackupOverHttpRestoresToIdenticalData() throws Exception {
        String source = "http-" + RUN;
        platform.registerSource(source, "127.0.0.1", platform.stack.pgPort(), SOURCE_DB);
        Map<String, TableFingerprint> expected = fingerprints(SOURCE_DB);

        Platform.Response accepted = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", source, "type", "FULL"));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String backupId = accepted.json().get("backupId").asText();

        JsonNode entry = awaitStatus(backupId, "COMPLETED");
        JsonNode location = entry.get("location");
        String bucket = location.get("bucket").asText();
        String key = location.get("objectKey").asText();
        assertThat(entry.get("type").asText()).isEqualTo("FULL");
        assertThat(entry.get("durationMs").asLong()).isPositive();

        Sha256.Digest stored = Sha256.of(s3.getObject(r -> r.bucket(bucket).key(key)));
        assertThat(stored.sizeBytes()).isEqualTo(entry.get("sizeBytes").asLong());
        assertThat(stored.sha256()).isEqualTo(entry.get("sha256").asText());
        String manifest = s3.getObjectAsBytes(r -> r.bucket(bucket).key(location.get("manifestKey").asText()))
                .asString(StandardCharsets.UTF_8);
        assertThat(Platform.JSON.readTree(manifest).at("/archive/sha256").asText()).isEqualTo(stored.sha256());

        String restored = "e2e_restored_" + RUN;
        restore(bucket, key, restored);
        try {
            assertThat(fingerprints(restored)).isEqualTo(expected).hasSizeGreaterThanOrEqualTo(5);
        } finally {
            Databases.dropDatabase(restored);
        }
    }

    @Test
    void externalPublisherRequestWithoutIdCompletes() throws Exception {
        String source = "ext-" + RUN;
        platform.registerSource(source, "127.0.0.1", platform.stack.pgPort(), SOURCE_DB);
        String data = "{\"sourceId\":\"" + source + "\",\"type\":\"FULL\",\"requestedBy\":\"billing-system\"}";
        RecordMetadata sent;
        try (KafkaProducer<String, String> producer = producer()) {
            sent = producer.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, source, data,
                    cloudEventHeaders("dev.lifeboat.backup.requested.v1"))).get();
        }
        String backupId = Ids.backupIdForRecord(sent.topic(), sent.partition(), sent.offset());
        JsonNode entry = awaitStatus(backupId, "COMPLETED");
        assertThat(entry.get("sourceId").asText()).isEqualTo(source);
        assertThat(entry.get("requestedBy").asText()).isEqualTo("billing-system");
    }

    @Test
    void malformedRecordsGoToTheDeadLetterTopicAndConsumingGoesOn() throws Exception {
        String source = "dlq-" + RUN;
        platform.registerSource(source, "127.0.0.1", platform.stack.pgPort(), SOURCE_DB);
        String type = "dev.lifeboat.backup.requested.v1";
        int partition = partitionOf(source);
        Map<String, String> expectedReasons = new HashMap<>();
        try (KafkaProducer<String, String> producer = producer()) {
            List<ProducerRecord<String, String>> bad = new ArrayList<>();
            bad.add(record("not-json", "{this is not json", cloudEventHeaders(type)));
            expectedReasons.put("not-json", "not valid JSON");
            bad.add(record("no-source", "{\"type\":\"FULL\",\"requestedBy\":\"x\"}", cloudEventHeaders(type)));
            expectedReasons.put("no-source", "sourceId");
            bad.add(record("bad-enum", "{\"sourceId\":\"" + source + "\",\"type\":\"WEEKLY\",\"requestedBy\":\"x\"}",
                    cloudEventHeaders(type)));
            expectedReasons.put("bad-enum", "fails schema");
            bad.add(record("no-headers", "{\"sourceId\":\"" + source + "\",\"type\":\"FULL\",\"requestedBy\":\"x\"}",
                    new RecordHeaders()));
            expectedReasons.put("no-headers", "ce_specversion");
            bad.add(record("unknown-type", "{}", cloudEventHeaders("com.example.unknown.v1")));
            expectedReasons.put("unknown-type", "unknown event type");
            for (ProducerRecord<String, String> r : bad) {
                // on the partition of the valid request that follows: each consumer must get past them to reach it
                producer.send(new ProducerRecord<>(r.topic(), partition, r.key(), r.value(), r.headers())).get();
            }
        }
        Platform.Response accepted = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", source, "type", "FULL", "requestedBy", "after-bad-records"));
        assertThat(accepted.status()).isEqualTo(202);
        awaitStatus(accepted.json().get("backupId").asText(), "COMPLETED");

        List<DeadLetter> letters = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                "bootstrap.servers", platform.stack.kafkaBootstrap(), "group.id", "e2e-dlq-" + UUID.randomUUID(),
                "auto.offset.reset", "earliest"), new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(Topics.DLQ));
            long deadline = System.currentTimeMillis() + 60_000;
            while (!allDeadLetteredTwice(letters, expectedReasons.keySet()) && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.key() != null && r.key().startsWith(RUN + "/")) {
                        letters.add(new DeadLetter(r.key().substring(RUN.length() + 1),
                                header(r, "dead-letter-reason"), header(r, "dead-letter-topic"),
                                header(r, "dead-letter-offset")));
                    }
                }
            }
        }
        for (Map.Entry<String, String> e : expectedReasons.entrySet()) {
            // two consumer groups read the request topic (snapshot-worker, catalog-service): each dead-letters it
            List<DeadLetter> mine = letters.stream().filter(l -> l.key().equals(e.getKey())).toList();
            assertThat(mine).as("dead letters of record " + e.getKey()).hasSize(2).allSatisfy(l -> {
                assertThat(l.originTopic()).isEqualTo(Topics.BACKUP_REQUESTED);
                assertThat(l.originOffset()).isNotBlank();
                assertThat(l.reason()).contains(e.getValue());
            });
        }
    }

    record DeadLetter(String key, String reason, String originTopic, String originOffset) {
    }

    private static boolean allDeadLetteredTwice(List<DeadLetter> letters, Set<String> keys) {
        return keys.stream().allMatch(k -> letters.stream().filter(l -> l.key().equals(k)).count() >= 2);
    }

    private static int partitionOf(String key) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % 4;
    }

    @Test
    void unreachableSourceFailsWithAReadableReasonAndLeavesNothingBehind() {
        String source = "down-" + RUN;
        platform.registerSource(source, "127.0.0.1", ServiceProcess.freePort(), SOURCE_DB);
        Platform.Response accepted = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", source, "type", "FULL"));
        String backupId = accepted.json().get("backupId").asText();
        JsonNode entry = awaitStatus(backupId, "FAILED");
        assertThat(entry.at("/failure/reason").asText()).contains("source unreachable").contains("127.0.0.1");
        assertThat(S3Buckets.listKeys("lifeboat-backups", "backups/" + source + "/")).isEmpty();
        assertThat(spoolEntries()).isEmpty();
    }

    @Test
    void pgDumpFailureIsReportedInItsOwnWordsAndTheSpoolIsCleaned() {
        // a role that may log in but may not read the shop schema: the probe succeeds, pg_dump itself fails
        String role = "e2e_noread";
        Databases.execute("postgres", "do $$ begin if not exists (select 1 from pg_roles where rolname = '" + role
                + "') then create role " + role + " login; end if; end $$");
        Databases.execute("postgres", "alter role " + role + " password '" + platform.stack.pgSuperPassword() + "'");
        String source = "noread-" + RUN;
        Platform.Response r = Platform.send("PUT", platform.schedulerUrl("/api/v1/sources/" + source), Map.of(
                "name", "no read", "host", "127.0.0.1", "port", platform.stack.pgPort(), "database", SOURCE_DB,
                "username", role, "passwordRef", "env:" + Platform.SOURCE_PASSWORD_ENV));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        String backupId = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", source, "type", "FULL")).json().get("backupId").asText();
        JsonNode entry = awaitStatus(backupId, "FAILED");
        assertThat(entry.at("/failure/stage").asText()).isEqualTo("DUMP");
        assertThat(entry.at("/failure/reason").asText()).contains("pg_dump").contains("permission denied");
        assertThat(S3Buckets.listKeys("lifeboat-backups", "backups/" + source + "/")).isEmpty();
        assertThat(spoolEntries()).isEmpty();
    }

    @Test
    void twoSnapshotWorkersShareTheBackups() {
        // sources whose ids land on every partition of the request topic, so both workers get some
        List<String> sources = new ArrayList<>();
        Set<Integer> partitions = new HashSet<>();
        for (int i = 0; partitions.size() < 4; i++) {
            String id = "scale-" + RUN + "-" + i;
            if (partitions.add(partitionOf(id))) {
                sources.add(id);
            }
        }
        List<String> backupIds = new ArrayList<>();
        for (String s : sources) {
            platform.registerSource(s, "127.0.0.1", platform.stack.pgPort(), SOURCE_DB);
            backupIds.add(Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                    Map.of("sourceId", s, "type", "FULL")).json().get("backupId").asText());
        }
        Set<String> workers = new HashSet<>();
        for (String id : backupIds) {
            workers.add(awaitStatus(id, "COMPLETED").get("workerId").asText());
        }
        assertThat(workers).containsExactlyInAnyOrder("worker-a", "worker-b");
    }

    private static ProducerRecord<String, String> record(String key, String value, RecordHeaders headers) {
        return new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, RUN + "/" + key, value, headers);
    }

    /** Built by hand, as a system that knows only the CloudEvents spec and our JSON Schema would. */
    private static RecordHeaders cloudEventHeaders(String type) {
        RecordHeaders h = new RecordHeaders();
        h.add("ce_specversion", "1.0".getBytes(StandardCharsets.UTF_8));
        h.add("ce_id", UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
        h.add("ce_type", type.getBytes(StandardCharsets.UTF_8));
        h.add("ce_source", "/billing-system".getBytes(StandardCharsets.UTF_8));
        h.add("ce_time", Instant.now().toString().getBytes(StandardCharsets.UTF_8));
        h.add("content-type", "application/json".getBytes(StandardCharsets.UTF_8));
        return h;
    }

    private static String header(ConsumerRecord<String, String> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static KafkaProducer<String, String> producer() {
        return new KafkaProducer<>(Map.of("bootstrap.servers", platform.stack.kafkaBootstrap(), "acks", "all"),
                new StringSerializer(), new StringSerializer());
    }

    private static JsonNode awaitStatus(String backupId, String status) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Platform.Response r = Platform.send("GET", platform.catalogUrl("/api/v1/backups/" + backupId), null);
            assertThat(r.status()).as("catalog entry of %s: %s", backupId, r.body()).isEqualTo(200);
            last[0] = r.json();
            String now = last[0].get("status").asText();
            if (!now.equals(status) && (now.equals("COMPLETED") || now.equals("FAILED"))) {
                throw new AssertionError("backup " + backupId + " ended " + now + " instead of " + status + ": " + r.body());
            }
            assertThat(now).as(r.body()).isEqualTo(status);
        });
        return last[0];
    }

    private static Map<String, TableFingerprint> fingerprints(String database) {
        return TableFingerprint.of(platform.stack.jdbcUrl(database), platform.stack.pgSuperUser(),
                platform.stack.pgSuperPassword());
    }

    /** Downloads the archive, unpacks it and restores it with pg_restore into a new database. */
    private static void restore(String bucket, String key, String database) throws Exception {
        Path dir = Files.createTempDirectory("lifeboat-e2e-restore");
        try (InputStream in = s3.getObject(r -> r.bucket(bucket).key(key))) {
            DumpArchive.extract(in, dir);
        }
        Databases.createDatabase(database);
        ProcessBuilder pb = new ProcessBuilder("pg_restore", "--no-owner", "--jobs=2", "--exit-on-error",
                "--host=127.0.0.1", "--port=" + platform.stack.pgPort(), "--username=" + platform.stack.pgSuperUser(),
                "--dbname=" + database, dir.toString()).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", platform.stack.pgSuperPassword());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("pg_restore: " + out).isZero();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    private static List<Path> spoolEntries() {
        List<Path> left = new ArrayList<>();
        for (String worker : List.of("a", "b")) {
            Path spool = platform.spoolRoot.resolve(worker);
            if (Files.isDirectory(spool)) {
                try (Stream<Path> s = Files.list(spool)) {
                    s.forEach(left::add);
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return left;
    }
}
