package dev.lifeboat.repository.snapshot;

import java.util.List;

/** What a verification found: no problems means the backup is usable for restore. */
public record VerificationReport(String backupId, String chainId, Mode mode, long chunksChecked, long bytesChecked,
                                 List<Problem> problems, long wallMillis) {
    public enum Mode { QUICK, FULL }

    /** @param what e.g. "missing", "stored size 10 but manifest says 12", "authentication tag mismatch ..." */
    public record Problem(String file, String chunkId, String what) {
    }

    public VerificationReport {
        problems = List.copyOf(problems);
    }

    public boolean ok() {
        return problems.isEmpty();
    }
}
