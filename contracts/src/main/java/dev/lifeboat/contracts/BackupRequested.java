package dev.lifeboat.contracts;

/** Asks for one backup of a source. Anyone may publish it; backupId is generated when absent. */
public record BackupRequested(String backupId, String sourceId, BackupType type, String policyId, String requestedBy) {

    public BackupRequested withBackupId(String id) {
        return new BackupRequested(id, sourceId, type, policyId, requestedBy);
    }
}
