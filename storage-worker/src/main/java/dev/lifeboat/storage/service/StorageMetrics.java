package dev.lifeboat.storage.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.Startup;
import jakarta.inject.Singleton;

/**
 * The worker's meters, registered at startup so that every series exists (at zero) before the first backup:
 * a dashboard or an alert on "failed > 0" needs the series to be there.
 */
@Startup
@Singleton
public class StorageMetrics {
    private final MeterRegistry registry;
    private final Counter completed;
    private final Counter verifiedBytes;
    private final Timer verifyDuration;
    private final Counter retries;
    private final Counter deleted;
    private final Counter gcRuns;
    private final Counter gcFailures;
    private final Counter gcMarked;
    private final Counter gcDeleted;
    private final Counter gcBytes;
    private final Counter gcChains;
    private final Timer gcDuration;
    private final Counter walSegmentsDeleted;
    private final Counter walOtherDeleted;

    public StorageMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.completed = Counter.builder("lifeboat.backups.completed")
                .description("Backups verified and sealed with a manifest").register(registry);
        this.verifiedBytes = Counter.builder("lifeboat.backup.verified.bytes")
                .description("Archive bytes read back from the object store to verify them").register(registry);
        this.verifyDuration = Timer.builder("lifeboat.backup.verify.duration")
                .description("Time to read an archive back and hash it").register(registry);
        this.retries = Counter.builder("lifeboat.storage.seal.retries")
                .description("Sealing attempts that failed on the object store, the database or Kafka and were retried")
                .register(registry);
        this.deleted = Counter.builder("lifeboat.backups.deleted")
                .description("Sealed backups whose manifest and archive were deleted after retention expired them")
                .register(registry);
        this.gcRuns = Counter.builder("lifeboat.gc.runs")
                .description("Garbage-collection passes over one repository").register(registry);
        this.gcFailures = Counter.builder("lifeboat.gc.failures")
                .description("Garbage-collection passes over one repository that failed").register(registry);
        this.gcMarked = Counter.builder("lifeboat.gc.chunks.marked")
                .description("Chunks marked unreferenced (deleted once the mark is older than the grace period)")
                .register(registry);
        this.gcDeleted = Counter.builder("lifeboat.gc.chunks.deleted")
                .description("Unreferenced chunks deleted by garbage collection").register(registry);
        this.gcBytes = Counter.builder("lifeboat.gc.freed.bytes")
                .description("Stored bytes of the chunks garbage collection deleted").register(registry);
        this.gcChains = Counter.builder("lifeboat.gc.chains.deleted")
                .description("Chains deleted whole because no backup of theirs was left").register(registry);
        this.gcDuration = Timer.builder("lifeboat.gc.duration")
                .description("Time of one garbage-collection pass over one repository").register(registry);
        this.walSegmentsDeleted = Counter.builder("lifeboat.wal.segments.deleted")
                .description("Archived WAL segments (complete or partial) deleted by retention: before the start of "
                        + "the oldest physical base backup left").register(registry);
        this.walOtherDeleted = Counter.builder("lifeboat.wal.backup-history.deleted")
                .description("Archived backup history files deleted by WAL retention").register(registry);
        failedCounter(SealService.STAGE_VERIFY);
        sealedRefusedCounter("chunks", "mismatch");
        sealedRefusedCounter("wal", "mismatch");
        // born at zero, so that the alert sees the first pass that finds a manifest missing
        sealedRefusedCounter("chunks", "missing");
        sealedRefusedCounter("wal", "missing");
    }

    public void wal(dev.lifeboat.repository.wal.WalCollector.Result result) {
        walSegmentsDeleted.increment(result.segmentsDeleted() + result.partialsDeleted()
                + result.retired().stream().mapToInt(r -> r.objectsDeleted()).sum());
        walOtherDeleted.increment(result.otherDeleted());
    }

    public void gc(dev.lifeboat.repository.snapshot.GarbageCollector.Result result) {
        gcRuns.increment();
        gcMarked.increment(result.chunksMarked());
        gcDeleted.increment(result.chunksDeleted());
        gcBytes.increment(result.bytesFreed());
        gcChains.increment(result.chainsDeleted().size());
        gcDuration.record(java.time.Duration.ofMillis(result.durationMs()));
        result.sealedManifestsRefused().forEach(r -> sealedManifestRefused("chunks", r.reason()));
    }

    /**
     * The manifest of a sealed backup was not read as sealed, so a pass of {@code collector} ("chunks" or "wal")
     * deleted nothing on its word; {@code reason} is mismatch, too-large, unreadable or missing.
     */
    public void sealedManifestRefused(String collector, String reason) {
        sealedRefusedCounter(collector, reason).increment();
    }

    private Counter sealedRefusedCounter(String collector, String reason) {
        return Counter.builder("lifeboat.gc.sealed-manifests.refused").tag("collector", collector).tag("reason", reason)
                .description("Manifests of sealed backups that garbage collection or WAL retention did not read as "
                        + "sealed (rewritten in the bucket, over the manifest cap, unreadable, missing): nothing of their "
                        + "chain, or no WAL, was deleted by that pass")
                .register(registry);
    }

    public void gcFailed() {
        gcFailures.increment();
    }

    public void completed() {
        completed.increment();
    }

    public void failed(String stage) {
        failedCounter(stage).increment();
    }

    public void verifiedBytes(long bytes) {
        verifiedBytes.increment(bytes);
    }

    public Timer.Sample startVerify() {
        return Timer.start(registry);
    }

    public void stopVerify(Timer.Sample sample) {
        sample.stop(verifyDuration);
    }

    public void deleted() {
        deleted.increment();
    }

    /** A BackupsExpired entry that was not deleted, by why (see ExpiryGuard). */
    public void deletionRefused(String reason) {
        Counter.builder("lifeboat.backup.deletions.refused").tag("reason", reason)
                .description("Backups named by a BackupsExpired that were not deleted because the event does not "
                        + "match what this worker sealed or what the policy's retention keeps")
                .register(registry).increment();
    }

    /** A SnapshotCreated that was refused before verification, by why (see SealService). */
    public void sealRefused(String reason) {
        Counter.builder("lifeboat.backup.seals.refused").tag("reason", reason)
                .description("SnapshotCreated events refused because their manifest key or backup does not belong "
                        + "to the event's source and backup, or their bucket, repository or offsite destination is not "
                        + "the one their policy (or the defaults) gives")
                .register(registry).increment();
    }

    public void retried() {
        retries.increment();
    }

    private Counter failedCounter(String stage) {
        return Counter.builder("lifeboat.backups.failed").tag("stage", stage)
                .description("Backups that did not complete, by the stage that failed").register(registry);
    }
}
