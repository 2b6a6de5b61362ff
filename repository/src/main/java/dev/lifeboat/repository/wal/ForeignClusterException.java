package dev.lifeboat.repository.wal;

/**
 * WAL of one PostgreSQL cluster offered to, or asked of, an archive that belongs to another (their system
 * identifiers differ): the same source id used for a re-initialised or different cluster. Recovery through WAL of two
 * clusters would replay records of one onto the data files of the other, so nothing of the kind is written or handed
 * to PostgreSQL.
 */
public final class ForeignClusterException extends RuntimeException {
    private final String expected;
    private final String found;

    /**
     * @param expected the system identifier the archive or the restore is bound to
     * @param found    the system identifier that was offered or read
     */
    public ForeignClusterException(String message, String expected, String found) {
        super(message);
        this.expected = expected;
        this.found = found;
    }

    public String expected() {
        return expected;
    }

    public String found() {
        return found;
    }
}
