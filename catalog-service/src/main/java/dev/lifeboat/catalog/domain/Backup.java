package dev.lifeboat.catalog.domain;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupCopied;
import dev.lifeboat.contracts.BackupCopyFailed;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.ExpiryRevoked;
import dev.lifeboat.contracts.PhysicalBackupInfo;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.RepositoryStats;
import dev.lifeboat.contracts.BackupVerified;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.List;

/**
 * One backup as the catalog knows it, folded from its events in whatever order they arrive. Three rules make
 * the fold independent of arrival order: the status only moves forward ({@link BackupStatus#advanceTo}),
 * descriptive fields keep the first value any event gives them, and the two times every event can estimate
 * (requested, started) keep the earliest.
 */
@Entity
@Table(name = "backup")
public class Backup {
    @Id
    public String backupId;
    public String sourceId;
    public String policyId;
    @Enumerated(EnumType.STRING)
    public BackupType type;
    @Enumerated(EnumType.STRING)
    public BackupStatus status;
    public String requestedBy;
    public Instant requestedAt;
    public Instant startedAt;
    public Instant completedAt;
    public Long durationMs;
    public Long sizeBytes;
    public Long rawBytes;
    public String sha256;
    public String bucket;
    public String objectKey;
    public String manifestKey;
    public String failureStage;
    public String failureReason;
    public String progressPhase;
    public Long progressBytes;
    public Integer progressPercent;
    public String workerId;
    /** When retention expired the backup (BackupsExpired), and when its objects were deleted (BackupDeleted). */
    public Instant expiredAt;
    public Instant deletedAt;
    /** Chunked backups: the chain, the backup it was taken against, and what it read and uploaded. */
    public String chainId;
    public String parentBackupId;
    @Enumerated(EnumType.STRING)
    public BackupType requestedType;
    public Boolean promotedToFull;
    public Long bytesRead;
    public Long bytesUploaded;
    public Long chunksTotal;
    public Long chunksUploaded;
    /** logical or physical (null: reported before physical backups existed, so logical). */
    public String method;
    /** A physical base backup's place in its cluster's WAL (SnapshotCreated.physical). */
    public String physicalSystemIdentifier;
    public String physicalPgVersion;
    public Integer physicalTimeline;
    public String physicalStartLsn;
    public String physicalStopLsn;
    public String physicalStartWalSegment;
    public Instant physicalStartTime;
    public Instant physicalStopTime;
    /** QUICK_OK, FULL_OK or FAILED (found corrupt): a FAILED backup is never offered for restore. */
    public String verification;
    public Instant verifiedAt;
    public String verificationProblems;
    /** The newest verification that could not read the store: no verdict, shown apart from the one above. */
    public Instant unreadableAt;
    public String unreadableProblems;
    /**
     * The offsite copy (the policy's second destination): PENDING once SnapshotCreated names it, then COPIED or
     * FAILED as storage-worker reports, DELETED when the expired backup's offsite manifest was deleted.
     */
    public String offsiteBucket;
    public String offsitePrefix;
    public String offsiteManifestKey;
    public String offsiteState;
    public String offsiteVerification;
    public String offsiteReason;
    public Long offsiteChunksCopied;
    public Long offsiteBytesCopied;
    public Instant offsiteAt;
    public Instant updatedAt;

    public static final String OFFSITE_PENDING = "PENDING";
    public static final String OFFSITE_COPIED = "COPIED";
    public static final String OFFSITE_FAILED = "FAILED";
    public static final String OFFSITE_DELETED = "DELETED";

    /** Phases of a running backup, in the order the snapshot-worker goes through them. */
    private static final List<String> PHASES = List.of("DUMPING", "UPLOADING");

    /** Folds one event (seen for the first time) into this backup. */
    public void apply(CatalogEvent event, Instant now) {
        switch (event.data()) {
            case BackupRequested r -> requested(r, event.occurredAt());
            case BackupProgress p -> progress(p, event.occurredAt());
            case SnapshotCreated s -> snapshotCreated(s, event.occurredAt());
            case BackupCompleted c -> completed(c, event.occurredAt());
            case BackupFailed f -> failed(f, event.occurredAt());
            case BackupsExpired x -> expired(x, event.occurredAt());
            case ExpiryRevoked x -> expiryRevoked(x, event.occurredAt());
            case BackupDeleted d -> deleted(d, event.occurredAt());
            case BackupVerified v -> verified(v, event.occurredAt());
            case BackupCopied c -> copied(c, event.occurredAt());
            case BackupCopyFailed f -> copyFailed(f, event.occurredAt());
            default -> throw new IllegalArgumentException("not a backup event: " + event.type());
        }
        updatedAt = now;
    }

    private void requested(BackupRequested r, Instant time) {
        describe(r.sourceId(), r.policyId(), r.type());
        requestedBy = fill(requestedBy, r.requestedBy());
        requestedAt = earliest(requestedAt, time);
        status = advance(BackupStatus.REQUESTED);
    }

