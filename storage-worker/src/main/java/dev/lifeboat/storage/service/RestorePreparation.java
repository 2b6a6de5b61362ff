package dev.lifeboat.storage.service;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.contracts.recovery.PrepareRestore;
import dev.lifeboat.contracts.recovery.RecoveryTarget;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.blob.ObjectTooLargeException;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.ManifestMismatchException;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.VerificationReport;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.storage.messaging.BackupEventPublisher;
import dev.lifeboat.storage.repository.DeletedBackupRepository;
import dev.lifeboat.storage.repository.RestorableBackupRepository;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.repository.SealedBackupRepository;
import io.opentelemetry.instrumentation.annotations.WithSpan;

/**
 * PrepareRestore: picks the backup a restore will read (the one named, or the newest usable one of the source),
 * checks that its manifest is still in the store and still the one sealed (its SHA-256 as sealing read it, naming
 * this backup and chain: a manifest replaced in the bucket records the backup as failing verification), and every
 * chunk is present with its size (quick verification),
 * and that it is young enough for the plan's RPO. A candidate failing the quick check is recorded as failed and
 * the next older one is tried. For a point-in-time restore to a time or an LSN, only a physical base backup
 * consistent by then (manifest {@code physical.stopTime} / {@code stopLsn} not after the target) can be the base:
 * the newest such is chosen, and none refuses with the earliest recoverable point. A manifest larger than the
 * manifest cap ({@code lifeboat.repository.max-manifest-bytes}) refuses the restore with that reason and records no
 * verdict: its size says nothing about its integrity, and raising the cap makes the backup restorable again.
 */
@ApplicationScoped
public class RestorePreparation {
    private static final Logger LOG = Logger.getLogger(RestorePreparation.class);

    private final SealedBackupRepository sealed;
    private final DeletedBackupRepository deletions;
    private final RestorableBackupRepository restorable;
    private final Repositories repositories;
    private final BackupEventPublisher publisher;

    public RestorePreparation(SealedBackupRepository sealed, DeletedBackupRepository deletions,
                              RestorableBackupRepository restorable, Repositories repositories,
                              BackupEventPublisher publisher) {
        this.sealed = sealed;
        this.deletions = deletions;
        this.restorable = restorable;
        this.repositories = repositories;
        this.publisher = publisher;
    }

    /** The backup chosen, or the reason there is none. */
    public sealed interface Outcome permits Chosen, Refused {
    }

