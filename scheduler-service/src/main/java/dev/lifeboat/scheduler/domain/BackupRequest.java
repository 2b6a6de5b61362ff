package dev.lifeboat.scheduler.domain;

import dev.lifeboat.contracts.BackupType;
import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.UUID;

@Entity
@Table(name = "backup_request")
public class BackupRequest extends PanacheEntityBase {
    @Id
    @Column(name = "backup_id")
    public UUID backupId;
    @Column(name = "source_id")
    public String sourceId;
    @Column(name = "policy_id")
    public String policyId;
    @Enumerated(EnumType.STRING)
    @Column(name = "backup_type")
    public BackupType type;
    @Column(name = "requested_by")
    public String requestedBy;
    @Column(name = "requested_at")
    public Instant requestedAt;
    @Enumerated(EnumType.STRING)
    public BackupStatus status;
    @Column(name = "completed_at")
    public Instant completedAt;
    @Column(name = "size_bytes")
    public Long sizeBytes;
    @Column(name = "failure_reason")
    public String failureReason;
    /** When retention decided this backup is no longer kept (BackupsExpired was written to the outbox). */
    @Column(name = "expired_at")
    public Instant expiredAt;
    /** The repository chain of a completed chunked backup; null for a single archive or an older row. */
    @Column(name = "chain_id")
    public String chainId;
    /** The backup this one was taken against (BackupCompleted.repository.parentBackupId); null for a FULL. */
    @Column(name = "parent_backup_id")
    public String parentBackupId;
    /** The latest conclusive verification: PASSED or CORRUPT (BackupVerified.outcome); null when none ran. */
    @Column(name = "verdict")
    public String verdict;
    /** QUICK or FULL: the level of {@link #verdict}. */
    @Column(name = "verdict_level")
    public String verdictLevel;
    /** When the verification that gave {@link #verdict} ran; a verdict older than this one changes nothing. */
    @Column(name = "verdict_at")
    public Instant verdictAt;
    /** The watchdog's clock: set by the database on insert, moved on each re-request. */
    @Column(name = "last_requested_at", insertable = false)
    public Instant lastRequestedAt;
    /** The last heartbeat (progress event or SnapshotCreated), its phase and the worker that sent it. */
    @Column(name = "last_progress_at")
    public Instant lastProgressAt;
    @Column(name = "progress_phase")
    public String progressPhase;
    @Column(name = "progress_worker")
    public String progressWorker;
    /** How many times the watchdog requested the backup again. */
    @Column(name = "rerequests", insertable = false)
    public int rerequests;
}
