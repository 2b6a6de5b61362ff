package dev.lifeboat.scheduler.service;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.scheduler.domain.BackupRequest;
import dev.lifeboat.scheduler.domain.BackupStatus;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.UUID;

/**
 * Records backup outcomes on the request rows. Idempotent by backup id: an outcome the row already has changes
 * nothing, so redelivered events are harmless. A completion also applies the policy's retention in the same
 * transaction, so the recorded completion and the BackupsExpired it causes commit together.
 */
@ApplicationScoped
public class BackupResultService {
    private static final Logger LOG = Logger.getLogger(BackupResultService.class);

    public enum Outcome { RECORDED, DUPLICATE, IGNORED }

    @Inject
    RetentionService retention;

    @WithTransaction
    @WithSpan("BackupResultService.completed")
    public Uni<Outcome> completed(BackupCompleted c, String publisher) {
        UUID id = UUID.fromString(c.backupId());
        return BackupRequest.<BackupRequest>findById(id).chain(row -> {
            if (row != null && (row.status == BackupStatus.COMPLETED || row.status == BackupStatus.EXPIRED)) {
                return Uni.createFrom().item(Outcome.DUPLICATE);
            }
            BackupRequest r = row != null ? row : unrequested(id, c, publisher);
            r.status = BackupStatus.COMPLETED;
            r.completedAt = c.completedAt();
            r.sizeBytes = c.sizeBytes();
            r.failureReason = null;
            // the worker may have taken a FULL where an INCREMENTAL was asked for (no chain yet): record what it did
            r.type = c.type();
            // the chain as the repository wrote it: what retention keeps a backup's dependencies by
            r.chainId = c.repository() != null ? c.repository().chainId() : null;
            r.parentBackupId = c.repository() != null ? c.repository().parentBackupId() : null;
            if (r.policyId == null) {
                r.policyId = c.policyId();
            }
            Uni<Void> recorded = r.persist().chain(Panache::flush);
            return r.policyId == null
                    ? recorded.replaceWith(Outcome.RECORDED)
                    : recorded.chain(() -> retention.expire(r.policyId, c.backupId())).replaceWith(Outcome.RECORDED);
        });
    }

    @WithTransaction
    @WithSpan("BackupResultService.failed")
    public Uni<Outcome> failed(BackupFailed f) {
        return BackupRequest.<BackupRequest>findById(UUID.fromString(f.backupId())).chain(row -> {
            if (row == null) {
                // without its request the scheduler knows nothing useful about it; the catalog records it
                LOG.debugf("failure of backup %s that the scheduler did not request: ignored", f.backupId());
                return Uni.createFrom().item(Outcome.IGNORED);
            }
            if (row.status != BackupStatus.REQUESTED) {
                return Uni.createFrom().item(Outcome.DUPLICATE);
            }
            row.status = BackupStatus.FAILED;
            row.failureReason = f.stage() + ": " + f.reason();
            return row.persist().replaceWith(Outcome.RECORDED);
        });
    }

    /** A completion of a backup published outside the scheduler (another system's BackupRequested). */
    private static BackupRequest unrequested(UUID id, BackupCompleted c, String publisher) {
        BackupRequest r = new BackupRequest();
        r.backupId = id;
        r.sourceId = c.sourceId();
        r.requestedBy = "external:" + publisher;
        r.requestedAt = c.startedAt() != null ? c.startedAt() : c.completedAt();
        return r;
    }
}