    private void progress(BackupProgress p, Instant time) {
        describe(p.sourceId(), null, null);
        workerId = fill(workerId, p.workerId());
        // a progress report is sent while the backup runs, so its time bounds the start from above
        requestedAt = earliest(requestedAt, time);
        startedAt = earliest(startedAt, time);
        if (isFurther(p)) {
            progressPhase = p.phase();
            progressBytes = p.bytesDone();
            progressPercent = p.percent();
        }
        status = advance(BackupStatus.RUNNING);
    }

    private void snapshotCreated(SnapshotCreated s, Instant time) {
        describe(s.sourceId(), s.policyId(), s.type());
        // the worker's type is what the backup really is (a request may have been promoted to FULL)
        type = s.type();
        chain(s.repository());
        workerId = fill(workerId, s.workerId());
        archive(s.bucket(), s.objectKey(), s.sizeBytes(), s.rawBytes(), s.sha256());
        requestedAt = earliest(requestedAt, s.startedAt() != null ? s.startedAt() : time);
        startedAt = earliest(startedAt, s.startedAt());
        status = advance(BackupStatus.SNAPSHOT_CREATED);
        physical(s.method(), s.physical());
        if (s.offsite() != null) {
            offsiteBucket = fill(offsiteBucket, s.offsite().bucket());
            offsitePrefix = fill(offsitePrefix, s.offsite().prefix());
            offsiteState = fill(offsiteState, OFFSITE_PENDING);
        }
    }

    /** A copy that succeeded stands, whatever failure report of an earlier attempt arrives after it. */
    private void copied(BackupCopied c, Instant time) {
        describe(c.sourceId(), c.policyId(), null);
        offsiteBucket = c.bucket();
        offsitePrefix = c.prefix();
        offsiteManifestKey = c.manifestKey();
        offsiteVerification = c.verification();
        offsiteChunksCopied = c.chunksCopied();
        offsiteBytesCopied = c.bytesCopied();
        offsiteReason = null;
        offsiteAt = c.copiedAt() != null ? c.copiedAt() : time;
        if (!OFFSITE_DELETED.equals(offsiteState)) {
            offsiteState = OFFSITE_COPIED;
        }
        if (status == null) {
            status = BackupStatus.REQUESTED;
        }
    }

    private void copyFailed(BackupCopyFailed f, Instant time) {
        describe(f.sourceId(), f.policyId(), null);
        offsiteBucket = fill(offsiteBucket, f.bucket());
        offsitePrefix = fill(offsitePrefix, f.prefix());
        if (offsiteState == null || OFFSITE_PENDING.equals(offsiteState) || OFFSITE_FAILED.equals(offsiteState)) {
            offsiteState = OFFSITE_FAILED;
            offsiteReason = f.reason();
            offsiteAt = f.failedAt() != null ? f.failedAt() : time;
        }
        if (status == null) {
            status = BackupStatus.REQUESTED;
        }
    }

    private void completed(BackupCompleted c, Instant time) {
        describe(c.sourceId(), c.policyId(), c.type());
        type = c.type();
        chain(c.repository());
        if (c.verification() != null && verification == null) {
            verification = c.verification();
            verifiedAt = earliest(verifiedAt, c.completedAt() != null ? c.completedAt() : time);
        }
        // rawBytes is optional in BackupCompleted: absent reads as 0
        archive(c.bucket(), c.objectKey(), c.sizeBytes(), c.rawBytes() > 0 ? c.rawBytes() : null, c.sha256());
        manifestKey = fill(manifestKey, c.manifestKey());
        requestedAt = earliest(requestedAt, c.startedAt() != null ? c.startedAt() : time);
        startedAt = earliest(startedAt, c.startedAt());
        status = advance(BackupStatus.COMPLETED);
        // a backup deleted before its BackupCompleted arrived stays DELETED but still learns when it completed
        if (status == BackupStatus.COMPLETED || status == BackupStatus.DELETED && failureStage == null) {
            completedAt = fill(completedAt, c.completedAt() != null ? c.completedAt() : time);
            durationMs = fill(durationMs, c.durationMs());
        }
    }

    private void failed(BackupFailed f, Instant time) {
        describe(f.sourceId(), null, null);
        requestedAt = earliest(requestedAt, time);
        status = advance(BackupStatus.FAILED);
        // a backup that completed first stays completed; its history still shows the failure report
        if (status == BackupStatus.FAILED) {
            failureStage = fill(failureStage, f.stage());
            failureReason = fill(failureReason, f.reason());
            completedAt = fill(completedAt, f.failedAt() != null ? f.failedAt() : time);
        }
    }

    /**
     * Retention decided to expire the backup: recorded in its history and as {@code expiredAt}; the status does
     * not change until storage-worker reports the deletion (a backup that is expired but not yet deleted can
     * still be restored).
     */
    private void expired(BackupsExpired x, Instant time) {
        describe(x.sourceId(), x.policyId(), null);
        expiredAt = earliest(expiredAt, x.decidedAt() != null ? x.decidedAt() : time);
        if (status == null) {
            status = BackupStatus.REQUESTED;
        }
    }

