package dev.lifeboat.snapshot.archiver;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/** Continuous WAL archiving of the physical sources (lifeboat.archiver.*). */
@ConfigMapping(prefix = "lifeboat.archiver")
public interface ArchiverConfig {
    /** Whether this worker takes part in WAL archiving at all. */
    @WithDefault("true")
    boolean enabled();

    /** How often the physical sources are listed from scheduler-service (and free leases looked for). */
    @WithDefault("15s")
    Duration sourcesInterval();

    /** Deadline of one listing of the sources. */
    @WithDefault("10s")
    Duration sourcesTimeout();

    /** How long a lease lasts without renewal: a dead owner's sources are taken over after at most this. */
    @WithDefault("30s")
    Duration leaseTtl();

    /** How often held leases are renewed; well below the TTL, so one slow renewal does not lose them. */
    @WithDefault("10s")
    Duration leaseRenewInterval();

    /** How often the segment being written is uploaded (as its partial) when it grew: the RPO under steady writes. */
    @WithDefault("1s")
    Duration partialInterval();

    /** How often each owned source's status (archived LSN, lag, gap) is published and its gauges updated. */
    @WithDefault("5s")
    Duration statusInterval();

    /**
     * How often the continuity check looks up the repository's physical base backups again (it checks from the start
     * of the oldest); the archive itself is listed every status interval.
     */
    @WithDefault("60s")
    Duration baseBackupsInterval();

    /** How long dropping the replication slot of a deleted source may wait for the server to let the slot go. */
    @WithDefault("10s")
    Duration slotDropTimeout();

    /** First wait before streaming a source again after a failure; doubles up to {@link #restartMaxBackoff()}. */
    @WithDefault("1s")
    Duration restartInitialBackoff();

    @WithDefault("30s")
    Duration restartMaxBackoff();

    /**
     * Replication slot names are this prefix plus the source id (other characters than a-z, 0-9 and _ replaced,
     * 63 characters at most): the slot a source's archiving holds on its server, whoever owns it.
     */
    @WithDefault("lifeboat_wal_")
    String slotPrefix();

    /** The replication slot the archiving of {@code sourceId} holds on its server. */
    default String slotOf(String sourceId) {
        return WalStreamer.slotName(slotPrefix(), sourceId);
    }

    /**
     * Bucket of the archive of a source without an enabled policy (one with policies is archived into their
     * destination); the object store's default bucket when unset.
     */
    Optional<String> bucket();

    /**
     * Prefix of the archive of a source without an enabled policy: {@code <prefix>/<sourceId>/wal/};
     * lifeboat.snapshot.default-prefix when unset.
     */
    Optional<String> prefix();
}
