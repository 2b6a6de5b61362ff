package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.ServiceProcess;
import dev.lifeboat.testsupport.TableFingerprint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Exactly one outcome per backup across crashes. A worker is started with {@code LIFEBOAT_FAULT_HALT_AT} naming a
 * crash point, halts there as kill -9 would (no offset commit, no ledger update, no cleanup), and is started again
 * without it; the redelivered work must end the backup COMPLETED, with one manifest in the chain it belongs to (no
 * second chain for a FULL, no "already exists" for an INCREMENTAL), restoring to the source as it was.
 */
@ExtendWith(Platform.Shared.class)
@Order(4)
class CrashPointsEndToEndIT {
    static final String RUN = Long.toString(System.currentTimeMillis(), 36);
    static final String HALT_AT = "LIFEBOAT_FAULT_HALT_AT";
    static final Duration READY = Duration.ofSeconds(180);
    static final Pattern MANIFEST = Pattern.compile(".*/chains/([^/]+)/manifests/([^/]+)\\.json");
    static Platform platform;

    @BeforeAll
    static void startPlatform() throws Exception {
        // the shared platform's short Kafka session (Platform.SHARED_ENV): a restarted instance takes its
        // partitions back soon after the crashed one's session expired
        platform = Platform.shared();
        // one snapshot-worker in the group: the instance given the crash point is the one that takes the request
        platform.instance("snapshot-worker-b").stop();
    }

    /** The shared platform as this class found it: both snapshot-workers. */
    @AfterAll
    static void restartSecondSnapshotWorker() {
        if (platform != null) {
            platform.restart("snapshot-worker-b", READY);
        }
    }

    /** A backup crashed at one point, and what the source held when it was requested. */
    private record Crashed(JsonNode entry, Map<String, TableFingerprint> source) {
        String backupId() {
            return entry.get("backupId").asText();
        }

        String chainId() {
            return entry.at("/chain/chainId").asText();
        }
    }

    @Test
    void aBackupKilledAtAnyCrashPointEndsCompletedWithOneManifestInItsChainAndRestores() throws Exception {
        String db = "e2e_crash_" + RUN;
        String source = "crash-" + RUN;
        Databases.createDatabase(db);
        Databases.loadSample(db, 2);
        platform.registerSource(source, "127.0.0.1", platform.stack.pgPort(), db);
        List<Crashed> backups = new ArrayList<>();
        try {
            // chunks uploaded, no manifest: the redelivery backs up again into a chain of its own
            Crashed full = crash("snapshot-worker-a", "before-manifest", source, db, "FULL");
            assertThat(full.entry().at("/chain/parentBackupId").isMissingNode()
                    || full.entry().at("/chain/parentBackupId").isNull()).as(full.entry().toString()).isTrue();
            backups.add(full);

            // manifest written, nothing announced: the redelivery announces that manifest (it was refused as
            // "already exists" before)
            change(db, 1);
            Crashed incremental = crash("snapshot-worker-a", "after-manifest", source, db, "INCREMENTAL");
            assertThat(incremental.chainId()).isEqualTo(full.chainId());
            assertThat(incremental.entry().at("/chain/parentBackupId").asText()).isEqualTo(full.backupId());
            backups.add(incremental);

            // SnapshotCreated sent, ledger RUNNING, offset not committed: announced again, sealed once, one chain
            change(db, 2);
            Crashed second = crash("snapshot-worker-a", "after-snapshot-created", source, db, "FULL");
            assertThat(second.chainId()).isNotEqualTo(full.chainId());
            backups.add(second);

            // verdict stored, BackupCompleted not sent: the redelivered SnapshotCreated re-emits the stored verdict
            change(db, 3);
            Crashed sealed = crash("storage-worker", "while-sealing", source, db, "INCREMENTAL");
            assertThat(sealed.chainId()).isEqualTo(second.chainId());
            assertThat(sealed.entry().at("/chain/parentBackupId").asText()).isEqualTo(second.backupId());
            backups.add(sealed);

            assertOneManifestPerBackupInItsChain(backups);
            for (Crashed b : backups) {
                String target = "e2e_crash_restored_" + RUN;
                platform.restore(b.entry(), target);
                try {
                    assertThat(platform.fingerprints(target)).as("restore of backup %s (%s)", b.backupId(),
                            b.entry().get("type").asText()).isEqualTo(b.source()).hasSizeGreaterThanOrEqualTo(5);
                } finally {
                    Databases.dropDatabase(target);
                }
            }
        } finally {
            Databases.dropDatabase(db);
        }
    }