    /**
     * The scheduler took an expiry back (the backup passed a full verification after it was expired and its policy
     * keeps it): {@code expiredAt} is cleared unless a later expiry decision came after the revocation.
     */
    private void expiryRevoked(ExpiryRevoked x, Instant time) {
        describe(x.sourceId(), x.policyId(), null);
        Instant revokedAt = x.revokedAt() != null ? x.revokedAt() : time;
        if (expiredAt != null && !expiredAt.isAfter(revokedAt)) {
            expiredAt = null;
        }
        if (status == null) {
            status = BackupStatus.REQUESTED;
        }
    }

    private void deleted(BackupDeleted d, Instant time) {
        describe(d.sourceId(), d.policyId(), null);
        deletedAt = earliest(deletedAt, d.deletedAt() != null ? d.deletedAt() : time);
        status = advance(BackupStatus.DELETED);
        if (offsiteManifestKey != null && d.deletedObjects() != null
                && d.deletedObjects().contains("s3://" + offsiteBucket + "/" + offsiteManifestKey)) {
            offsiteState = OFFSITE_DELETED;
        }
    }

    /**
     * The newest conclusive verification decides (a full verify after the quick one at sealing, or a later re-run).
     * One that could not read the store is no verdict: the newest such is kept apart and the verdict stands.
     */
    private void verified(BackupVerified v, Instant time) {
        describe(v.sourceId(), null, null);
        Instant at = v.verifiedAt() != null ? v.verifiedAt() : time;
        if (!v.conclusive()) {
            if (unreadableAt == null || !at.isBefore(unreadableAt)) {
                unreadableAt = at;
                unreadableProblems = v.problems().isEmpty() ? null : String.join("; ", v.problems());
            }
        } else if (verifiedAt == null || !at.isBefore(verifiedAt)) {
            verifiedAt = at;
            verification = !v.ok() ? "FAILED" : BackupVerified.FULL.equals(v.level()) ? "FULL_OK" : "QUICK_OK";
            verificationProblems = v.problems().isEmpty() ? null : String.join("; ", v.problems());
        }
        if (status == null) {
            status = BackupStatus.REQUESTED;
        }
    }

    private void chain(RepositoryStats r) {
        if (r == null) {
            return;
        }
        chainId = fill(chainId, r.chainId());
        parentBackupId = fill(parentBackupId, r.parentBackupId());
        requestedType = fill(requestedType, r.requestedType());
        promotedToFull = fill(promotedToFull, r.promotedToFull());
        bytesRead = fill(bytesRead, r.bytesRead());
        bytesUploaded = fill(bytesUploaded, r.bytesUploaded());
        chunksTotal = fill(chunksTotal, r.chunksTotal());
        chunksUploaded = fill(chunksUploaded, r.chunksUploaded());
    }

    /** One backup is taken once: a redelivered SnapshotCreated says the same, the first one's facts stay. */
    private void physical(String how, PhysicalBackupInfo p) {
        method = fill(method, how);
        if (p == null) {
            return;
        }
        physicalSystemIdentifier = fill(physicalSystemIdentifier, p.systemIdentifier());
        physicalPgVersion = fill(physicalPgVersion, p.pgVersion());
        physicalTimeline = fill(physicalTimeline, p.timeline() > 0 ? p.timeline() : null);
        physicalStartLsn = fill(physicalStartLsn, p.startLsn());
        physicalStopLsn = fill(physicalStopLsn, p.stopLsn());
        physicalStartWalSegment = fill(physicalStartWalSegment, p.startWalSegment());
        physicalStartTime = fill(physicalStartTime, p.startTime());
        physicalStopTime = fill(physicalStopTime, p.stopTime());
    }

    private void describe(String source, String policy, BackupType backupType) {
        sourceId = fill(sourceId, source);
        policyId = fill(policyId, policy);
        type = fill(type, backupType);
    }

    private void archive(String inBucket, String key, Long size, Long raw, String hash) {
        bucket = fill(bucket, inBucket);
        objectKey = fill(objectKey, key);
        sizeBytes = fill(sizeBytes, size);
        rawBytes = fill(rawBytes, raw);
        sha256 = fill(sha256, hash);
    }

    private BackupStatus advance(BackupStatus next) {
        return status == null ? next : status.advanceTo(next);
    }

    /** Progress reports may be reordered too: keep the one furthest along (phase first, then bytes). */
    private boolean isFurther(BackupProgress p) {
        if (progressPhase == null) {
            return true;
        }
        int phase = Integer.compare(PHASES.indexOf(p.phase()), PHASES.indexOf(progressPhase));
        return phase > 0 || phase == 0 && (progressBytes == null || p.bytesDone() >= progressBytes);
    }

    private static <T> T fill(T current, T candidate) {
        return current != null ? current : candidate;
    }

    private static Instant earliest(Instant current, Instant candidate) {
        if (current == null) {
            return candidate;
        }
        return candidate == null || !candidate.isBefore(current) ? current : candidate;
    }
}
