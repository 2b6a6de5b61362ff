package dev.lifeboat.storage.service;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.keys.WrongKeyException;
import dev.lifeboat.repository.archive.ArchiveLayout;
import dev.lifeboat.repository.archive.BackupManifest;
import dev.lifeboat.repository.archive.DumpArchive;
import dev.lifeboat.repository.blob.ObjectNotFoundException;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.VerificationReport;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.repository.SealedBackup.Outcome;
import dev.lifeboat.storage.repository.SealedBackupRepository;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Turns a SnapshotCreated into a verdict. A chunked backup ({@code repository} set) is checked by its manifest's
 * SHA-256 and a quick verification of its chunks (see {@link #verifyChunked}). A single archive (the format before
 * the chunked repository) is handled as before: the archive is read back whole and its size and SHA-256 compared with
 * what the snapshot-worker reported. A match gets a manifest beside the archive (that is what "sealed" means)
 * and a BackupCompleted; anything else gets a BackupFailed at stage VERIFY and no manifest. The verdict is
 * stored once per backup, so a redelivered SnapshotCreated gets the same verdict back without any new write.
 * Before any of that, the event must be consistent with itself ({@link #misplaced}): a key outside the source's
 * repository or named for another backup gets a BackupFailed that is not stored, and a backup id already sealed
 * for another source gets no event at all.
 */
@ApplicationScoped
public class SealService {
    public static final String STAGE_VERIFY = "VERIFY";
    public static final String VERIFICATION_QUICK_OK = "QUICK_OK";
    private static final Logger LOG = Logger.getLogger(SealService.class);
    private static final Pattern SOURCE_ID = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");

    private final ObjectStore store;
    private final Repositories repositories;
    private final SealedBackupRepository verdicts;
    private final StorageMetrics metrics;
    private final String lifeboatVersion;
    private final Clock clock = Clock.systemUTC();

    public SealService(ObjectStore store, Repositories repositories, SealedBackupRepository verdicts, StorageMetrics metrics,
                       @ConfigProperty(name = "quarkus.application.version") String lifeboatVersion) {
        this.store = store;
        this.repositories = repositories;
        this.verdicts = verdicts;
        this.metrics = metrics;
        this.lifeboatVersion = lifeboatVersion;
    }

    /**
     * Verifies and seals one backup, or returns the verdict stored by an earlier delivery. Throws on
     * transient failures (object store or database unreachable): nothing is recorded then, so a retry starts over.
     */
    @WithSpan("SealService.seal")
    public Optional<SealedBackup> seal(SnapshotCreated snapshot) {
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
        if (snapshot.repository() != null) {
            return Optional.of(record(snapshot, verifyChunked(snapshot)));
        }
        String where = "s3://" + snapshot.bucket() + "/" + snapshot.objectKey();
        Optional<Sha256.Digest> actual = readBack(snapshot);
        String problem = null;
        if (actual.isEmpty()) {
            problem = "archive " + where + " does not exist (expected " + describe(snapshot.sizeBytes(),
                    snapshot.sha256()) + "): it was deleted or never uploaded; check the bucket and the "
                    + "snapshot-worker log, then take a new backup";
        } else if (!matches(snapshot, actual.get())) {
            problem = "archive " + where + " does not match what was uploaded: " + mismatch(snapshot, actual.get())
                    + "; expected " + describe(snapshot.sizeBytes(), snapshot.sha256())
                    + ", read back " + describe(actual.get().sizeBytes(), actual.get().sha256())
                    + ". The object was changed or corrupted after upload; take a new backup";
        }
        SealedBackup verdict = problem == null ? sealed(snapshot) : failed(snapshot, problem);
        return Optional.of(record(snapshot, verdict));
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
        if (s.repository() != null) {
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
        String own = s.sourceId() + "/" + s.backupId() + "/" + DumpArchive.FILE_NAME;
        if (s.objectKey() == null || !(s.objectKey().equals(own) || s.objectKey().endsWith("/" + own))) {
            return Optional.of("archive " + where + " is not under <prefix>/" + s.sourceId() + "/" + s.backupId()
                    + "/, where the archive of backup " + s.backupId() + " of source '" + s.sourceId()
                    + "' is written; nothing sealed");
        }
        return Optional.empty();
    }

    private static String sourceOf(SealedBackup verdict) {
        try {
            return EventCodec.mapper().readTree(verdict.eventData()).path("sourceId").asText(null);
        } catch (IOException e) {
            throw new UncheckedIOException("stored verdict on backup " + verdict.backupId() + " is unreadable", e);
        }
    }

    private SealedBackup record(SnapshotCreated snapshot, SealedBackup verdict) {
        String backupId = snapshot.backupId();
        String problem = verdict.outcome() == Outcome.FAILED ? failureReason(verdict) : null;
        String where = "s3://" + snapshot.bucket() + "/" + snapshot.objectKey();
        SealedBackupRepository.Recorded recorded = verdicts.record(verdict);
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
            Optional<String> sha = manifestSha256(s.bucket(), s.objectKey());
            if (sha.isEmpty()) {
                return failed(s, "manifest " + where + " does not exist: the backup was deleted or never "
                        + "finished; check the bucket and the snapshot-worker log, then take a new backup");
            }
            if (!sha.get().equalsIgnoreCase(s.sha256())) {
                return failed(s, "manifest " + where + " does not match what was written: SHA-256 differs; "
                        + "expected " + s.sha256() + ", read back " + sha.get()
                        + ". The manifest was changed or corrupted after upload; take a new backup");
            }
            Optional<Manifest> manifest = repository.get().manifest(at.chainId(), at.backupId());
            if (manifest.isEmpty()) {
                return failed(s, "manifest " + where + " disappeared while being verified; take a new backup");
            }
            if (!s.backupId().equals(manifest.get().backupId()) || !at.chainId().equals(manifest.get().chainId())) {
                return failed(s, "manifest " + where + " describes backup " + manifest.get().backupId() + " of chain "
                        + manifest.get().chainId() + ", not backup " + s.backupId() + " of chain " + at.chainId()
                        + "; nothing sealed");
            }
            VerificationReport report = repository.get().verifier().quick(manifest.get())
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

    private Optional<String> manifestSha256(String bucket, String key) {
        try (InputStream in = repositories.store().open(bucket, key)) {
            return Optional.of(Sha256.of(in).sha256());
        } catch (ObjectNotFoundException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("reading manifest s3://" + bucket + "/" + key + " failed: "
                    + e.getMessage(), e);
        }
    }

    private SealedBackup sealedChunked(SnapshotCreated s) {
        Instant now = clock.instant();
        BackupCompleted event = new BackupCompleted(s.backupId(), s.sourceId(), s.policyId(), s.type(), s.bucket(),
                s.objectKey(), s.objectKey(), s.sizeBytes(), s.rawBytes(), s.sha256(), s.startedAt(), now,
                Math.max(0, Duration.between(s.startedAt(), now).toMillis()), s.repository(), VERIFICATION_QUICK_OK);
        return verdict(s, Outcome.COMPLETED, s.objectKey(), event, now);
    }

    /** Size and digest of the archive as stored now, empty when there is no such object. */
    private Optional<Sha256.Digest> readBack(SnapshotCreated snapshot) {
        Timer.Sample sample = metrics.startVerify();
        try (InputStream in = store.open(snapshot.bucket(), snapshot.objectKey())) {
            Sha256.Digest digest = Sha256.of(in);
            metrics.verifiedBytes(digest.sizeBytes());
            return Optional.of(digest);
        } catch (ObjectNotFoundException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("reading s3://" + snapshot.bucket() + "/" + snapshot.objectKey()
                    + " back failed: " + e.getMessage(), e);
        } finally {
            metrics.stopVerify(sample);
        }
    }

    private static boolean matches(SnapshotCreated s, Sha256.Digest actual) {
        return s.sizeBytes() == actual.sizeBytes() && s.sha256().equalsIgnoreCase(actual.sha256());
    }

    private static String mismatch(SnapshotCreated s, Sha256.Digest actual) {
        boolean size = s.sizeBytes() != actual.sizeBytes();
        boolean sha = !s.sha256().equalsIgnoreCase(actual.sha256());
        return size && sha ? "size and SHA-256 differ" : size ? "size differs" : "SHA-256 differs";
    }

    private static String describe(long size, String sha256) {
        return size + " bytes with SHA-256 " + sha256;
    }

    private SealedBackup sealed(SnapshotCreated s) {
        Instant now = clock.instant();
        String manifestKey = ArchiveLayout.manifestKeyFor(s.objectKey());
        BackupManifest manifest = new BackupManifest(BackupManifest.FORMAT_VERSION, s.backupId(), s.sourceId(),
                s.policyId(), s.type().name(), s.database(), s.startedAt(), s.finishedAt(), now,
                new BackupManifest.Archive(s.bucket(), s.objectKey(), DumpArchive.FORMAT, s.sizeBytes(),
                        s.rawBytes(), s.sha256()),
                tools(s));
        try {
            store.put(s.bucket(), manifestKey,
                    EventCodec.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serialise the manifest of backup " + s.backupId(), e);
        }
        BackupCompleted event = new BackupCompleted(s.backupId(), s.sourceId(), s.policyId(), s.type(), s.bucket(),
                s.objectKey(), manifestKey, s.sizeBytes(), s.rawBytes(), s.sha256(), s.startedAt(), now,
                Math.max(0, Duration.between(s.startedAt(), now).toMillis()), null, null);
        return verdict(s, Outcome.COMPLETED, manifestKey, event, now);
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

    private Map<String, String> tools(SnapshotCreated s) {
        Map<String, String> tools = new LinkedHashMap<>();
        if (s.pgDumpVersion() != null) {
            tools.put("pgDump", s.pgDumpVersion());
        }
        if (s.serverVersion() != null) {
            tools.put("server", s.serverVersion());
        }
        tools.put("lifeboat", lifeboatVersion);
        return tools;
    }
}
