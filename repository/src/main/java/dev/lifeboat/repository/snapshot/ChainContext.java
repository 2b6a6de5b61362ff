package dev.lifeboat.repository.snapshot;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * Where a backup goes. {@code backupId} names it (the catalog's id; must be unique in the repository).
 * {@code chainId} is the chain an INCREMENTAL or DIFFERENTIAL extends; empty means the repository's newest chain.
 * It is ignored for FULL, which always starts a new chain. {@code firstAttempt}, when known, is no later than the
 * start of any attempt at writing this backup: a FULL written by one of them is in a chain started since, so the
 * writer's check that the id is new asks only those chains ({@link Repository#findManifest(ChainContext, BackupType)}).
 */
public record ChainContext(String backupId, Optional<String> chainId, Optional<Instant> firstAttempt) {

    public ChainContext {
        if (backupId == null || !backupId.matches("[A-Za-z0-9._-]{1,128}")) {
            throw new IllegalArgumentException("backup id must be 1-128 of [A-Za-z0-9._-]: " + backupId);
        }
    }

    public ChainContext(String backupId, Optional<String> chainId) {
        this(backupId, chainId, Optional.empty());
    }

    /** This context, with no attempt at writing the backup having started before {@code firstAttempt}. */
    public ChainContext attemptsSince(Instant firstAttempt) {
        return new ChainContext(backupId, chainId, Optional.of(firstAttempt));
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
