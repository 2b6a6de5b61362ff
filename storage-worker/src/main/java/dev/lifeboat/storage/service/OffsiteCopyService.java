package dev.lifeboat.storage.service;

import dev.lifeboat.contracts.BackupCopied;
import dev.lifeboat.contracts.BackupCopyFailed;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.OffsiteDestination;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.keys.WrongKeyException;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.ManifestMismatchException;
import dev.lifeboat.repository.snapshot.ReplicationException;
import dev.lifeboat.repository.snapshot.ReplicationResult;
import dev.lifeboat.repository.snapshot.Replicator;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.VerificationReport;
import dev.lifeboat.storage.repository.OffsiteCopy;
import dev.lifeboat.storage.repository.OffsiteCopyRepository;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.repository.StorageJob;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * Copies a sealed chunked backup to the offsite destination its SnapshotCreated names (the policy's second
 * destination, on the same object-store endpoint), then reads every chunk of the copy back from there (full
 * verification). The copy is a job queued with the seal and run by {@link StorageJobRunner}, off the sealing path.
 * The outcome is stored once per backup, so a redelivered SnapshotCreated re-emits the same event
 * and copies nothing again. A copy that cannot succeed (another repository at the destination, a damaged source,
 * a copy that fails verification) is a stored BackupCopyFailed; the primary backup stays COMPLETED either way.
 */
@ApplicationScoped
public class OffsiteCopyService {
    private static final Logger LOG = Logger.getLogger(OffsiteCopyService.class);

    private final Repositories repositories;
    private final OffsiteCopyRepository copies;
    private final Clock clock = Clock.systemUTC();

    public OffsiteCopyService(Repositories repositories, OffsiteCopyRepository copies) {
        this.repositories = repositories;
        this.copies = copies;
    }

    /** Whether {@code snapshot}, sealed as {@code verdict}, is to be copied offsite. */
    public static boolean wanted(SnapshotCreated snapshot, SealedBackup verdict) {
        return snapshot.offsite() != null && snapshot.repository() != null
                && verdict.outcome() == SealedBackup.Outcome.COMPLETED;
    }

    /**
     * The queued copy of {@code snapshot}, written with its seal and held until its BackupCompleted went out, so that
     * readers of the topic see the copy's outcome after it; its events go out keyed {@code eventKey}.
     */
    public static StorageJob.New job(SnapshotCreated snapshot, String eventKey) {
        return new StorageJob.New(StorageJob.Kind.OFFSITE_COPY, subject(snapshot), EventCodec.encodeData(snapshot),
                eventKey, true);
    }

    public static String subject(SnapshotCreated snapshot) {
        return "copy:" + snapshot.backupId();
    }

    /** The stored outcome of the copy of {@code backupId}, if it ran to an end. */
    public Optional<OffsiteCopy> outcome(String backupId) {
        return copies.find(UUID.fromString(backupId));
    }

