package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.s3.S3Client;

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
@ExtendWith(Platform.Shared.class)
@Order(1)
class BackupEndToEndIT {
    static final String SOURCE_DB = "e2e_shop";
    /** large enough that one changed region is a small part of the whole (about 150 MB in PostgreSQL) */
    static final int CHAIN_SCALE = 150;
    static final String RUN = Long.toString(System.currentTimeMillis(), 36);
    static Platform platform;
    static S3Client s3;

    @BeforeAll
    static void startPlatform() throws Exception {
        platform = Platform.shared();
        Databases.createDatabase(SOURCE_DB);
        Databases.loadSample(SOURCE_DB, 2);
        s3 = S3Buckets.client();
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
        String manifestKey = location.get("objectKey").asText();
        assertThat(entry.get("type").asText()).isEqualTo("FULL");
        assertThat(entry.get("durationMs").asLong()).isPositive();
        assertThat(entry.at("/verification/state").asText()).isEqualTo("QUICK_OK");
        assertThat(entry.at("/transfer/bytesRead").asLong()).isEqualTo(entry.get("rawBytes").asLong()).isPositive();

        // the manifest in the bucket is the one the catalog recorded
        Sha256.Digest stored = Sha256.of(s3.getObject(r -> r.bucket(bucket).key(manifestKey)));
        assertThat(stored.sha256()).isEqualTo(entry.get("sha256").asText());

        String restored = "e2e_restored_" + RUN;
        restore(entry, restored);
        try {
            assertThat(fingerprints(restored)).isEqualTo(expected).hasSizeGreaterThanOrEqualTo(5);
        } finally {
            Databases.dropDatabase(restored);
        }
    }

