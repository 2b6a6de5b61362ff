package dev.lifeboat.repository.snapshot;

/**
 * The manifest of a sealed backup could not be read as it was sealed, so nothing may be deleted on its word: it was
 * replaced or altered in the bucket, or sits in a chain other than the one it was sealed in ({@link Reason#MISMATCH}),
 * it is over the manifest cap ({@link Reason#TOO_LARGE}, which says nothing about whether it is intact), the store did
 * not give it now ({@link Reason#UNREADABLE}), or it is not in the bucket at all ({@link Reason#MISSING}: deleted, or
 * gone between listing and reading; also, once, a backup expired between the deletion of its manifest and the record
 * of that deletion).
 */
public class SealedManifestRefusedException extends RuntimeException {
    /** Why the manifest was refused; {@link #tag()} is its name in metrics. */
    public enum Reason {
        MISMATCH("mismatch"), TOO_LARGE("too-large"), UNREADABLE("unreadable"), MISSING("missing");

        private final String tag;

        Reason(String tag) {
            this.tag = tag;
        }

        public String tag() {
            return tag;
        }
    }

    private final String backupId;
    private final String chainId;
    private final Reason reason;

    public SealedManifestRefusedException(String backupId, String chainId, Reason reason, RuntimeException cause) {
        this(backupId, chainId, reason, cause.getMessage() == null ? cause.toString() : cause.getMessage(), cause);
    }

    /** @param chainId the chain refused, which is not always the one the backup was sealed in ({@code why} says) */
    public SealedManifestRefusedException(String backupId, String chainId, Reason reason, String why) {
        this(backupId, chainId, reason, why, null);
    }

    private SealedManifestRefusedException(String backupId, String chainId, Reason reason, String why,
                                           RuntimeException cause) {
        super("the manifest of sealed backup " + backupId + " (chain " + chainId + ") is not read as sealed: " + why,
                cause);
        this.backupId = backupId;
        this.chainId = chainId;
        this.reason = reason;
    }

    public String backupId() {
        return backupId;
    }

    public String chainId() {
        return chainId;
    }

    public Reason reason() {
        return reason;
    }
}
