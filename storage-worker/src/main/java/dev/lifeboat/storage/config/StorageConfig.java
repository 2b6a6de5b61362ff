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

    Retry retry();

    FullVerify fullVerify();

    /** Scheduled full verification (read and authenticate every chunk) of every sealed chunked backup. */
    interface FullVerify {
        /** How often, e.g. {@code 24h}; {@code off} (the default) or {@code disabled} turns it off. */
        @WithDefault("off")
        String every();
    }

    /**
     * Retries of one SnapshotCreated when the object store, the database or Kafka fail (not when the archive is
     * wrong: that is a verdict, not a failure). After the last attempt the record goes to the dead-letter topic.
     */
    interface Retry {
        /** Attempts in all, the first included. */
        @WithDefault("6")
        int maxAttempts();

        @WithDefault("1s")
        Duration initialBackoff();

        @WithDefault("30s")
        Duration maxBackoff();
    }
}
