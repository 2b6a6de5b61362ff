package dev.lifeboat.repository.snapshot;

/**
 * The outcome of {@link SnapshotWriter#write}: the sealed manifest, the type that was asked for, whether it was
 * promoted to FULL because there was no chain to extend, and the SHA-256 (hex) of the manifest object exactly as it
 * was stored (what a reader compares the object with; the store checked the body's hash when it took the upload).
 */
public record WriteResult(Manifest manifest, BackupType requestedType, boolean promotedToFull, long wallMillis,
                          String manifestSha256) {
    public BackupType type() {
        return manifest.type();
    }
}
