package dev.lifeboat.repository.wal;

/** A WAL file in the archive that does not open, decompress or match its checksum: never handed to PostgreSQL. */
public final class WalIntegrityException extends RuntimeException {
    private final String walFile;

    public WalIntegrityException(String walFile, String reason, Throwable cause) {
        super("archived WAL file " + walFile + " is damaged: " + reason, cause);
        this.walFile = walFile;
    }

    public String walFile() {
        return walFile;
    }
}
