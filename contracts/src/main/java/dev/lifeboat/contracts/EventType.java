package dev.lifeboat.contracts;

import dev.lifeboat.contracts.recovery.DropDatabase;
import dev.lifeboat.contracts.recovery.PrepareRestore;
import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryStarted;
import dev.lifeboat.contracts.recovery.RemoveCluster;
import dev.lifeboat.contracts.recovery.RestoreCluster;
import dev.lifeboat.contracts.recovery.RestoreDatabase;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.contracts.recovery.VerifyBackup;
import dev.lifeboat.contracts.recovery.VerifyDatabase;

import java.util.Arrays;
import java.util.Optional;

/** Every event type: its CloudEvents type, the topic it travels on, its data record and its JSON Schema. */
public enum EventType {
    BACKUP_REQUESTED("dev.lifeboat.backup.requested.v1", Topics.BACKUP_REQUESTED, BackupRequested.class),
    BACKUP_PROGRESS("dev.lifeboat.backup.progress.v1", Topics.BACKUP_EVENTS, BackupProgress.class),
    SNAPSHOT_CREATED("dev.lifeboat.backup.snapshot-created.v1", Topics.BACKUP_EVENTS, SnapshotCreated.class),
    BACKUP_COMPLETED("dev.lifeboat.backup.completed.v1", Topics.BACKUP_EVENTS, BackupCompleted.class),
    BACKUP_FAILED("dev.lifeboat.backup.failed.v1", Topics.BACKUP_EVENTS, BackupFailed.class),
    BACKUPS_EXPIRED("dev.lifeboat.backup.expired.v1", Topics.BACKUP_EVENTS, BackupsExpired.class),
    EXPIRY_REVOKED("dev.lifeboat.backup.expiry-revoked.v1", Topics.BACKUP_EVENTS, ExpiryRevoked.class),
    BACKUP_DELETED("dev.lifeboat.backup.deleted.v1", Topics.BACKUP_EVENTS, BackupDeleted.class),
    BACKUP_VERIFIED("dev.lifeboat.backup.verified.v1", Topics.BACKUP_EVENTS, BackupVerified.class),
    BACKUP_COPIED("dev.lifeboat.backup.copied.v1", Topics.BACKUP_EVENTS, BackupCopied.class),
    BACKUP_COPY_FAILED("dev.lifeboat.backup.copy-failed.v1", Topics.BACKUP_EVENTS, BackupCopyFailed.class),
    PREPARE_RESTORE("dev.lifeboat.recovery.prepare-restore.v1", Topics.RECOVERY_COMMANDS, PrepareRestore.class),
    RESTORE_DATABASE("dev.lifeboat.recovery.restore-database.v1", Topics.RECOVERY_COMMANDS, RestoreDatabase.class),
    VERIFY_BACKUP("dev.lifeboat.recovery.verify-backup.v1", Topics.RECOVERY_COMMANDS, VerifyBackup.class),
    VERIFY_DATABASE("dev.lifeboat.recovery.verify-database.v1", Topics.RECOVERY_COMMANDS, VerifyDatabase.class),
    DROP_DATABASE("dev.lifeboat.recovery.drop-database.v1", Topics.RECOVERY_COMMANDS, DropDatabase.class),
    RESTORE_CLUSTER("dev.lifeboat.recovery.restore-cluster.v1", Topics.RECOVERY_COMMANDS, RestoreCluster.class),
    REMOVE_CLUSTER("dev.lifeboat.recovery.remove-cluster.v1", Topics.RECOVERY_COMMANDS, RemoveCluster.class),
    /** On its participant's own topic ({@link Topics#repliesOf}): {@link #topic()} is null. */
    STEP_REPLIED("dev.lifeboat.recovery.step-replied.v1", null, StepReply.class),
    RECOVERY_STARTED("dev.lifeboat.recovery.started.v1", Topics.RECOVERY_EVENTS, RecoveryStarted.class),
    RECOVERY_FINISHED("dev.lifeboat.recovery.finished.v1", Topics.RECOVERY_EVENTS, RecoveryFinished.class),
    WAL_STATUS("dev.lifeboat.wal.status.v1", Topics.WAL_STATUS, WalStatus.class);

    private final String ceType;
    private final String topic;
    private final Class<?> dataClass;

    EventType(String ceType, String topic, Class<?> dataClass) {
        this.ceType = ceType;
        this.topic = topic;
        this.dataClass = dataClass;
    }

    public String ceType() {
        return ceType;
    }

    /** The topic this type travels on; null for a reply, which goes to its participant's own topic. */
    public String topic() {
        return topic;
    }

    public Class<?> dataClass() {
        return dataClass;
    }

    /** Classpath location of the JSON Schema, also the file name users find in the contracts jar. */
    public String schemaResource() {
        return "/schemas/" + ceType + ".json";
    }

    public static Optional<EventType> ofCeType(String ceType) {
        return Arrays.stream(values()).filter(t -> t.ceType.equals(ceType)).findFirst();
    }

    public static EventType of(Class<?> dataClass) {
        return Arrays.stream(values()).filter(t -> t.dataClass == dataClass).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no event type for " + dataClass.getName()));
    }
}