    /**
     * Starts {@code instance} with the crash point {@code point}, requests a backup, waits for the instance to halt
     * there, starts it again without the point and waits for the backup's outcome in catalog and scheduler.
     */
    private static Crashed crash(String instance, String point, String source, String db, String type) {
        long started = System.nanoTime();
        // a record left from the previous point (a repeated SnapshotCreated) must not be the one that hits this point
        String module = instance.startsWith("storage-worker") ? "storage-worker" : "snapshot-worker";
        String topic = module.equals("storage-worker") ? Topics.BACKUP_EVENTS : Topics.BACKUP_REQUESTED;
        platform.awaitConsumed(module, topic, Duration.ofSeconds(60));
        ServiceProcess armed = platform.restart(instance, READY, Map.of(HALT_AT, point));
        Map<String, TableFingerprint> expected = platform.fingerprints(db);
        Platform.Response accepted = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", source, "type", type));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String backupId = accepted.json().get("backupId").asText();

        int status = armed.awaitExit(Duration.ofMinutes(2));
        assertThat(status).as("%s halted at %s; log:%n%s", instance, point, armed.logTail(30)).isEqualTo(137);
        assertThat(armed.logTail(200)).contains("halting at crash point '" + point + "' in backup " + backupId);
        platform.restart(instance, READY, Map.of(HALT_AT, ""));

        JsonNode entry = platform.awaitBackup(backupId, "COMPLETED");
        assertThat(entry.get("type").asText()).isEqualTo(type);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Platform.Response r = Platform.send("GET", platform.schedulerUrl("/api/v1/backups/" + backupId), null);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.json().get("status").asText()).as(r.body()).isEqualTo("COMPLETED");
        });
        // the redelivered work is done (a SnapshotCreated announced again before its request was acknowledged)
        platform.awaitConsumed(module, topic, Duration.ofSeconds(60));
        System.out.printf("crash point %s (%s backup %s): completed %d s after the instance was armed%n", point,
                type, backupId, Duration.ofNanos(System.nanoTime() - started).toSeconds());
        return new Crashed(entry, expected);
    }

    /**
     * The bucket holds exactly one manifest per backup, in the chain the catalog names, and no other chain: a chain
     * marker per FULL, none left by the crashed attempts.
     */
    private static void assertOneManifestPerBackupInItsChain(List<Crashed> backups) {
        JsonNode location = backups.getFirst().entry().get("location");
        String bucket = location.get("bucket").asText();
        String key = location.get("objectKey").asText();
        String repository = key.substring(0, key.indexOf("/chains/"));
        Map<String, List<String>> manifests = new TreeMap<>();   // backup id -> chains holding a manifest of it
        TreeSet<String> chainsWithManifests = new TreeSet<>();
        for (S3Object o : list(bucket, repository + "/chains/")) {
            Matcher m = MANIFEST.matcher(o.key());
            if (m.matches()) {
                manifests.computeIfAbsent(m.group(2), k -> new ArrayList<>()).add(m.group(1));
                chainsWithManifests.add(m.group(1));
            }
        }
        TreeSet<String> markers = new TreeSet<>();
        for (S3Object o : list(bucket, repository + "/index/chains/")) {
            markers.add(o.key().substring((repository + "/index/chains/").length()));
        }
        Map<String, List<String>> expected = new TreeMap<>();
        TreeSet<String> expectedChains = new TreeSet<>();
        for (Crashed b : backups) {
            expected.put(b.backupId(), List.of(b.chainId()));
            expectedChains.add(b.chainId());
        }
        assertThat(manifests).as("manifests in s3://%s/%s", bucket, repository).isEqualTo(expected);
        assertThat(chainsWithManifests).isEqualTo(expectedChains);
        assertThat(markers).as("chain markers in s3://%s/%s", bucket, repository).isEqualTo(expectedChains);
    }

    private static List<S3Object> list(String bucket, String prefix) {
        List<S3Object> all = new ArrayList<>();
        platform.s3().listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(bucket).prefix(prefix).build())
                .contents().forEach(all::add);
        return all;
    }

    /** Rewrites a slice of the largest table, so each backup of the chain holds data of its own. */
    private static void change(String db, int slice) {
        Databases.execute(db, "update shop.order_items set quantity = quantity + 1 where order_id % 10 = " + slice);
    }
}
