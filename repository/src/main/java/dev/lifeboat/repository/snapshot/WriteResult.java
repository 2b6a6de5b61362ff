package dev.lifeboat.repository.snapshot;

/**
 * The outcome of {@link SnapshotWriter#write}: the sealed manifest, the type that was asked for, and whether it was
 * promoted to FULL because there was no chain to extend.
 */
public record WriteResult(Manifest manifest, BackupType requestedType, boolean promotedToFull, long wallMillis) {
    public BackupType type() {
        return manifest.type();
    }
}
