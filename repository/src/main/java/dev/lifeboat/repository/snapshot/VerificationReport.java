package dev.lifeboat.repository.snapshot;

import java.util.List;

/**
 * What a verification found. {@code problems} are integrity failures (a chunk missing, of the wrong size, failing
 * its authentication tag or its hash): the backup is corrupt. {@code unreadable} are chunks the store could not
 * serve now (unreachable, 5xx, timeout, denied) even after retries: that says nothing about the bytes, so it is
 * never reported as corrupt. No problems and nothing unreadable means the backup is usable for restore.
 */
public record VerificationReport(String backupId, String chainId, Mode mode, long chunksChecked, long bytesChecked,
                                 List<Problem> problems, List<Problem> unreadable, long wallMillis) {
    public enum Mode { QUICK, FULL }

    /** PASSED and CORRUPT are verdicts on the backup's bytes; UNREADABLE means none could be reached now. */
    public enum Verdict { PASSED, CORRUPT, UNREADABLE }

    /** @param what e.g. "missing", "stored size 10 but manifest says 12", "authentication tag mismatch ..." */
    public record Problem(String file, String chunkId, String what) {
    }

    public VerificationReport {
        problems = List.copyOf(problems);
        unreadable = List.copyOf(unreadable);
    }

    public boolean ok() {
        return problems.isEmpty() && unreadable.isEmpty();
    }

    /** Throws {@link StoreUnreadableException} naming {@code what} when the verdict is UNREADABLE. */
    public VerificationReport requireReadable(String what) {
        if (verdict() == Verdict.UNREADABLE) {
            throw new StoreUnreadableException(what + ": " + unreadable.size() + " of " + chunksChecked
                    + " chunks could not be read from the object store now, first: " + unreadable.getFirst().chunkId()
                    + ": " + unreadable.getFirst().what());
        }
        return this;
    }

    /** A proven integrity failure wins over chunks that could not be read: one bad chunk is enough to refuse. */
    public Verdict verdict() {
        if (!problems.isEmpty()) {
            return Verdict.CORRUPT;
        }
        return unreadable.isEmpty() ? Verdict.PASSED : Verdict.UNREADABLE;
    }
}
