package dev.lifeboat.storage;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.repository.snapshot.Layout;
import dev.lifeboat.repository.snapshot.ManifestEdits;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Garbage collection in the worker (real Kafka, PostgreSQL, S3Proxy), with a grace period of zero so that one pass
 * marks and sweeps: after an expiry the expired backup's chain goes, the other backups stay intact; POST /api/v1/gc
 * runs a pass on demand and reports it; the results reach the Prometheus metrics.
 */
@QuarkusTest
@TestProfile(GarbageCollectionTest.NoGrace.class)
@WithTestResource(StorageWorkerTestResource.class)
class GarbageCollectionTest extends StorageWorkerTestBase {

    public static class NoGrace implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("lifeboat.gc.grace", "0s", "lifeboat.gc.clock-tolerance", "0s", "lifeboat.gc.interval", "off",
                    "lifeboat.gc.unsealed-grace", "0s", "lifeboat.gc.wal-min-age", WalRetentionTest.MIN_AGE.toSeconds() + "s");
        }
    }

    private Repository repository() {
        return repositories.open(BUCKET, REPOSITORY_PREFIX).orElseThrow();
    }

    private SnapshotCreated sealed(int size) {
        SnapshotCreated snapshot = uploadedSnapshot(size);
        publish(snapshot);
        ConsumerRecord<String, String> verdict = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(verdict, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        return snapshot;
    }

    @Test
    void expiringABackupCollectsItsChainAndKeepsTheOthersRestorable() throws Exception {
        String policy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        SnapshotCreated expired = ExpiredBackupDeletionTest.sealed(this, 40_000, policy);
        SnapshotCreated kept = ExpiredBackupDeletionTest.sealed(this, 30_000, policy);
        Layout layout = repository().layout();
        String chain = expired.repository().chainId();
        assertThat(store.list(BUCKET, layout.chunks(chain))).isNotEmpty();
        Manifest keptManifest = manifestOf(kept);

        ExpiredBackupDeletionTest.publish(ExpiredBackupDeletionTest.expiry(policy, expired.backupId()));
        events.await(ExpiredBackupDeletionTest.deletedOf(expired.backupId()), WAIT);

        // the pass is queued with the deletion and runs off the consumer, after BackupDeleted went out: wait for it
        // to delete the chain's objects and then, last, its marker
        long deadline = System.nanoTime() + WAIT.toNanos();
        while ((!store.list(BUCKET, layout.chain(chain)).isEmpty()
                || store.size(BUCKET, layout.chainMarker(chain)).isPresent()) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertThat(store.list(BUCKET, layout.chain(chain))).as("chunks of the expired backup's chain").isEmpty();
        assertThat(store.size(BUCKET, layout.chainMarker(chain))).isEmpty();
        assertThat(repository().chains()).doesNotContain(chain).contains(kept.repository().chainId());

        assertThat(repository().verifier().full(keptManifest).problems()).isEmpty();
        Path restored = Files.createTempDirectory("gc-restore");
        repository().reader().restore(keptManifest, restored);
        assertThat(Files.size(restored.resolve("4242.dat"))).isEqualTo(30_000);
        assertThat(Files.readString(restored.resolve("toc.dat"))).isEqualTo("toc of " + kept.backupId());

        String metrics = given().auth().oauth2(Tokens.admin()).when().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(counter(metrics, "lifeboat_gc_chunks_deleted_total")).isPositive();
        assertThat(counter(metrics, "lifeboat_gc_freed_bytes_total")).isGreaterThan(40_000);
        assertThat(counter(metrics, "lifeboat_gc_chains_deleted_total")).isGreaterThanOrEqualTo(1);
    }

    @Test
    void postGcRunsOnePassNowAndAnswersWhatItDid() {
        SnapshotCreated sealed = sealed(20_000);
        // a FULL that died before its manifest: chunks in a chain nobody references
        SnapshotCreated abandoned = uploadedSnapshot(25_000);
        Layout layout = repository().layout();
        String orphan = abandoned.repository().chainId();
        store.delete(BUCKET, abandoned.objectKey());
        store.delete(BUCKET, layout.chainMarker(orphan));
        long orphanBytes = store.list(BUCKET, layout.chunks(orphan)).stream()
                .mapToLong(k -> store.size(BUCKET, k).orElseThrow()).sum();

        JsonPath answer = given().auth().oauth2(Tokens.admin()).when().post("/api/v1/gc").then().statusCode(200).extract().jsonPath();
        String location = BUCKET + "/" + REPOSITORY_PREFIX;
        List<Map<String, Object>> repos = answer.getList("repositories");
        Map<String, Object> ours = repos.stream().filter(r -> location.equals(r.get("location"))).findFirst()
                .orElseThrow(() -> new AssertionError("no result for " + location + " in " + answer.prettify()));
        assertThat(String.valueOf(ours.get("chainsDeleted"))).contains(orphan);
        assertThat(((Number) ours.get("bytesFreed")).longValue()).isGreaterThanOrEqualTo(orphanBytes);
        assertThat(answer.getLong("chunksDeleted")).isPositive();
        assertThat(answer.getList("failures")).isEmpty();
        assertThat(store.list(BUCKET, layout.chain(orphan))).isEmpty();
        assertThat(repository().verifier().quick(manifestOf(sealed)).ok()).isTrue();

        // one repository only, by bucket and prefix: nothing is left to collect there
        JsonPath again = given().auth().oauth2(Tokens.admin()).queryParam("bucket", BUCKET).queryParam("prefix", REPOSITORY_PREFIX)
                .when().post("/api/v1/gc").then().statusCode(200).extract().jsonPath();
        assertThat(again.getList("repositories.location")).containsExactly(location);
        assertThat(again.getLong("chunksDeleted")).isZero();
    }

    @Test
    void aManifestThatWasNeverSealedIsDeletedWithItsChunksAndSealedOnesStay() {
        SnapshotCreated sealed = sealed(20_000);
        // its snapshot-worker died after writing the manifest, before SnapshotCreated: no verdict, ever
        SnapshotCreated abandoned = uploadedSnapshot(25_000);
        Layout layout = repository().layout();
        String chain = abandoned.repository().chainId();
        assertThat(store.size(BUCKET, abandoned.objectKey())).isPresent();

        JsonPath answer = given().auth().oauth2(Tokens.admin()).queryParam("bucket", BUCKET)
                .queryParam("prefix", REPOSITORY_PREFIX).when().post("/api/v1/gc").then().statusCode(200).extract()
                .jsonPath();

        assertThat(answer.getList("repositories[0].unsealedManifestsDeleted")).contains(abandoned.backupId())
                .doesNotContain(sealed.backupId());
        assertThat(store.size(BUCKET, abandoned.objectKey())).isEmpty();
        assertThat(store.list(BUCKET, layout.chain(chain))).as("the abandoned backup's chunks").isEmpty();
        assertThat(store.size(BUCKET, sealed.objectKey())).isPresent();
        assertThat(repository().verifier().quick(manifestOf(sealed)).ok()).isTrue();
    }

    @Test
    void aSealedManifestRewrittenToListFewerChunksCollectsNoneOfThemUntilTheSealedOneIsBack() throws Exception {
        SnapshotCreated sealed = sealed(40_000);
        Layout layout = repository().layout();
        String chain = sealed.repository().chainId();
        byte[] sealedBytes = Repository.readAll(store, BUCKET, sealed.objectKey(), Repository.MAX_MANIFEST_BYTES,
                "manifest");
        // a stray chunk in the chain, which a pass that may collect there deletes
        String strayKey = layout.chunk(chain, "ff" + "0".repeat(62));
        store.put(BUCKET, strayKey, new byte[] {1, 2, 3});
        // rewritten in the bucket to list only toc.dat: the chunks of 4242.dat would look unreferenced
        store.put(BUCKET, sealed.objectKey(), ManifestEdits.listingOnly(sealedBytes, "toc.dat"));
        List<String> chunks = store.list(BUCKET, layout.chunks(chain));
        double refusedBefore = counter(metrics(), "lifeboat_gc_sealed_manifests_refused_total",
                "collector=\"chunks\",reason=\"mismatch\"");

        JsonPath refused = gcOfTestRepository();

        // other tests' backups share the repository: only this chain is looked at
        assertThat(refused.getList("repositories[0].sealedManifestsRefused", Map.class))
                .contains(Map.of("backupId", sealed.backupId(), "chainId", chain, "reason", "mismatch"));
        assertThat(refused.getList("repositories[0].chainsFailed", String.class))
                .filteredOn(f -> f.startsWith(chain + ": ")).singleElement().asString()
                .contains(sealed.backupId(), "not the one sealed");
        assertThat(store.list(BUCKET, layout.chunks(chain))).as("chunks of the chain").isEqualTo(chunks);
        assertThat(counter(metrics(), "lifeboat_gc_sealed_manifests_refused_total",
                "collector=\"chunks\",reason=\"mismatch\"") - refusedBefore).isGreaterThanOrEqualTo(1);

        // the sealed manifest back: the next pass collects the chain as usual, the stray chunk goes
        store.put(BUCKET, sealed.objectKey(), sealedBytes);
        JsonPath again = gcOfTestRepository();
        assertThat(again.getList("repositories[0].sealedManifestsRefused.backupId"))
                .doesNotContain(sealed.backupId());
        assertThat(again.getList("repositories[0].chainsFailed", String.class))
                .noneMatch(f -> f.startsWith(chain + ": "));
        assertThat(store.size(BUCKET, strayKey)).isEmpty();
        assertThat(store.list(BUCKET, layout.chunks(chain))).containsExactlyInAnyOrderElementsOf(
                chunks.stream().filter(k -> !k.equals(strayKey)).toList());
        assertThat(repository().verifier().full(manifestOf(sealed)).problems()).isEmpty();
    }

    @Test
    void aSealedManifestDeletedFromTheBucketOrMovedToAnotherChainCollectsNoneOfItsChainUntilItIsBack()
            throws Exception {
        SnapshotCreated sealed = sealed(40_000);
        SnapshotCreated other = sealed(20_000);
        Layout layout = repository().layout();
        String chain = sealed.repository().chainId();
        String otherChain = other.repository().chainId();
        assertThat(otherChain).isNotEqualTo(chain);
        byte[] sealedBytes = Repository.readAll(store, BUCKET, sealed.objectKey(), Repository.MAX_MANIFEST_BYTES,
                "manifest");
        // a stray chunk in the chain, which a pass that may collect there deletes
        String strayKey = layout.chunk(chain, "fe" + "0".repeat(62));
        store.put(BUCKET, strayKey, new byte[] {1, 2, 3});
        List<String> chunks = store.list(BUCKET, layout.chunks(chain));
        List<String> otherChunks = store.list(BUCKET, layout.chunks(otherChain));
        double refusedBefore = counter(metrics(), "lifeboat_gc_sealed_manifests_refused_total",
                "collector=\"chunks\",reason=\"missing\"");
        // deleted from the bucket (by mistake, a lifecycle rule): every chunk of the chain would look unreferenced
        store.delete(BUCKET, sealed.objectKey());

        JsonPath missing = gcOfTestRepository();

        assertThat(missing.getList("repositories[0].sealedManifestsRefused", Map.class))
                .contains(Map.of("backupId", sealed.backupId(), "chainId", chain, "reason", "missing"));
        assertThat(missing.getList("repositories[0].chainsFailed", String.class))
                .filteredOn(f -> f.startsWith(chain + ": ")).singleElement().asString()
                .contains(sealed.backupId(), "not in the bucket");
        assertThat(store.list(BUCKET, layout.chunks(chain))).as("chunks of the chain").isEqualTo(chunks);
        assertThat(counter(metrics(), "lifeboat_gc_sealed_manifests_refused_total",
                "collector=\"chunks\",reason=\"missing\"") - refusedBefore).isGreaterThanOrEqualTo(1);

        // moved into another sealed backup's chain: missing from its own, and not taken as a manifest of the other
        String movedKey = layout.manifest(otherChain, sealed.backupId());
        store.put(BUCKET, movedKey, sealedBytes);
        JsonPath moved = gcOfTestRepository();
        assertThat(moved.getList("repositories[0].sealedManifestsRefused", Map.class)).contains(
                Map.of("backupId", sealed.backupId(), "chainId", chain, "reason", "missing"),
                Map.of("backupId", sealed.backupId(), "chainId", otherChain, "reason", "mismatch"));
        assertThat(moved.getList("repositories[0].chainsFailed", String.class))
                .filteredOn(f -> f.startsWith(otherChain + ": ")).singleElement().asString()
                .contains("sealed in chain " + chain);
        assertThat(store.list(BUCKET, layout.chunks(chain))).isEqualTo(chunks);
        assertThat(store.list(BUCKET, layout.chunks(otherChain))).isEqualTo(otherChunks);

        // put back where it belongs: the next pass collects the chain as usual, the stray chunk goes
        store.delete(BUCKET, movedKey);
        store.put(BUCKET, sealed.objectKey(), sealedBytes);
        JsonPath again = gcOfTestRepository();
        assertThat(again.getList("repositories[0].sealedManifestsRefused.backupId"))
                .doesNotContain(sealed.backupId());
        assertThat(again.getList("repositories[0].chainsFailed", String.class))
                .noneMatch(f -> f.startsWith(chain + ": ") || f.startsWith(otherChain + ": "));
        assertThat(store.size(BUCKET, strayKey)).isEmpty();
        assertThat(repository().verifier().full(manifestOf(sealed)).problems()).isEmpty();
        assertThat(repository().verifier().full(manifestOf(other)).problems()).isEmpty();
    }

    private static JsonPath gcOfTestRepository() {
        return given().auth().oauth2(Tokens.admin()).queryParam("bucket", BUCKET)
                .queryParam("prefix", REPOSITORY_PREFIX).when().post("/api/v1/gc").then().statusCode(200).extract()
                .jsonPath();
    }

    static String metrics() {
        return given().auth().oauth2(Tokens.admin()).when().get("/q/metrics").then().statusCode(200).extract()
                .asString();
    }

    /**
     * The sum of the series of {@code name} whose labels include {@code labels} ("a=\"x\",b=\"y\""): the value
     * right after the labels, not an exemplar after it.
     */
    static double counter(String metrics, String name, String labels) {
        return metrics.lines().filter(l -> l.startsWith(name + "{") && l.contains(labels))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf("} ") + 2).split(" ")[0])).sum();
    }

    private static double counter(String metrics, String name) {
        return metrics.lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
