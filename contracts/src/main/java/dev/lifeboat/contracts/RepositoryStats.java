package dev.lifeboat.contracts;

/**
 * Where a chunked backup sits in its chain and what it cost. {@code type} of the enclosing event is the type
 * the backup really is; {@code requestedType} differs when an INCREMENTAL or DIFFERENTIAL without a FULL in
 * the repository was promoted to FULL.
 */
public record RepositoryStats(
        String format,
        String chainId,
        String parentBackupId,
        BackupType requestedType,
        boolean promotedToFull,
        long bytesRead,
        long bytesUploaded,
        long chunksTotal,
        long chunksUploaded) {

    public static final String CHUNKED_V1 = "chunked-v1";

    /** bytes read per byte uploaded; 0 when nothing was uploaded */
    public double dedupRatio() {
        return bytesUploaded == 0 ? 0 : (double) bytesRead / bytesUploaded;
    }
}
