package dev.lifeboat.storage.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.blob.ObjectTooLargeException;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.ManifestMismatchException;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.VerificationReport;
import dev.lifeboat.storage.messaging.BackupEventPublisher;
import dev.lifeboat.storage.repository.DeletedBackupRepository;
import dev.lifeboat.storage.repository.RestorableBackupRepository;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.repository.SealedBackupRepository;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Full verification of sealed chunked backups: the manifest must still be the one sealed (its SHA-256 as sealing read
 * it, naming this backup and chain), then every chunk is read, authenticated (AES-GCM tag) and hashed. On
 * demand over HTTP and, when {@code lifeboat.storage.full-verify.every} is set, on a schedule over every sealed
 * backup that was not deleted; and for a recovery's VerifyBackup. Each run records its verdict in
 * {@code storage.backup_verification} (what PrepareRestore and the expiry check read) and emits BackupVerified
 * (level FULL), which scheduler-service's retention and the catalog read. Only a proven integrity failure is
 * CORRUPT; a store that cannot be read now (after the store's retries), or a manifest larger than the manifest cap
 * ({@code lifeboat.repository.max-manifest-bytes}), gives UNREADABLE, which changes no verdict.
 */
@ApplicationScoped
public class FullVerificationService {
    private static final Logger LOG = Logger.getLogger(FullVerificationService.class);

    private final Repositories repositories;
    private final SealedBackupRepository sealed;
    private final DeletedBackupRepository deletions;
    private final RestorableBackupRepository restorable;
    private final BackupEventPublisher publisher;
    private final StorageMetrics metrics;
    private final Clock clock = Clock.systemUTC();

    public FullVerificationService(Repositories repositories, SealedBackupRepository sealed,
                                   DeletedBackupRepository deletions, RestorableBackupRepository restorable,
                                   BackupEventPublisher publisher, StorageMetrics metrics) {
        this.repositories = repositories;
        this.sealed = sealed;
        this.deletions = deletions;
        this.restorable = restorable;
        this.publisher = publisher;
        this.metrics = metrics;
    }

    /**
     * The report of one full verification, as the HTTP API answers it. {@code outcome}: PASSED, CORRUPT (not
     * usable for restore) or UNREADABLE (the store could not be read now; the verdict before it stands).
     */
    public record Result(String backupId, String level, boolean ok, String outcome, List<ProblemView> problems,
                         long chunksChecked, long bytesChecked, long durationMs) {
    }

    public record ProblemView(String file, String chunkId, String what) {
    }

    /** The sealed (completed, chunked, not deleted) backup, if there is one by that id. */
    public Optional<BackupCompleted> sealedBackup(String backupId) {
        UUID id;
        try {
            id = UUID.fromString(backupId);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        return sealed.find(id).filter(s -> s.outcome() == SealedBackup.Outcome.COMPLETED)
                .filter(s -> deletions.find(id).isEmpty())
                .map(FullVerificationService::completedOf)
                .filter(c -> c.repository() != null);
    }

    /**
     * Reads every chunk of {@code backup}, records the verdict where restore selection and retention read it, emits
     * BackupVerified and returns the report. The record comes first: an event is never ahead of the verdict.
     */
    @WithSpan("FullVerificationService.verify")
    public Result verify(BackupCompleted backup) {
        long started = System.nanoTime();
        Result result = run(backup, started);
        Instant at = clock.instant();
        List<String> problems = result.problems().stream().map(p -> SealService.describe(
                new VerificationReport.Problem(p.file(), p.chunkId(), p.what()))).toList();
        restorable.recordVerification(UUID.fromString(backup.backupId()), BackupVerified.FULL, result.outcome(),
                problems, at);
        publisher.publish(new BackupVerified(backup.backupId(), backup.sourceId(), BackupVerified.FULL, result.ok(),
                problems, at, result.outcome()));
        switch (result.outcome()) {
            case BackupVerified.PASSED -> LOG.infof("backup %s passed full verification: %d chunks, %d bytes in %d ms",
                    backup.backupId(), result.chunksChecked(), result.bytesChecked(), result.durationMs());
            case BackupVerified.UNREADABLE -> LOG.warnf("backup %s could not be fully verified now, the object "
                    + "store did not answer (its verdict is unchanged; the next run tries again): %s",
                    backup.backupId(), problems);
            default -> {
                metrics.failed("FULL_VERIFY");
                LOG.warnf("backup %s FAILED full verification, it is no longer offered for restore nor counted by "
                        + "retention: %s", backup.backupId(), problems);
            }
        }
        return result;
    }

    private Result run(BackupCompleted backup, long started) {
        String where = "s3://" + backup.bucket() + "/" + backup.manifestKey();
        Optional<ManifestLocation> at = ManifestLocation.parse(backup.manifestKey());
        if (at.isEmpty()) {
            return failed(backup, started, BackupVerified.CORRUPT, "manifest key " + where
                    + " is not a chunked-repository manifest key");
        }
        Optional<Repository> repository;
        Optional<Manifest> manifest;
        try {
            repository = repositories.open(backup.bucket(), at.get().prefix());
            if (repository.isEmpty()) {
                return failed(backup, started, BackupVerified.CORRUPT, "no backup repository at s3://"
                        + backup.bucket() + "/" + at.get().prefix());
            }
            // the manifest verified is the one sealed: one replaced in the bucket fails, with the reason
            manifest = repository.get().sealedManifest(at.get().chainId(), at.get().backupId(), backup.sha256());
        } catch (ManifestMismatchException e) {
            return failed(backup, started, BackupVerified.CORRUPT, e.getMessage());
        } catch (ObjectTooLargeException e) {
            // a manifest over the cap is not read, which proves nothing about the backup: its verdict stands
            return failed(backup, started, BackupVerified.UNREADABLE, e.getMessage()
                    + " (environment LIFEBOAT_MAX_MANIFEST_BYTES)");
        } catch (RuntimeException e) {
            // the store's retries are spent, or the master key does not open the repository (configuration):
            // the manifest cannot be read now, which proves nothing about the backup's bytes
            return failed(backup, started, BackupVerified.UNREADABLE, "manifest " + where
                    + " unreadable now: " + e);
        }
        if (manifest.isEmpty()) {
            return failed(backup, started, BackupVerified.CORRUPT, "manifest " + where + " does not exist");
        }
        VerificationReport report = repository.get().verifier().full(manifest.get());
        metrics.verifiedBytes(report.bytesChecked());
        List<VerificationReport.Problem> shown = report.verdict() == VerificationReport.Verdict.UNREADABLE
                ? report.unreadable() : report.problems();
        return new Result(backup.backupId(), BackupVerified.FULL, report.ok(), report.verdict().name(),
                shown.stream().map(p -> new ProblemView(p.file(), p.chunkId(), p.what())).toList(),
                report.chunksChecked(), report.bytesChecked(), (System.nanoTime() - started) / 1_000_000);
    }

    private static Result failed(BackupCompleted backup, long started, String outcome, String what) {
        return new Result(backup.backupId(), BackupVerified.FULL, false, outcome,
                List.of(new ProblemView(null, null, what)), 0, 0, (System.nanoTime() - started) / 1_000_000);
    }

    /** Full verification of every sealed chunked backup; off unless lifeboat.storage.full-verify.every is set. */
    @Scheduled(identity = "full-verify", every = "${lifeboat.storage.full-verify.every:off}",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void verifyAll() {
        List<SealedBackup> backups;
        try {
            backups = sealed.completedNotDeleted();
        } catch (RuntimeException e) {
            LOG.warnf("scheduled full verification skipped: %s", e.getMessage());
            return;
        }
        int bad = 0;
        int unreadable = 0;
        int checked = 0;
        for (SealedBackup s : backups) {
            BackupCompleted c = completedOf(s);
            if (c.repository() == null || deletions.find(s.backupId()).isPresent()) {
                continue;
            }
            try {
                checked++;
                switch (verify(c).outcome()) {
                    case BackupVerified.CORRUPT -> bad++;
                    case BackupVerified.UNREADABLE -> unreadable++;
                    default -> { }
                }
            } catch (RuntimeException e) {
                LOG.warnf("scheduled full verification of backup %s did not run: %s", s.backupId(), e.getMessage());
            }
        }
        LOG.infof("scheduled full verification: %d backups checked, %d corrupt, %d unreadable now", checked, bad,
                unreadable);
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
