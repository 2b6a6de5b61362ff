package dev.lifeboat.repository.snapshot;

/**
 * A backup would need a manifest larger than the repository's cap ({@link Repository#maxManifestBytes}): no reader
 * with that cap could read it, so the writer stops as soon as its chunks show it, instead of after storing them all.
 */
public class ManifestTooLargeException extends IllegalStateException {
    public ManifestTooLargeException(String message) {
        super(message);
    }
}
