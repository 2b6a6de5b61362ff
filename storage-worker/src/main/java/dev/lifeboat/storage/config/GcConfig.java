package dev.lifeboat.storage.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/**
 * Garbage collection of unreferenced chunks and empty chains in the backup repositories (see
 * {@link dev.lifeboat.repository.snapshot.GarbageCollector} for the mark-and-sweep and why the grace period).
 */
@ConfigMapping(prefix = "lifeboat.gc")
public interface GcConfig {
    /**
     * How often a pass runs over every repository this worker knows, e.g. {@code 1h}; {@code off} turns the schedule
     * off (passes after each expiry and {@code POST /api/v1/gc} still run). Marks only become sweepable after the
     * grace period, so running much more often than the grace period only costs listings.
     */
    @WithDefault("1h")
    String interval();

    /**
     * How long a chunk stays marked unreferenced (and a chain empty) before it is deleted. Must be longer than the
     * longest backup: a backup still running when its chunk is swept fails its quick verification.
     */
    @WithDefault("6h")
    Duration grace();

    /**
     * How long a manifest in the bucket may stay without a sealing verdict (a snapshot-worker died after writing it
     * and before its SnapshotCreated was handled) before a pass deletes it, so that its chunks can be collected.
     * Longer than the longest the platform may take to seal a written backup, outages and parked records included.
     */
    @WithDefault("72h")
    Duration unsealedGrace();

    /** Allowed difference between this host's clock and the object store's last-modified times. */
    @WithDefault("5s")
    Duration clockTolerance();

    /**
     * How old archived WAL must be before retention may delete it, even when it lies before the start of the oldest
     * physical base backup left: a base backup being written has no manifest yet, and the WAL it starts from must
     * survive until it has one. Longer than the longest base backup.
     */
    @WithDefault("6h")
    Duration walMinAge();

    /** Whether a pass runs on the repositories of the backups a BackupsExpired deleted, right after the deletion. */
    @WithDefault("true")
    boolean afterExpiry();
}
