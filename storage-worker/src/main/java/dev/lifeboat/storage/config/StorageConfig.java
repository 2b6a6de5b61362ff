package dev.lifeboat.storage.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** How storage-worker behaves when its object store or database fails for a while. */
@ConfigMapping(prefix = "lifeboat.storage")
public interface StorageConfig {

    /** CloudEvents {@code source} of the events this worker emits. */
    @WithDefault("/lifeboat/storage-worker")
    String eventSource();

    FullVerify fullVerify();

    /** Scheduled full verification (read and authenticate every chunk) of every sealed chunked backup. */
    interface FullVerify {
        /** How often, e.g. {@code 24h}; {@code off} (the default) or {@code disabled} turns it off. */
        @WithDefault("off")
        String every();
    }
}