    public record Chosen(BackupLocation backup, long backupAgeSeconds) implements Outcome {
        public Map<String, Object> result() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("backup", EventCodec.mapper().convertValue(backup, new TypeReference<Map<String, Object>>() {
            }));
            m.put("backupAgeSeconds", backupAgeSeconds);
            return m;
        }
    }

    public record Refused(String reason) implements Outcome {
    }

    @WithSpan("RestorePreparation.prepare")
    public Outcome prepare(PrepareRestore cmd) {
        try {
            return choose(cmd);
        } catch (ObjectTooLargeException e) {
            // like a store that cannot be read now: no verdict on the backup, and no older backup restored silently
            // in place of the one that cannot be read
            return new Refused("a manifest this restore needs cannot be read with this storage-worker's cap: "
                    + e.getMessage() + ". No backup was marked as failing verification; raise the cap (environment "
                    + "LIFEBOAT_MAX_MANIFEST_BYTES) and run the plan again, or name an older backup");
        }
    }

    private Outcome choose(PrepareRestore cmd) {
        Instant now = Instant.now();
        if (cmd.backupId() != null && !cmd.backupId().isBlank()) {
            return byId(cmd, now);
        }
        if (cmd.sourceId() == null || cmd.sourceId().isBlank()) {
            return new Refused("PrepareRestore names neither a backupId nor a sourceId");
        }
        List<UUID> candidates = restorable.usableOf(cmd.sourceId());
        if (candidates.isEmpty()) {
            return new Refused("no usable backup of source " + cmd.sourceId() + " (none completed, or all deleted "
                    + "or failed verification)");
        }
        RecoveryTarget pointInTime = pointInTime(cmd.recoveryTarget());
        List<String> skipped = new ArrayList<>();
        Manifest.Physical earliest = null;
        int endingAfter = 0;
        for (UUID id : candidates) {
            BackupCompleted c = completed(sealed.find(id).orElseThrow());
            if (pointInTime != null) {
                Optional<Manifest.Physical> physical = physical(c);
                if (physical.isEmpty()) {
                    skipped.add(c.backupId() + ": not a physical base backup (or its manifest is unreadable)");
                    continue;
                }
                earliest = physical.get();
                if (endsAfter(physical.get(), pointInTime)) {
                    endingAfter++;
                    continue;
                }
            }
            long age = ageSeconds(c, now);
            if (cmd.maxAgeSeconds() != null && tooOld(c, now, cmd.maxAgeSeconds())) {
                return new Refused("the newest usable backup of source " + cmd.sourceId() + " (" + c.backupId()
                        + ") is " + ageText(c, now) + " s old, older than the allowed " + cmd.maxAgeSeconds() + " s (RPO)"
                        + (skipped.isEmpty() ? "" : "; newer ones were unusable: " + String.join("; ", skipped)));
            }
            Optional<String> problem = check(c);
            if (problem.isEmpty()) {
                return new Chosen(location(c), age);
            }
            LOG.warnf("backup %s of source %s is not usable for restore: %s", c.backupId(), cmd.sourceId(),
                    problem.get());
            skipped.add(c.backupId() + ": " + problem.get());
        }
        if (pointInTime != null && endingAfter > 0) {
            return new Refused("no base backup of source " + cmd.sourceId() + " is consistent by "
                    + pointInTime.describe() + ": all " + endingAfter + " usable ones end after it; the earliest "
                    + "recoverable point is " + consistencyPoint(earliest)
                    + (skipped.isEmpty() ? "" : "; unusable: " + String.join("; ", skipped)));
        }
        return new Refused("no usable backup of source " + cmd.sourceId() + ": " + String.join("; ", skipped));
    }

    /** The targets a base backup must be consistent by: a time or an LSN (others are not positions we can order). */
    private static RecoveryTarget pointInTime(RecoveryTarget t) {
        if (t == null || t.kind() == null || (t.kind() != RecoveryTarget.Kind.TIME
                && t.kind() != RecoveryTarget.Kind.LSN)) {
            return null;
        }
        // the command is hostile input: a malformed target refuses nothing here and is refused by the restore
        return t.problem().isEmpty() ? t : null;
    }

    /** Whether recovery from this base backup becomes consistent only after the target (so it cannot stop there). */
    static boolean endsAfter(Manifest.Physical p, RecoveryTarget t) {
        if (t.kind() == RecoveryTarget.Kind.TIME) {
            return p.stopTime() == null || p.stopTime().isAfter(Instant.parse(t.value()));
        }
        return p.stopLsn() == null || Long.compareUnsigned(WalNames.parseLsn(p.stopLsn()),
                WalNames.parseLsn(t.value())) > 0;
    }

    private static String consistencyPoint(Manifest.Physical p) {
        return p.stopTime() + " (LSN " + p.stopLsn() + ", timeline " + p.timeline() + ")";
    }

    /**
     * The manifest's physical part: where the base backup sits in the source's WAL; empty for a logical backup, and
     * for a manifest that is not the one sealed (which {@link #check} then refuses with the reason).
     */
    private Optional<Manifest.Physical> physical(BackupCompleted c) {
        try {
            return ManifestLocation.parse(c.manifestKey())
                    .flatMap(at -> repositories.open(c.bucket(), at.prefix())
                            .flatMap(r -> r.sealedManifest(at.chainId(), at.backupId(), c.sha256())))
                    .map(Manifest::physical);
        } catch (ManifestMismatchException e) {
            return Optional.empty();
        }
    }

    private Outcome byId(PrepareRestore cmd, Instant now) {
        UUID id;
        try {
            id = UUID.fromString(cmd.backupId());
        } catch (IllegalArgumentException e) {
            return new Refused("backup id '" + cmd.backupId() + "' is not a UUID");
        }
        Optional<SealedBackup> seal = sealed.find(id);
        if (seal.isEmpty()) {
            return new Refused("backup " + id + " is unknown to storage-worker (never sealed)");
        }
        if (seal.get().outcome() != SealedBackup.Outcome.COMPLETED) {
            return new Refused("backup " + id + " did not complete (it failed verification when sealed)");
        }
        if (deletions.find(id).isPresent()) {
            return new Refused("backup " + id + " was deleted (retention)");
        }
        Optional<String> failed = restorable.failedVerification(id);
        if (failed.isPresent()) {
            return new Refused("backup " + id + " failed its latest " + failed.get());
        }
        BackupCompleted c = completed(seal.get());
        if (cmd.sourceId() != null && !cmd.sourceId().isBlank() && !cmd.sourceId().equals(c.sourceId())) {
            return new Refused("backup " + id + " belongs to source " + c.sourceId() + ", not " + cmd.sourceId());
        }
        long age = ageSeconds(c, now);
        if (cmd.maxAgeSeconds() != null && tooOld(c, now, cmd.maxAgeSeconds())) {
            return new Refused("backup " + id + " is " + ageText(c, now) + " s old, older than the allowed "
                    + cmd.maxAgeSeconds() + " s (RPO)");
        }
        RecoveryTarget pointInTime = pointInTime(cmd.recoveryTarget());
        if (pointInTime != null) {
            Optional<Manifest.Physical> physical = physical(c);
            if (physical.isEmpty()) {
                return new Refused("backup " + id + " is not a physical base backup (its manifest has no physical "
                        + "part, or is unreadable); a point-in-time restore needs one");
            }
            if (endsAfter(physical.get(), pointInTime)) {
                return new Refused("backup " + id + " is consistent only from " + consistencyPoint(physical.get())
                        + ", after the recovery target " + pointInTime.describe() + "; a restore from it cannot stop "
                        + "there: name an older backup (or \"latest\", which picks the newest one consistent by "
                        + "the target), or a later target");
            }
        }
        Optional<String> problem = check(c);
        return problem.<Outcome>map(p -> new Refused("backup " + id + " is not usable: " + p))
                .orElseGet(() -> new Chosen(location(c), age));
    }

    /** Empty when the manifest is in the store and its chunks pass the quick verification. */
    private Optional<String> check(BackupCompleted c) {
        Optional<ManifestLocation> at = ManifestLocation.parse(c.manifestKey());
        if (at.isEmpty()) {
            return Optional.of("manifest key " + c.manifestKey() + " is not a chunked-repository manifest key");
        }
        Optional<Repository> repository = repositories.open(c.bucket(), at.get().prefix());
        if (repository.isEmpty()) {
            return Optional.of("no backup repository at s3://" + c.bucket() + "/" + at.get().prefix());
        }
        Optional<Manifest> manifest;
        try {
            // the bucket is not trusted: the manifest restored is the one sealed, checked by the hash sealing read
            // a manifest over the cap is thrown on (ObjectTooLargeException): its size proves nothing
            manifest = repository.get().sealedManifest(at.get().chainId(), at.get().backupId(), c.sha256());
        } catch (ManifestMismatchException e) {
            return Optional.of(corrupt(c, e.getMessage()));
        }
        if (manifest.isEmpty()) {
            return Optional.of("manifest s3://" + c.bucket() + "/" + c.manifestKey() + " no longer exists");
        }
        VerificationReport report = repository.get().verifier().quick(manifest.get())
                .requireReadable("quick verification of backup " + c.backupId() + " before a restore");
        if (!report.ok()) {
            List<String> problems = report.problems().stream().map(SealService::describe).toList();
            recordCorrupt(c, problems);
            return Optional.of("quick verification failed: " + SealService.describe(report.problems(), 5));
        }
        return Optional.empty();
    }

    /** A manifest that is not the one sealed: the backup is recorded as failing verification, so no restore picks it. */
    private String corrupt(BackupCompleted c, String problem) {
        recordCorrupt(c, List.of(problem));
        return problem;
    }

    private void recordCorrupt(BackupCompleted c, List<String> problems) {
        Instant now = Instant.now();
        restorable.recordVerification(UUID.fromString(c.backupId()), BackupVerified.QUICK, BackupVerified.CORRUPT,
                problems, now);
        publisher.publish(new BackupVerified(c.backupId(), c.sourceId(), BackupVerified.QUICK, false, problems, now,
                BackupVerified.CORRUPT));
    }

    /** The location a restore reads, with the manifest's SHA-256 from the sealed record, which restorers require. */
    static BackupLocation location(BackupCompleted c) {
        ManifestLocation at = ManifestLocation.parse(c.manifestKey()).orElseThrow();
        return new BackupLocation(c.backupId(), c.sourceId(), c.bucket(), at.prefix(), at.chainId(), c.manifestKey(),
                c.completedAt(), c.sizeBytes(), c.rawBytes(), c.verification(), c.sha256());
    }

    private static boolean tooOld(BackupCompleted c, Instant now, long maxAgeSeconds) {
        return Duration.between(c.completedAt(), now).toMillis() > maxAgeSeconds * 1000;
    }

    private static long ageSeconds(BackupCompleted c, Instant now) {
        return Math.max(0, Duration.between(c.completedAt(), now).toSeconds());
    }

    private static String ageText(BackupCompleted c, Instant now) {
        return String.format(java.util.Locale.ROOT, "%.1f", Duration.between(c.completedAt(), now).toMillis() / 1000.0);
    }

    static BackupCompleted completed(SealedBackup seal) {
        try {
            return EventCodec.mapper().readValue(seal.eventData(), BackupCompleted.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored BackupCompleted of backup " + seal.backupId()
                    + " is unreadable: " + e.getOriginalMessage(), e);
        }
    }
}