    /**
     * Copies and verifies, or returns the outcome stored by an earlier delivery. Throws on transient failures
     * (object store or database): nothing is recorded then, and a retry skips the chunks already copied.
     */
    @WithSpan("OffsiteCopyService.copy")
    public OffsiteCopy copy(SnapshotCreated s) {
        Span.current().setAttribute("lifeboat.backup.id", s.backupId());
        UUID id = UUID.fromString(s.backupId());
        Optional<OffsiteCopy> earlier = copies.find(id);
        if (earlier.isPresent()) {
            LOG.infof("backup %s was already %s offsite at %s: re-emitting the same event %s", s.backupId(),
                    earlier.get().outcome(), earlier.get().copiedAt(), earlier.get().eventId());
            Span.current().setAttribute("lifeboat.redelivery", true);
            return earlier.get();
        }
        OffsiteDestination to = s.offsite();
        String where = "s3://" + to.bucket() + "/" + to.prefix();
        ManifestLocation at = ManifestLocation.parse(s.objectKey()).orElseThrow(() -> new IllegalStateException(
                "sealed backup " + s.backupId() + " has no repository manifest key: " + s.objectKey()));
        Instant started = clock.instant();
        Repository source = repositories.open(s.bucket(), at.prefix()).orElseThrow(() -> new IllegalStateException(
                "the repository of sealed backup " + s.backupId() + " disappeared from s3://" + s.bucket() + "/"
                        + at.prefix()));
        Optional<Manifest> manifest;
        try {
            // only the manifest sealed is copied: one replaced in the bucket since is refused
            manifest = source.sealedManifest(at.chainId(), at.backupId(), s.sha256());
        } catch (ManifestMismatchException e) {
            return record(failed(s, "copy to " + where + " refused: " + e.getMessage()));
        }
        // a manifest over the cap (ObjectTooLargeException) is thrown on and nothing recorded: the job is retried
        // until it gives up (reported, replayable), and copies once the cap is raised
        if (manifest.isEmpty()) {
            return record(failed(s, "the manifest of backup " + s.backupId() + " is gone from s3://" + s.bucket()
                    + "/" + s.objectKey() + " (deleted since sealing?): nothing to copy to " + where));
        }
        ReplicationResult result;
        try {
            result = new Replicator(source, repositories.masterKey())
                    .replicate(manifest.get(), repositories.store(), to.bucket(), to.prefix());
        } catch (ReplicationException | WrongKeyException e) {
            return record(failed(s, "copy to " + where + " refused: " + e.getMessage()));
        }
        if (!result.manifestSha256().equalsIgnoreCase(s.sha256())) {
            // the replicator reads the manifest again to copy its bytes: it must still be the one sealed
            return record(failed(s, "copy to " + where + " refused: the manifest copied has SHA-256 "
                    + result.manifestSha256() + ", not the sealed " + s.sha256() + " (replaced in the bucket "
                    + "while it was copied)"));
        }
        Manifest copied = result.destination().manifest(at.chainId(), at.backupId()).orElseThrow(() ->
                new IllegalStateException("the copied manifest of backup " + s.backupId() + " is not readable at "
                        + where));
        VerificationReport report = result.destination().verifier().full(copied)
                .requireReadable("full verification of the copy of backup " + s.backupId() + " at " + where);
        if (!report.ok()) {
            return record(failed(s, "the copy at " + where + " failed full verification: "
                    + report.problems().size() + " bad of " + report.chunksChecked() + " chunks: "
                    + SealService.describe(report.problems(), 5) + ". The offsite copy is not usable for restore; "
                    + "delete the damaged chunks there and replay the SnapshotCreated to copy them again"));
        }
        Instant now = clock.instant();
        BackupCopied event = new BackupCopied(s.backupId(), s.sourceId(), s.policyId(), to.bucket(), to.prefix(),
                result.manifestKey(), result.manifestSha256(), result.chunksTotal(), result.chunksCopied(),
                result.bytesCopied(), BackupCopied.FULL_OK, now, Duration.between(started, now).toMillis());
        OffsiteCopy stored = record(new OffsiteCopy(id, OffsiteCopy.Outcome.COPIED, to.bucket(), to.prefix(),
                result.manifestKey(), UUID.fromString(Ids.eventId(s.backupId(), OffsiteCopy.Outcome.COPIED.eventType())),
                EventCodec.encodeData(event), now));
        LOG.infof("backup %s copied to %s: %d of %d chunks (%d bytes) written, the rest were there; full "
                        + "verification of the copy passed (%d chunks, %d bytes)", s.backupId(), where,
                result.chunksCopied(), result.chunksTotal(), result.bytesCopied(), report.chunksChecked(),
                report.bytesChecked());
        return stored;
    }

    /** The copy was given up after transient failures: reported, not stored, so a replay tries again. */
    public BackupCopyFailed gaveUp(SnapshotCreated s, String reason) {
        return new BackupCopyFailed(s.backupId(), s.sourceId(), s.policyId(), s.offsite().bucket(),
                s.offsite().prefix(), reason, true, clock.instant());
    }

    private OffsiteCopy failed(SnapshotCreated s, String reason) {
        Instant now = clock.instant();
        LOG.warnf("backup %s: offsite copy failed: %s", s.backupId(), reason);
        BackupCopyFailed event = new BackupCopyFailed(s.backupId(), s.sourceId(), s.policyId(), s.offsite().bucket(),
                s.offsite().prefix(), reason, false, now);
        return new OffsiteCopy(UUID.fromString(s.backupId()), OffsiteCopy.Outcome.FAILED, s.offsite().bucket(),
                s.offsite().prefix(), null,
                UUID.fromString(Ids.eventId(s.backupId(), OffsiteCopy.Outcome.FAILED.eventType())),
                EventCodec.encodeData(event), now);
    }

    private OffsiteCopy record(OffsiteCopy copy) {
        return copies.record(copy);
    }
}
