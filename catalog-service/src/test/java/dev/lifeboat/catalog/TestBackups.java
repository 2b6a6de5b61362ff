package dev.lifeboat.catalog;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.SnapshotCreated;

import java.time.Instant;
import java.util.UUID;

/** Event data for one backup, each test with ids of its own. */
record TestBackups(String backupId, String sourceId, BackupType type) {

    static TestBackups full() {
        return of(BackupType.FULL);
    }

    static TestBackups of(BackupType type) {
        return new TestBackups(UUID.randomUUID().toString(), newSource(), type);
    }

    static String newSource() {
        return "src-" + UUID.randomUUID().toString().substring(0, 8);
    }

    TestBackups ofSource(String source) {
        return new TestBackups(backupId, source, type);
    }

    BackupRequested requested(String by) {
        return new BackupRequested(backupId, sourceId, type, "nightly", by);
    }

    BackupProgress progress(String phase, long bytes, Integer percent) {
        return new BackupProgress(backupId, sourceId, phase, bytes, percent, "worker-1");
    }

    SnapshotCreated snapshotCreated(Instant startedAt) {
        return new SnapshotCreated(backupId, sourceId, "nightly", type, "appdb", "lifeboat-backups", objectKey(),
                4096, 16384, sha256(), "15.8", "15.8", "worker-1", startedAt, startedAt.plusSeconds(5), null);
    }

    BackupCompleted completed(Instant startedAt) {
        return new BackupCompleted(backupId, sourceId, "nightly", type, "lifeboat-backups", objectKey(),
                manifestKey(), 4096, 16384, sha256(), startedAt, startedAt.plusSeconds(7), 7000, null, null);
    }

    BackupFailed failed(String stage, String reason) {
        return new BackupFailed(backupId, sourceId, stage, reason, Instant.now());
    }

    String objectKey() {
        return sourceId + "/" + backupId + "/dump.tar.zst";
    }

    String manifestKey() {
        return sourceId + "/" + backupId + "/manifest.json";
    }

    String sha256() {
        return "ab".repeat(32);
    }
}
