package dev.lifeboat.kit.fault;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The places where a crash test or a soak may stop a worker dead ({@code lifeboat.fault.halt-at}): each one sits
 * between two effects that are not atomic together, where a crash leaves the most for redelivery to sort out.
 */
public enum CrashPoint {
    /** snapshot-worker: every chunk of the backup is uploaded, its manifest (and a FULL's chain marker) is not. */
    BEFORE_MANIFEST("before-manifest"),
    /** snapshot-worker: the manifest is written, SnapshotCreated is not sent. */
    AFTER_MANIFEST("after-manifest"),
    /** snapshot-worker: SnapshotCreated is sent, the job ledger still says RUNNING and the offset is not committed. */
    AFTER_SNAPSHOT_CREATED("after-snapshot-created"),
    /** storage-worker: the verdict (and any offsite copy job) stored, its BackupCompleted or BackupFailed not sent. */
    WHILE_SEALING("while-sealing");

    private final String key;

    CrashPoint(String key) {
        this.key = key;
    }

    /** The name used in configuration. */
    public String key() {
        return key;
    }

    public static Optional<CrashPoint> byKey(String key) {
        return Arrays.stream(values()).filter(p -> p.key.equals(key.trim())).findFirst();
    }

    static String known() {
        return Arrays.stream(values()).map(CrashPoint::key).collect(Collectors.joining(", "));
    }
}
