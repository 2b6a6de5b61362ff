package dev.lifeboat.repository.snapshot;

import java.util.Optional;
import java.util.UUID;

/**
 * Where a backup goes. {@code backupId} names it (the catalog's id; must be unique in the repository).
 * {@code chainId} is the chain an INCREMENTAL or DIFFERENTIAL extends; empty means the repository's newest chain.
 * It is ignored for FULL, which always starts a new chain.
 */
public record ChainContext(String backupId, Optional<String> chainId) {

    public ChainContext {
        if (backupId == null || !backupId.matches("[A-Za-z0-9._-]{1,128}")) {
            throw new IllegalArgumentException("backup id must be 1-128 of [A-Za-z0-9._-]: " + backupId);
        }
    }

    /** Extends the newest chain of the repository (or starts one). */
    public static ChainContext latestChain(String backupId) {
        return new ChainContext(backupId, Optional.empty());
    }

    public static ChainContext inChain(String backupId, String chainId) {
        return new ChainContext(backupId, Optional.of(chainId));
    }

    public static ChainContext newBackupId() {
        return latestChain(UUID.randomUUID().toString());
    }
}
