package dev.lifeboat.repository.snapshot;

/**
 * What one {@link Replicator#replicate} did.
 *
 * @param destination    the repository at the destination (same key set as the source)
 * @param manifestKey    key of the copied manifest in the destination bucket
 * @param manifestSha256 SHA-256 of the manifest, identical at source and destination
 * @param keyFileCreated true when the destination repository was created by this copy
 * @param chunksTotal    distinct chunks of the backup
 * @param chunksCopied   chunks this copy wrote (the others were already at the destination with their size)
 * @param bytesCopied    stored bytes of the chunks this copy wrote
 */
public record ReplicationResult(Repository destination, String manifestKey, String manifestSha256,
                                boolean keyFileCreated, long chunksTotal, long chunksCopied, long bytesCopied) {
}
