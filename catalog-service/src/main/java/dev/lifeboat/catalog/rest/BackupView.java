package dev.lifeboat.catalog.rest;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.lifeboat.catalog.domain.Backup;
import dev.lifeboat.catalog.domain.BackupHistory;
import dev.lifeboat.catalog.domain.BackupStatus;
import dev.lifeboat.contracts.BackupType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.time.Instant;
import java.util.List;

/** A backup as the API shows it. Fields no event has reported yet are null. */
public record BackupView(
        String backupId,
        String sourceId,
        String policyId,
        BackupType type,
        BackupStatus status,
        String requestedBy,
        Instant requestedAt,
        Instant startedAt,
        @Schema(description = "when the backup reached COMPLETED or FAILED")
        Instant completedAt,
        Long durationMs,
        Long sizeBytes,
        Long rawBytes,
        String sha256,
        BackupLocation location,
        @Schema(description = "every place the backup is stored: PRIMARY, and OFFSITE where the policy names a "
                + "second destination, each with its state")
        List<StoredLocation> locations,
        Failure failure,
        Progress progress,
        String workerId,
        @Schema(description = "when retention expired the backup (BackupsExpired); it stays restorable until deleted")
        Instant expiredAt,
        @Schema(description = "when storage-worker deleted the backup's objects (status DELETED)")
        Instant deletedAt,
        @Schema(description = "chunked backups: the chain and the backup this one was taken against")
        Chain chain,
        @Schema(description = "chunked backups: bytes read, bytes uploaded and the dedup ratio (read / uploaded)")
        Transfer transfer,
        @Schema(description = "the verdict of the last conclusive verification: QUICK_OK, FULL_OK or FAILED (found "
                + "corrupt: not restorable, not counted by retention), with its time; unreadableAt/unreadableProblems: "
                + "the newest verification that could not read the object store, which changes no verdict")
        Verification verification,
        @Schema(description = "logical (pg_dump of one database) or physical (base backup of the whole cluster); null "
                + "for backups reported before physical backups existed, which are logical")
        String method,
        @Schema(description = "physical backups: the cluster's system identifier and major version, and where the "
                + "backup sits in its WAL (recovery starts at startLsn on timeline, segment startWalSegment, and is "
                + "consistent after stopLsn)")
        Physical physical,
        Instant updatedAt,
        @JsonInclude(JsonInclude.Include.NON_NULL)
        @Schema(description = "the backup's events, oldest first; only on GET /backups/{id}")
        List<EventView> events) {

    public record Failure(String stage, String reason) {
    }

    public record Progress(String phase, Long bytesDone, Integer percent) {
    }

    public record Chain(String chainId, String parentBackupId, BackupType requestedType, Boolean promotedToFull) {
    }

    public record Transfer(Long bytesRead, Long bytesUploaded, Long chunksTotal, Long chunksUploaded,
                           Double dedupRatio) {
    }

    public record Physical(String systemIdentifier, String pgVersion, Integer timeline, String startLsn,
                           String stopLsn, String startWalSegment, Instant startTime, Instant stopTime) {
    }

    public record Verification(String state, Instant verifiedAt, String problems,
                               @JsonInclude(JsonInclude.Include.NON_NULL) Instant unreadableAt,
                               @JsonInclude(JsonInclude.Include.NON_NULL) String unreadableProblems) {
    }

    public static BackupView of(Backup b) {
        return of(b, null);
    }

    public static BackupView of(BackupHistory h) {
        return of(h.backup(), h.events().stream().map(EventView::of).toList());
    }

    private static BackupView of(Backup b, List<EventView> events) {
        Failure failure = b.failureStage == null && b.failureReason == null ? null
                : new Failure(b.failureStage, b.failureReason);
        Progress progress = b.progressPhase == null ? null
                : new Progress(b.progressPhase, b.progressBytes, b.progressPercent);
        Chain chain = b.chainId == null ? null
                : new Chain(b.chainId, b.parentBackupId, b.requestedType, b.promotedToFull);
        Transfer transfer = b.bytesRead == null ? null
                : new Transfer(b.bytesRead, b.bytesUploaded, b.chunksTotal, b.chunksUploaded,
                b.bytesUploaded == null || b.bytesUploaded == 0 ? null : (double) b.bytesRead / b.bytesUploaded);
        Verification verification = b.verification == null && b.unreadableAt == null ? null
                : new Verification(b.verification, b.verifiedAt, b.verificationProblems, b.unreadableAt,
                b.unreadableProblems);
        Physical physical = b.physicalStartLsn == null ? null
                : new Physical(b.physicalSystemIdentifier, b.physicalPgVersion, b.physicalTimeline,
                b.physicalStartLsn, b.physicalStopLsn, b.physicalStartWalSegment, b.physicalStartTime,
                b.physicalStopTime);
        return new BackupView(b.backupId, b.sourceId, b.policyId, b.type, b.status, b.requestedBy, b.requestedAt,
                b.startedAt, b.completedAt, b.durationMs, b.sizeBytes, b.rawBytes, b.sha256, BackupLocation.of(b),
                StoredLocation.of(b), failure, progress, b.workerId, b.expiredAt, b.deletedAt, chain, transfer, verification,
                b.method, physical, b.updatedAt, events);
    }
}
