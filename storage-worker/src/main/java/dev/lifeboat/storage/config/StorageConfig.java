package dev.lifeboat.storage.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** How storage-worker behaves when its object store or database fails for a while. */
@ConfigMapping(prefix = "lifeboat.storage")
public interface StorageConfig {

    /** CloudEvents {@code source} of the events this worker emits. */
    @WithDefault("/lifeboat/storage-worker")
    String eventSource();

    FullVerify fullVerify();

    Jobs jobs();

    /**
     * Long storage work (offsite copies with their read-back, garbage-collection passes after an expiry), queued in
     * the database with the state change that asks for it and run by a bounded pool off the sealing path.
     */
    interface Jobs {
        /** Jobs this worker runs at the same time. */
        @WithDefault("2")
        int concurrency();

        /** How often the queue is looked at for due jobs (and the leases of running jobs renewed). */
        @WithDefault("1s")
        Duration poll();

        /**
         * How long a claim lasts without renewal: a job whose worker died is taken over after this long. Renewed
         * every third of it while the job runs.
         */
        @WithDefault("60s")
        Duration lease();

        /** Backoff after the first transient failure of a job, doubled after each further one. */
        @WithDefault("5s")
        Duration initialBackoff();

        @WithDefault("5m")
        Duration maxBackoff();

        /**
         * How long a job keeps being retried after transient failures before it is given up (an offsite copy is then
         * reported as BackupCopyFailed with retryable=true; replaying the SnapshotCreated queues it again).
         */
        @WithDefault("24h")
        Duration giveUpAfter();
    }

    /** Scheduled full verification (read and authenticate every chunk) of every sealed chunked backup. */
    interface FullVerify {
        /** How often, e.g. {@code 24h}; {@code off} (the default) or {@code disabled} turns it off. */
        @WithDefault("off")
        String every();
    }
}
