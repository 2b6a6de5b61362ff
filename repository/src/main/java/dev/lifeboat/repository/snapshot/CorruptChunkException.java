package dev.lifeboat.repository.snapshot;

/** A chunk of a backup is missing, truncated, fails authentication or does not hash to its id. */
public class CorruptChunkException extends RuntimeException {
    private final String backupId;
    private final String file;
    private final String chunkId;

    public CorruptChunkException(String backupId, String file, String chunkId, String what, Throwable cause) {
        super("backup " + backupId + ", file " + file + ", chunk " + chunkId + ": " + what, cause);
        this.backupId = backupId;
        this.file = file;
        this.chunkId = chunkId;
    }

    public String backupId() {
        return backupId;
    }

    public String file() {
        return file;
    }

    public String chunkId() {
        return chunkId;
    }
}
