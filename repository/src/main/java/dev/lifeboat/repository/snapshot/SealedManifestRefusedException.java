package dev.lifeboat.repository.snapshot;

/**
 * The manifest of a sealed backup could not be read as it was sealed, so nothing may be deleted on its word: it was
 * replaced or altered in the bucket ({@link Reason#MISMATCH}), it is over the manifest cap ({@link Reason#TOO_LARGE},
 * which says nothing about whether it is intact), or the store did not give it now ({@link Reason#UNREADABLE}).
 */
public class SealedManifestRefusedException extends RuntimeException {
    /** Why the manifest was refused; {@link #tag()} is its name in metrics. */
    public enum Reason {
        MISMATCH("mismatch"), TOO_LARGE("too-large"), UNREADABLE("unreadable");

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
        super("the manifest of sealed backup " + backupId + " (chain " + chainId + ") is not read as sealed: "
                + (cause.getMessage() == null ? cause.toString() : cause.getMessage()), cause);
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
