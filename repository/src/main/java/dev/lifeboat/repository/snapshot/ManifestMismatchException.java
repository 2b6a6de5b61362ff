package dev.lifeboat.repository.snapshot;

/**
 * The manifest object found is not the one that was sealed: its bytes no longer have the sealed SHA-256, or it
 * describes another backup or chain. Manifests are plain JSON in a bucket that is not trusted, so an older manifest
 * of the same source (or one of another chain) put in its place would otherwise restore stale data unnoticed.
 */
public class ManifestMismatchException extends SecurityException {
    public ManifestMismatchException(String message) {
        super(message);
    }
}
