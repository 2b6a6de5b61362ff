package dev.lifeboat.storage.service;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.repository.archive.ArchiveLayout;
import dev.lifeboat.repository.archive.BackupManifest;
import dev.lifeboat.repository.archive.DumpArchive;
import dev.lifeboat.repository.blob.ObjectNotFoundException;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.Sha256;
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
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Turns a SnapshotCreated into a verdict: the archive is read back whole and its size and SHA-256 compared with
 * what the snapshot-worker reported. A match gets a manifest beside the archive (that is what "sealed" means)
 * and a BackupCompleted; anything else gets a BackupFailed at stage VERIFY and no manifest. The verdict is
 * stored once per backup, so a redelivered SnapshotCreated gets the same verdict back without any new write.
 */
@ApplicationScoped
public class SealService {
    public static final String STAGE_VERIFY = "VERIFY";
    private static final Logger LOG = Logger.getLogger(SealService.class);

    private final ObjectStore store;
    private final SealedBackupRepository verdicts;
    private final StorageMetrics metrics;
    private final String lifeboatVersion;
    private final Clock clock = Clock.systemUTC();

    public SealService(ObjectStore store, SealedBackupRepository verdicts, StorageMetrics metrics,
                       @ConfigProperty(name = "quarkus.application.version") String lifeboatVersion) {
        this.store = store;
        this.verdicts = verdicts;
        this.metrics = metrics;
        this.lifeboatVersion = lifeboatVersion;
    }

    /**
     * Verifies and seals one backup, or returns the verdict stored by an earlier delivery. Throws on
     * transient failures (object store or database unreachable): nothing is recorded then, so a retry starts over.
     */
    @WithSpan("SealService.seal")
    public SealedBackup seal(SnapshotCreated snapshot) {
        String backupId = snapshot.backupId();
        Span.current().setAttribute("lifeboat.backup.id", backupId);
        Optional<SealedBackup> earlier = verdicts.find(UUID.fromString(backupId));
        if (earlier.isPresent()) {
            LOG.infof("backup %s was already %s at %s: re-emitting the same event %s", backupId,
                    earlier.get().outcome(), earlier.get().sealedAt(), earlier.get().eventId());
            Span.current().setAttribute("lifeboat.redelivery", true);
            return earlier.get();
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