    @Test
    void aPolicyWithAnOffsiteDestinationGetsAVerifiedCopyThatRestoresToIdenticalData() throws Exception {
        String source = "offsite-" + RUN;
        platform.registerSource(source, "127.0.0.1", platform.stack.pgPort(), SOURCE_DB);
        Map<String, TableFingerprint> expected = fingerprints(SOURCE_DB);
        String policy = "pol-offsite-" + RUN;
        Platform.Response created = Platform.send("POST", platform.schedulerUrl("/api/v1/policies"), Map.of(
                "id", policy, "sourceId", source, "type", "FULL", "schedule", "0 3 1 1 *",
                "offsite", Map.of("bucket", "lifeboat-e2e-offsite", "prefix", "dr")));
        assertThat(created.status()).as(created.body()).isEqualTo(201);

        Platform.Response accepted = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", source, "type", "FULL", "policyId", policy));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String backupId = accepted.json().get("backupId").asText();
        awaitStatus(backupId, "COMPLETED");

        JsonNode[] entry = new JsonNode[1];
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Platform.Response r = Platform.send("GET", platform.catalogUrl("/api/v1/backups/" + backupId), null);
            entry[0] = r.json();
            assertThat(entry[0].at("/locations/1/state").asText()).as(r.body()).isIn("COPIED", "FAILED");
        });
        JsonNode primary = entry[0].at("/locations/0");
        JsonNode offsite = entry[0].at("/locations/1");
        assertThat(offsite.get("state").asText()).as(entry[0].toString()).isEqualTo("COPIED");
        assertThat(primary.get("role").asText()).isEqualTo("PRIMARY");
        assertThat(primary.get("state").asText()).isEqualTo("COMPLETED");
        assertThat(offsite.get("role").asText()).isEqualTo("OFFSITE");
        assertThat(offsite.get("bucket").asText()).isEqualTo("lifeboat-e2e-offsite");
        assertThat(offsite.get("prefix").asText()).isEqualTo("dr/" + source);
        assertThat(offsite.get("verification").asText()).isEqualTo("FULL_OK");
        assertThat(offsite.get("bytesCopied").asLong()).isEqualTo(entry[0].get("sizeBytes").asLong());

        String restored = "e2e_offsite_restored_" + RUN;
        restore(offsite.get("bucket").asText(), offsite.get("manifestKey").asText(),
                entry[0].at("/chain/chainId").asText(), backupId, restored);
        try {
            assertThat(fingerprints(restored)).isEqualTo(expected).hasSizeGreaterThanOrEqualTo(5);
        } finally {
            Databases.dropDatabase(restored);
        }
    }

    @Test
    void fullIncrementalDifferentialEachRestoreToTheirOwnTime() throws Exception {
        String db = "e2e_chain_" + RUN;
        Databases.createDatabase(db);
        Databases.loadSample(db, CHAIN_SCALE);
        String source = "chain-" + RUN;
        platform.registerSource(source, "127.0.0.1", platform.stack.pgPort(), db);
        try {
            Map<String, TableFingerprint> atFull = fingerprints(db);
            JsonNode full = backupAndWait(source, "FULL");
            changeOnePercent(db, 0);
            Map<String, TableFingerprint> atIncremental = fingerprints(db);
            JsonNode incremental = backupAndWait(source, "INCREMENTAL");
            changeOnePercent(db, 1);
            Map<String, TableFingerprint> atDifferential = fingerprints(db);
            JsonNode differential = backupAndWait(source, "DIFFERENTIAL");

            assertThat(atIncremental).isNotEqualTo(atFull);
            String chain = full.at("/chain/chainId").asText();
            assertThat(incremental.at("/chain/chainId").asText()).isEqualTo(chain);
            assertThat(differential.at("/chain/chainId").asText()).isEqualTo(chain);
            assertThat(incremental.get("type").asText()).isEqualTo("INCREMENTAL");
            assertThat(differential.get("type").asText()).isEqualTo("DIFFERENTIAL");
            long fullBytes = full.at("/transfer/bytesUploaded").asLong();
            long incBytes = incremental.at("/transfer/bytesUploaded").asLong();
            long diffBytes = differential.at("/transfer/bytesUploaded").asLong();
            System.out.printf("chain %s: FULL uploaded %d, INCREMENTAL %d (%.2f%%), DIFFERENTIAL %d (%.2f%%)%n", chain,
                    fullBytes, incBytes, 100.0 * incBytes / fullBytes, diffBytes, 100.0 * diffBytes / fullBytes);
            assertThat(incBytes).as("INCREMENTAL after a 1%% change uploads at most 5%% of the FULL")
                    .isLessThanOrEqualTo(fullBytes / 20);
            assertThat(diffBytes).as("DIFFERENTIAL holds both changes since the FULL").isGreaterThan(0);

            for (var step : List.of(Map.entry(full, atFull), Map.entry(incremental, atIncremental),
                    Map.entry(differential, atDifferential))) {
                String target = "e2e_chain_restored_" + RUN;
                restore(step.getKey(), target);
                try {
                    assertThat(fingerprints(target)).as("restore of " + step.getKey().get("type").asText())
                            .isEqualTo(step.getValue());
                } finally {
                    Databases.dropDatabase(target);
                }
            }
        } finally {
            Databases.dropDatabase(db);
        }
    }

    @Test
    void incrementalWithoutAFullBecomesFullAndSaysSo() {
        String source = "promoted-" + RUN;
        platform.registerSource(source, "127.0.0.1", platform.stack.pgPort(), SOURCE_DB);
        JsonNode entry = backupAndWait(source, "INCREMENTAL");
        assertThat(entry.get("type").asText()).isEqualTo("FULL");
        assertThat(entry.at("/chain/requestedType").asText()).isEqualTo("INCREMENTAL");
        assertThat(entry.at("/chain/promotedToFull").asBoolean()).isTrue();
    }

    private static JsonNode backupAndWait(String source, String type) {
        Platform.Response accepted = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", source, "type", type));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        return awaitStatus(accepted.json().get("backupId").asText(), "COMPLETED");
    }

    /** Rewrites a contiguous 1% of the largest table (its rows move, as PostgreSQL writes new row versions). */
    private static void changeOnePercent(String db, int slice) {
        int from = 10 + 40 * slice;
        Databases.execute(db, "update shop.order_items set quantity = quantity + 1 where order_id between "
                + "(select min(id) + (max(id) - min(id)) * " + from + " / 100 from shop.orders) and "
                + "(select min(id) + (max(id) - min(id)) * " + (from + 1) + " / 100 from shop.orders)");
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
                Map.of("sourceId", source, "type", "FULL"));
        assertThat(accepted.status()).isEqualTo(202);
        awaitStatus(accepted.json().get("backupId").asText(), "COMPLETED");

        List<DeadLetter> letters = new ArrayList<>();
        Map<String, Object> dlqReader = platform.stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN);
        dlqReader.put("group.id", "e2e-dlq-" + UUID.randomUUID());
        dlqReader.put("auto.offset.reset", "earliest");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(dlqReader,
                new StringDeserializer(), new StringDeserializer())) {
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

    /** A producer of the outside system that asks for backups: the broker lets it write backup requests only. */
    private static KafkaProducer<String, String> producer() {
        Map<String, Object> config = platform.stack.kafkaClientConfig(LocalStack.KAFKA_PUBLISHER);
        config.put("acks", "all");
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    private static JsonNode awaitStatus(String backupId, String status) {
        return platform.awaitBackup(backupId, status);
    }

    private static Map<String, TableFingerprint> fingerprints(String database) {
        return platform.fingerprints(database);
    }

    private static void restore(JsonNode entry, String database) throws Exception {
        platform.restore(entry, database);
    }

    private static void restore(String bucket, String manifestKey, String chainId, String backupId, String database)
            throws Exception {
        platform.restore(bucket, manifestKey, chainId, backupId, database);
    }

    /**
     * What backups left in the workers' spools: each worker keeps its jobs in its own run-<id> directory (with its
     * lock file and the records of running child processes), next to the spool's sweep lock.
     */
    private static List<Path> spoolEntries() {
        List<Path> left = new ArrayList<>();
        for (String worker : List.of("a", "b")) {
            Path spool = platform.spoolRoot.resolve(worker);
            if (Files.isDirectory(spool)) {
                try (Stream<Path> s = Files.walk(spool, 3)) {
                    s.filter(p -> !p.equals(spool))
                            .filter(p -> !p.getFileName().toString().equals(".sweep.lock"))
                            .filter(p -> !p.getFileName().toString().equals(".lock"))
                            .filter(p -> !(p.getParent().equals(spool) && p.getFileName().toString().startsWith("run-")))
                            .filter(p -> !(p.getFileName().toString().equals("children") && Files.isDirectory(p)))
                            .forEach(left::add);
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return left;
    }
}
