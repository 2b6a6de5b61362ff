package dev.lifeboat.storage.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.storage.repository.DeletedBackup;
import dev.lifeboat.storage.repository.DeletedBackupRepository;
import dev.lifeboat.storage.repository.OffsiteCopy;
import dev.lifeboat.storage.repository.OffsiteCopyRepository;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.repository.SealedBackupRepository;
import dev.lifeboat.storage.repository.StorageJob;
import dev.lifeboat.storage.config.GcConfig;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Deletes one backup that retention expired (BackupsExpired). A chunked backup loses its repository manifest, so it
 * no longer exists; the chunks it referenced are left to garbage collection ({@link GarbageCollectionService}), which
 * deletes them only after a grace period, since a backup in flight may still rely on them; a pass over the backup's
 * repository is queued with the deletion ({@code lifeboat.gc.after-expiry}); that pass also deletes the archived WAL
 * that no physical base backup left needs (WAL retention, see {@link GarbageCollectionService}). Where the manifest is comes from this
 * worker's own record of the seal (the stored BackupCompleted), never from the expiry event. The deletion is
 * stored once per backup, so a redelivered BackupsExpired deletes nothing twice and gets the same event back.
 */
@ApplicationScoped
public class DeletionService {
    private static final Logger LOG = Logger.getLogger(DeletionService.class);

    private final ObjectStore store;
    private final SealedBackupRepository sealed;
    private final DeletedBackupRepository deletions;
    private final OffsiteCopyRepository copies;
    private final StorageMetrics metrics;
    private final boolean gcAfterExpiry;
    private final Clock clock = Clock.systemUTC();

    public DeletionService(ObjectStore store, SealedBackupRepository sealed, DeletedBackupRepository deletions,
                           OffsiteCopyRepository copies, StorageMetrics metrics, GcConfig gc) {
        this.gcAfterExpiry = gc.afterExpiry();
        this.copies = copies;
        this.store = store;
        this.sealed = sealed;
        this.deletions = deletions;
        this.metrics = metrics;
    }

    /**
     * Deletes {@code backupId} (one of {@code expired.backupIds()}) or returns the deletion stored by an earlier
     * delivery; empty when this worker never sealed the backup, so there is nothing of its own to delete.
     * Throws on transient failures (object store or database): a retry deletes again, which is harmless.
     */
    @WithSpan("DeletionService.delete")
    public Optional<DeletedBackup> delete(BackupsExpired expired, String backupId) {
        Span.current().setAttribute("lifeboat.backup.id", backupId);
        UUID id = UUID.fromString(backupId);
        Optional<DeletedBackup> earlier = deletions.find(id);
        if (earlier.isPresent()) {
            LOG.infof("backup %s was already deleted at %s: re-emitting the same event %s", backupId,
                    earlier.get().deletedAt(), earlier.get().eventId());
            Span.current().setAttribute("lifeboat.redelivery", true);
            return earlier;
        }
        Optional<SealedBackup> seal = sealed.find(id);
        if (seal.isEmpty()) {
            LOG.infof("backup %s expired by policy %s was never sealed by this worker: skipped", backupId,
                    expired.policyId());
            return Optional.empty();
        }
        if (seal.get().outcome() != SealedBackup.Outcome.COMPLETED) {
            LOG.infof("backup %s expired by policy %s failed verification and has no manifest: skipped", backupId,
                    expired.policyId());
            return Optional.empty();
        }
        BackupCompleted completed = completedOf(seal.get());
        if (expired.sourceId() != null && !expired.sourceId().equals(completed.sourceId())) {
            LOG.warnf("backup %s expired by policy %s for source %s belongs to source %s: skipped, nothing deleted",
                    backupId, expired.policyId(), expired.sourceId(), completed.sourceId());
            return Optional.empty();
        }
        // a backup is its manifest alone; its chunks are left to garbage collection (after a grace period)
        store.delete(completed.bucket(), completed.manifestKey());
        Instant now = clock.instant();
        List<String> locations = new ArrayList<>(List.of("s3://" + completed.bucket() + "/"
                + completed.manifestKey()));
        // the offsite copy goes with it: its manifest, the only object that makes the copy exist
        Optional<OffsiteCopy> copy = copies.find(id).filter(c -> c.outcome() == OffsiteCopy.Outcome.COPIED);
        if (copy.isPresent()) {
            store.delete(copy.get().bucket(), copy.get().manifestKey());
            locations.add("s3://" + copy.get().bucket() + "/" + copy.get().manifestKey());
        }
        BackupDeleted event = new BackupDeleted(backupId, completed.sourceId(), expired.policyId(), locations, now);
        DeletedBackup candidate = new DeletedBackup(id, completed.sourceId(), expired.policyId(),
                UUID.fromString(Ids.eventId(backupId, EventType.BACKUP_DELETED)), EventCodec.encodeData(event), now);
        List<StorageJob.New> jobs = gcAfterExpiry
                ? GarbageCollectionService.Location.ofManifest(completed.bucket(), completed.manifestKey())
                        .map(at -> List.of(StorageJobRunner.gcJob(at))).orElse(List.of())
                : List.of();
        DeletedBackup deletion = deletions.record(candidate, jobs);
        if (deletion == candidate) {
            metrics.deleted();
            LOG.infof("backup %s deleted (policy %s: %s): %s", backupId, expired.policyId(), expired.reason(),
                    String.join(", ", locations));
        }
        return Optional.of(deletion);
    }

    private static BackupCompleted completedOf(SealedBackup seal) {
        try {
            return EventCodec.mapper().readValue(seal.eventData(), BackupCompleted.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored BackupCompleted of backup " + seal.backupId()
                    + " is unreadable: " + e.getOriginalMessage(), e);
        }
    }
}
