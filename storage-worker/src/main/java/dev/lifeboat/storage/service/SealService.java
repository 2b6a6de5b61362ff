package dev.lifeboat.storage.service;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.keys.WrongKeyException;
import dev.lifeboat.repository.blob.ObjectNotFoundException;
import dev.lifeboat.repository.blob.ObjectTooLargeException;
import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.VerificationReport;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.repository.SealedBackup.Outcome;
import dev.lifeboat.storage.repository.SealedBackupRepository;
import dev.lifeboat.storage.repository.StorageJob;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Turns a SnapshotCreated into a verdict. The backup's manifest is checked by its SHA-256 and a quick verification of
 * its chunks (see {@link #verifyChunked}); a match is a BackupCompleted ("sealed": the repository manifest, written
 * last by the snapshot-worker, is what makes the backup exist), anything else a BackupFailed at stage VERIFY. The
 * verdict is stored once per backup, so a redelivered SnapshotCreated gets the same verdict back without any new
 * write; a sealed backup whose policy names an offsite destination gets its copy queued in the same transaction
 * (run off the sealing path, see {@link StorageJobRunner}). Before any of that, the event must be consistent with
 * itself ({@link #misplaced}): a key outside the source's repository or named for another backup gets a
 * BackupFailed that is not stored, and a backup id already sealed for another source gets no event at all. Then it must
 * be where the platform's configuration puts it ({@link DestinationGuard}: the bucket and repository its policy, or
 * without one the defaults, gives, and the policy's offsite destination or none), or it gets a BackupFailed that is not
 * stored, before anything is read there.
 */
@ApplicationScoped
public class SealService {
    public static final String STAGE_VERIFY = "VERIFY";
    public static final String VERIFICATION_QUICK_OK = "QUICK_OK";
    private static final Logger LOG = Logger.getLogger(SealService.class);
    private static final Pattern SOURCE_ID = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");

    private final Repositories repositories;
    private final SealedBackupRepository verdicts;
    private final DestinationGuard destinations;
    private final StorageMetrics metrics;
    private final Clock clock = Clock.systemUTC();

    public SealService(Repositories repositories, SealedBackupRepository verdicts, DestinationGuard destinations,
                       StorageMetrics metrics) {
        this.repositories = repositories;
        this.verdicts = verdicts;
        this.destinations = destinations;
        this.metrics = metrics;
    }

    /**
     * Verifies and seals one backup, or returns the verdict stored by an earlier delivery. Throws on
     * transient failures (object store or database unreachable): nothing is recorded then, so a retry starts over.
     * {@code eventKey} is the Kafka key the backup's later events (its offsite copy's) go out with.
     */
    @WithSpan("SealService.seal")
    public Optional<SealedBackup> seal(SnapshotCreated snapshot, String eventKey) {
        String backupId = snapshot.backupId();
        Span.current().setAttribute("lifeboat.backup.id", backupId);
        Optional<SealedBackup> earlier = verdicts.find(UUID.fromString(backupId));
        if (earlier.isPresent()) {
            String sealedFor = sourceOf(earlier.get());
            if (!Objects.equals(sealedFor, snapshot.sourceId())) {
                // another source's backup id: answering with any event would rewrite that backup's history
                metrics.sealRefused("SEALED_FOR_OTHER_SOURCE");
                LOG.warnf("SnapshotCreated names backup %s of source %s, but that backup was already %s for source "
                        + "%s: refused, no event", backupId, snapshot.sourceId(), earlier.get().outcome(), sealedFor);
                return Optional.empty();
            }
            LOG.infof("backup %s was already %s at %s: re-emitting the same event %s", backupId,
                    earlier.get().outcome(), earlier.get().sealedAt(), earlier.get().eventId());
            Span.current().setAttribute("lifeboat.redelivery", true);
            return earlier;
        }
        Optional<String> misplaced = misplaced(snapshot);
        if (misplaced.isPresent()) {
            // not recorded: the refusal must not stand in for the real backup of that id, should it arrive later
            metrics.sealRefused("KEY_OF_OTHER_SOURCE_OR_BACKUP");
            metrics.failed(STAGE_VERIFY);
            LOG.warnf("backup %s of source %s refused: %s", backupId, snapshot.sourceId(), misplaced.get());
            return Optional.of(failed(snapshot, misplaced.get()));
        }
        if (snapshot.repository() == null) {
            // not recorded, like a misplaced key: it must not stand in for a real backup of that id
            metrics.failed(STAGE_VERIFY);
            return Optional.of(failed(snapshot, "s3://" + snapshot.bucket() + "/" + snapshot.objectKey()
                    + " is not in a chunked repository (the SnapshotCreated has no 'repository'): single-archive "
                    + "backups are no longer sealed; take a new backup with a current snapshot-worker"));
        }
        Optional<DestinationGuard.Refused> elsewhere = destinations.check(snapshot);
        if (elsewhere.isPresent()) {
            // not recorded either: the genuine SnapshotCreated of that id, should it come, is still sealed
            metrics.sealRefused(elsewhere.get().refusal().name());
            metrics.failed(STAGE_VERIFY);
            LOG.warnf("backup %s of source %s refused: %s", backupId, snapshot.sourceId(), elsewhere.get().reason());
            return Optional.of(failed(snapshot, elsewhere.get().reason()));
        }
        return Optional.of(record(snapshot, verifyChunked(snapshot), eventKey));
    }

    /**
     * Why the object the event points at cannot be this backup of this source, or empty. Every source has its own
     * repository ({@code <prefix>/<sourceId>}) and a backup's manifest is named by its id, so a key outside the
     * source's repository or named for another backup belongs to someone else: sealing it would let one source's
     * events claim (and later expire) another source's backup.
     */
    static Optional<String> misplaced(SnapshotCreated s) {
        String where = "s3://" + s.bucket() + "/" + s.objectKey();
        if (s.sourceId() == null || !SOURCE_ID.matcher(s.sourceId()).matches()) {
            return Optional.of("source id '" + s.sourceId() + "' is not a valid source id (letters, digits, '.', '_' "
                    + "and '-', one path segment)");
        }
        if (s.repository() == null) {
            return Optional.empty(); // not a chunked backup: sealing refuses it with the reason
        }
        Optional<ManifestLocation> at = ManifestLocation.parse(s.objectKey());
        if (at.isEmpty()) {
            return Optional.empty(); // verification reports the malformed key
        }
        String prefix = at.get().prefix();
        if (!prefix.equals(s.sourceId()) && !prefix.endsWith("/" + s.sourceId())) {
            return Optional.of("manifest " + where + " is in repository '" + prefix + "', not in the repository "
                    + "of source '" + s.sourceId() + "' (<prefix>/" + s.sourceId() + "); nothing sealed");
        }
        if (!at.get().backupId().equals(s.backupId())) {
            return Optional.of("manifest " + where + " is the manifest of backup " + at.get().backupId()
                    + ", not of backup " + s.backupId() + "; nothing sealed");
        }
        return Optional.empty();
    }

    /**
     * Why {@code s}, a redelivery of a backup sealed as {@code verdict}, does not name the object that was sealed, or
     * empty. The stored verdict answers a redelivery without reading anything, so nothing else checked the record's
     * bucket and key: a copy queued from them would copy whatever they name (another source's backup, another bucket)
     * as this backup's offsite copy.
     */
    static Optional<String> notTheSealedObject(SnapshotCreated s, SealedBackup verdict) {
        String bucket;
        try {
            bucket = EventCodec.mapper().readTree(verdict.eventData()).path("bucket").asText(null);
        } catch (IOException e) {
            throw new UncheckedIOException("stored verdict on backup " + verdict.backupId() + " is unreadable", e);
        }
        if (Objects.equals(bucket, s.bucket()) && Objects.equals(verdict.manifestKey(), s.objectKey())) {
            return Optional.empty();
        }
        return Optional.of("the redelivered SnapshotCreated of backup " + s.backupId() + " names s3://" + s.bucket()
                + "/" + s.objectKey() + ", but the backup sealed under that id is s3://" + bucket + "/"
                + verdict.manifestKey());
    }

    private static String sourceOf(SealedBackup verdict) {
        try {
            return EventCodec.mapper().readTree(verdict.eventData()).path("sourceId").asText(null);
        } catch (IOException e) {
            throw new UncheckedIOException("stored verdict on backup " + verdict.backupId() + " is unreadable", e);
        }
    }

    private SealedBackup record(SnapshotCreated snapshot, SealedBackup verdict, String eventKey) {
        String backupId = snapshot.backupId();
        String problem = verdict.outcome() == Outcome.FAILED ? failureReason(verdict) : null;
        String where = "s3://" + snapshot.bucket() + "/" + snapshot.objectKey();
        List<StorageJob.New> jobs = OffsiteCopyService.wanted(snapshot, verdict)
                ? List.of(OffsiteCopyService.job(snapshot, eventKey)) : List.of();
        SealedBackupRepository.Recorded recorded = verdicts.record(verdict, jobs);
        if (!recorded.inserted()) {
            LOG.infof("backup %s was recorded concurrently by another delivery as %s", backupId,
                    recorded.verdict().outcome());
        } else if (problem == null) {
            metrics.completed();
            LOG.infof("backup %s sealed: %s verified, manifest %s", backupId, where, verdict.manifestKey());
        } else {
            metrics.failed(STAGE_VERIFY);
            LOG.warnf("backup %s failed verification: %s", backupId, problem);
        }
        return recorded.verdict();
    }

    private static String failureReason(SealedBackup verdict) {
        try {
            return EventCodec.mapper().readValue(verdict.eventData(), BackupFailed.class).reason();
        } catch (IOException e) {
            return verdict.eventData();
        }
    }

    /**
     * A chunked backup: its manifest must exist and be the object the snapshot-worker wrote (SHA-256), and every
     * chunk it lists must be present with its stored size (quick verification). No manifest.json is written: the
     * repository manifest, written last by the snapshot-worker, is what makes the backup exist.
     */
    private SealedBackup verifyChunked(SnapshotCreated s) {
        String where = "s3://" + s.bucket() + "/" + s.objectKey();
        Optional<ManifestLocation> location = ManifestLocation.parse(s.objectKey());
        if (location.isEmpty()) {
            return failed(s, "object key " + where + " is not a chunked-repository manifest key "
                    + "(<prefix>/chains/<chainId>/manifests/<backupId>.json)");
        }
        ManifestLocation at = location.get();
        Optional<Repository> repository;
        try {
            repository = repositories.open(s.bucket(), at.prefix());
        } catch (WrongKeyException e) {
            // not transient: retrying cannot make this worker's key open the repository
            return failed(s, "this storage-worker's master key cannot open the repository of manifest " + where
                    + ": " + e.getMessage() + "; give storage-worker the master key the snapshot-worker used");
        }
        if (repository.isEmpty()) {
            return failed(s, "there is no backup repository at s3://" + s.bucket() + "/" + at.prefix()
                    + " (no key file): manifest " + where + " cannot exist; check the bucket and the "
                    + "snapshot-worker log, then take a new backup");
        }
        Timer.Sample sample = metrics.startVerify();
        try {
            // read once: the bytes whose SHA-256 is checked are the bytes parsed
            Optional<byte[]> stored;
            try {
                stored = readManifest(s.bucket(), s.objectKey());
            } catch (ObjectTooLargeException e) {
                // not a verdict: the backup may be intact, this worker's cap is what refuses it. Thrown, the record
                // goes to the dead-letter topic with this reason, to be replayed once the cap is raised
                throw new ObjectTooLargeException(e, "the manifest cap is " + Repository.MAX_MANIFEST_SETTING
                        + " (environment LIFEBOAT_MAX_MANIFEST_BYTES), which must be as high on storage-worker as "
                        + "on snapshot-worker; raise it, then replay this SnapshotCreated: nothing was sealed or "
                        + "failed");
            }
            if (stored.isEmpty()) {
                return failed(s, "manifest " + where + " does not exist: the backup was deleted or never "
                        + "finished; check the bucket and the snapshot-worker log, then take a new backup");
            }
            String sha = Sha256.of(stored.get());
            if (!sha.equalsIgnoreCase(s.sha256())) {
                return failed(s, "manifest " + where + " does not match what was written: SHA-256 differs; "
                        + "expected " + s.sha256() + ", read back " + sha
                        + ". The manifest was changed or corrupted after upload; take a new backup");
            }
            Manifest manifest = Manifest.parse(stored.get(), where);
            if (!s.backupId().equals(manifest.backupId()) || !at.chainId().equals(manifest.chainId())) {
                return failed(s, "manifest " + where + " describes backup " + manifest.backupId() + " of chain "
                        + manifest.chainId() + ", not backup " + s.backupId() + " of chain " + at.chainId()
                        + "; nothing sealed");
            }
            VerificationReport report = repository.get().verifier().quick(manifest)
                    .requireReadable("quick verification of backup " + s.backupId() + " at " + where);
            metrics.verifiedBytes(report.bytesChecked());
            if (!report.ok()) {
                return failed(s, "quick verification of backup " + s.backupId() + " (chain " + at.chainId()
                        + ") found " + report.problems().size() + " bad of " + report.chunksChecked()
                        + " chunks: " + describe(report.problems(), 5)
                        + ". The backup is not usable for restore; take a new FULL backup");
            }
            return sealedChunked(s);
        } finally {
            metrics.stopVerify(sample);
        }
    }

    /** The first {@code max} problems as "file: chunk id: what", then how many more. */
    public static String describe(List<VerificationReport.Problem> problems, int max) {
        String first = problems.stream().limit(max).map(SealService::describe).collect(Collectors.joining("; "));
        return problems.size() > max ? first + "; and " + (problems.size() - max) + " more" : first;
    }

    public static String describe(VerificationReport.Problem p) {
        return (p.file() == null ? "" : "file " + p.file() + ": ")
                + (p.chunkId() == null ? "" : "chunk " + p.chunkId() + ": ") + p.what();
    }

    private Optional<byte[]> readManifest(String bucket, String key) {
        try {
            return Optional.of(Repository.readAll(repositories.store(), bucket, key, repositories.maxManifestBytes(),
                    "manifest"));
        } catch (ObjectNotFoundException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private SealedBackup sealedChunked(SnapshotCreated s) {
        Instant now = clock.instant();
        BackupCompleted event = new BackupCompleted(s.backupId(), s.sourceId(), s.policyId(), s.type(), s.bucket(),
                s.objectKey(), s.objectKey(), s.sizeBytes(), s.rawBytes(), s.sha256(), s.startedAt(), now,
                Math.max(0, Duration.between(s.startedAt(), now).toMillis()), s.repository(), VERIFICATION_QUICK_OK);
        return verdict(s, Outcome.COMPLETED, s.objectKey(), event, now);
    }

    private SealedBackup failed(SnapshotCreated s, String reason) {
        Instant now = clock.instant();
        return verdict(s, Outcome.FAILED, null, new BackupFailed(s.backupId(), s.sourceId(), STAGE_VERIFY, reason, now),
                now);
    }

    private static SealedBackup verdict(SnapshotCreated s, Outcome outcome, String manifestKey, Object event,
                                        Instant now) {
        return new SealedBackup(UUID.fromString(s.backupId()), outcome, manifestKey,
                UUID.fromString(Ids.eventId(s.backupId(), outcome.eventType())), EventCodec.encodeData(event), now);
    }
}
