package dev.lifeboat.snapshot.service;

import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.OffsiteDestination;
import dev.lifeboat.contracts.PhysicalBackupInfo;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.kit.fault.CrashPoint;
import dev.lifeboat.kit.fault.CrashPoints;
import dev.lifeboat.kit.objectstore.ObjectStoreConfig;
import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.RepositoryStats;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.kit.retry.Transience;
import dev.lifeboat.repository.blob.ObjectTooLargeException;
import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Layout;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.ManifestMismatchException;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.SnapshotWriter;
import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.repository.snapshot.WriteResult;
import dev.lifeboat.snapshot.client.SchedulerClient;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import dev.lifeboat.snapshot.domain.BackupFailure;
import dev.lifeboat.snapshot.messaging.BackupEventPublisher;
import dev.lifeboat.snapshot.repository.JobLedger;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.WebApplicationException;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * One backup: look the source up, dump it with pg_dump (directory format, uncompressed, so unchanged tables
 * dedupe) into a private spool directory, write that directory into the source's chunked repository
 * ({@code <prefix>/<sourceId>}: chunked, compressed, encrypted, deduplicated within the chain) and report
 * SnapshotCreated or BackupFailed. The spool is removed in every case.
 */
@ApplicationScoped
public class SnapshotService {
    private static final Logger LOG = Logger.getLogger(SnapshotService.class);
    /**
     * How far the clocks of the platform database (a backup's first attempt) and of the workers (a chain's id) may
     * disagree, for the check that a FULL was not already written by an earlier attempt.
     */
    static final java.time.Duration CLOCKS_DISAGREE = java.time.Duration.ofMinutes(15);
    /** The most this worker's clock may disagree with the database's for {@link #CLOCKS_DISAGREE} to be trusted. */
    static final java.time.Duration SKEW_TRUSTED = CLOCKS_DISAGREE.dividedBy(3);

    /**
     * Where backup {@code backupId} goes: the newest chain, or a chain of its own for a FULL, which an earlier attempt
     * can only have started since the first attempt (the job ledger's {@code firstStartedAt}, the database's time),
     * so that a FULL is looked for in those chains only. Unless this worker's clock, which stamps chain ids,
     * disagrees with the database's by more than {@link #SKEW_TRUSTED}: then every chain is asked, and the log says
     * why (a worker with a wrong clock also stamps its own chains wrongly).
     */
    static ChainContext chainOf(String backupId, Instant firstStartedAt, java.time.Duration clockSkew) {
        ChainContext latest = ChainContext.latestChain(backupId);
        if (clockSkew.abs().compareTo(SKEW_TRUSTED) > 0) {
            LOG.warnf("this worker's clock is %s %s the platform database's; backup %s is looked for in every chain "
                            + "of its repository. Set the clocks right (NTP): chain ids carry this worker's time",
                    clockSkew.abs(), clockSkew.isNegative() ? "behind" : "ahead of", backupId);
            return latest;
        }
        return latest.attemptsSince(firstStartedAt.minus(CLOCKS_DISAGREE));
    }

    @Inject
    SnapshotConfig config;
    @Inject
    ObjectStoreConfig storeConfig;
    @Inject
    Repositories repositories;
    @Inject
    @RestClient
    SchedulerClient scheduler;
    @Inject
    BackupEventPublisher events;
    @Inject
    JobLedger ledger;
    @Inject
    MeterRegistry registry;
    @Inject
    SecretPolicy secrets;
    @Inject
    Spool spools;
    @Inject
    CrashPoints crashPoints;

    private String workerId;

    /**
     * Since when each backup redone under the retry policy could not reach a server it needs, and why: the reason of
     * a backup stopped at its deadline during an outage. Kept while the backup is being retried on this worker.
     */
    private final Map<String, Outage> outages = new ConcurrentHashMap<>();

    private record Outage(Instant since, String stage, String cause) {
    }

    String workerId() {
        if (workerId == null) {
            workerId = config.workerId().filter(s -> !s.isBlank()).orElseGet(() -> {
                try {
                    return InetAddress.getLocalHost().getHostName() + "-" + ProcessHandle.current().pid();
                } catch (IOException e) {
                    return "snapshot-worker-" + ProcessHandle.current().pid();
                }
            });
        }
        return workerId;
    }

    /**
     * Runs the backup unless it already finished (a redelivered request): at-least-once in, once in effect. While
     * another live worker runs it, waits for that worker (see {@link JobLedger#claim}) and throws when it still runs,
     * so the delivery stays unacknowledged; a backup whose manifest an earlier attempt wrote is announced, not redone,
     * and so is a finished one ({@link #announceAgain}). A failure of the backup itself is recorded in the ledger,
     * then announced in BackupFailed; a delivery that finds it recorded announces it again.
     * A failure to record the outcome (database down) is thrown, so the delivery is retried and the backup, still
     * RUNNING in the ledger and announced nowhere, is redone.
     */
    @WithSpan("SnapshotService.backup")
    public void backup(BackupRequested request) {
        Optional<JobLedger.Claim> claim = ledger.claim(request.backupId(), request.sourceId(), request.policyId(),
                request.type().name(), workerId(), config.claimWait());
        if (claim.isEmpty()) {
            Optional<String> takenFor = ledger.sourceOf(request.backupId());
            if (takenFor.isPresent() && !takenFor.get().equals(request.sourceId())) {
                // no event either: a BackupFailed under this id would rewrite the other source's backup history
                registry.counter("lifeboat_backup_requests_refused_total", "reason", "BACKUP_ID_OF_OTHER_SOURCE")
                        .increment();
                LOG.warnf("backup request for source %s names backup id %s, which was taken for source %s: refused, "
                        + "nothing backed up or reported", request.sourceId(), request.backupId(), takenFor.get());
                return;
            }
            Optional<JobLedger.RecordedFailure> failure = ledger.failureOf(request.backupId());
            if (failure.isPresent()) {
                // the failure may never have been announced (the send failed after it was recorded): say it again
                LOG.infof("backup %s already failed at %s; this delivery announces that failure again",
                        request.backupId(), failure.get().stage());
                events.backupFailed(new BackupFailed(request.backupId(), request.sourceId(), failure.get().stage(),
                        failure.get().reason(), Instant.now()));
                return;
            }
            announceAgain(request);
            return;
        }
        try (JobLedger.Claim job = claim.get()) {
            registry.counter("lifeboat_backups_started_total").increment();
            Instant startedAt = Instant.now();
            // the maxDuration counts from the first attempt: redoing the backup through an outage does not extend it
            AtomicReference<Deadline> deadline = new AtomicReference<>(Deadline.after(job.firstStartedAt(),
                    config.maxDuration(), "the worker's default, lifeboat.snapshot.max-duration: " + (request
                            .policyId() == null ? "the request names no policy" : "policy '" + request.policyId()
                            + "' could not be read")));
            Timer.Sample timer = Timer.start(registry);
            Path spool = spools.job(request.backupId());
            SnapshotCreated created;
            try {
                created = capture(request, spool, startedAt, job.firstStartedAt(), job.clockSkew(), deadline);
            } catch (BackupFailure f) {
                if (Transience.isTransient(f)) {
                    // the object store or scheduler-service is away: no verdict, the delivery is retried, until the
                    // backup's deadline, which ends it
                    Optional<String> stopped = outage(request, f.stage(), f, deadline.get());
                    if (stopped.isEmpty()) {
                        throw f;
                    }
                    fail(job, request, f.stage(), stopped.get());
                    return;
                }
                outages.remove(request.backupId());
                fail(job, request, f.stage(), f.getMessage());
                return;
            } catch (RuntimeException e) {
                if (Transience.isTransient(e)) {
                    Optional<String> stopped = outage(request, "UPLOAD", e, deadline.get());
                    if (stopped.isEmpty()) {
                        throw e;
                    }
                    fail(job, request, "UPLOAD", stopped.get());
                    return;
                }
                outages.remove(request.backupId());
                LOG.errorf(e, "backup %s failed unexpectedly", request.backupId());
                fail(job, request, "UPLOAD", "unexpected error: " + e.getMessage());
                return;
            } finally {
                timer.stop(registry.timer("lifeboat_backup_duration"));
                deleteRecursively(spool);
            }
            outages.remove(request.backupId());
            events.snapshotCreated(created);
            crashPoints.reached(CrashPoint.AFTER_SNAPSHOT_CREATED, "backup " + request.backupId());
            job.finish("SNAPSHOT_CREATED");
            registry.counter("lifeboat_backup_bytes_total").increment(created.sizeBytes());
            LOG.infof("backup %s of %s uploaded: %d bytes (%d raw) to s3://%s/%s", request.backupId(),
                    request.sourceId(), created.sizeBytes(), created.rawBytes(), created.bucket(), created.objectKey());
        }
    }

    /**
     * A delivery of a backup this worker pool finished: its manifest is announced again, as written. The scheduler's
     * watchdog asks again when no verdict came (storage-worker's sealing parked while the broker or the object store
     * was away, say); SnapshotCreated once more has storage-worker seal the backup, or send its stored verdict again,
     * instead of the watchdog failing a backup that exists. Only a request naming the policy and type the backup was
     * taken for is answered so (another would have it sealed and kept under that policy); nothing is announced for a
     * manifest that is gone, nor for a backup the ledger recorded before it kept policy and type. At most once per
     * {@code lifeboat.snapshot.reannounce-interval} (5 minutes), whoever asks: a repeated request costs nothing more.
     * A lookup or send that fails transiently is thrown (the turn given back), so the delivery is retried.
     */
    private void announceAgain(BackupRequested request) {
        Optional<JobLedger.Finished> finished = ledger.finishedOf(request.backupId());
        if (finished.isEmpty()) {
            LOG.infof("backup %s already finished; this delivery is acknowledged", request.backupId());
            return;
        }
        if (!java.util.Objects.equals(finished.get().policyId(), request.policyId())
                || !finished.get().requestedType().equals(request.type().name())) {
            // announced under another policy, it would be sealed, copied offsite and kept by that policy's rules
            registry.counter("lifeboat_backup_requests_refused_total", "reason", "FINISHED_UNDER_OTHER_REQUEST")
                    .increment();
            LOG.warnf("a request for finished backup %s names policy %s and type %s, but it was taken for policy %s "
                            + "as %s: not announced again", request.backupId(), request.policyId(), request.type(),
                    finished.get().policyId(), finished.get().requestedType());
            return;
        }
        if (!ledger.takeAnnouncement(request.backupId(), config.reannounceInterval())) {
            registry.counter("lifeboat_backup_requests_refused_total", "reason", "ANNOUNCED_RECENTLY").increment();
            LOG.infof("finished backup %s was announced again less than %s ago: this request is acknowledged, not "
                    + "announced", request.backupId(), config.reannounceInterval());
            return;
        }
        try {
            announce(request);
        } catch (RuntimeException e) {
            // its turn back, so that the retry of this delivery announces it
            try {
                ledger.giveBackAnnouncement(request.backupId());
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    /** Announces finished backup {@code request.backupId()} again from its manifest; nothing when it is gone. */
    private void announce(BackupRequested request) {
        Optional<SnapshotCreated> written;
        try {
            SchedulerClient.SourceInfo source = lookupSource(request.sourceId());
            Destination destination = destinationOf(request, Instant.now());
            // every chain of the repository: the backup may be older than the latest one
            written = alreadyWritten(request, source, destination.bucket(), destination.repositoryPrefix(),
                    destination.offsite(), ChainContext.latestChain(request.backupId()));
        } catch (RuntimeException e) {
            if (Transience.isTransient(e)) {
                throw e;
            }
            LOG.warnf("backup %s already finished; it could not be announced again: %s", request.backupId(),
                    e.getMessage());
            return;
        }
        if (written.isEmpty()) {
            LOG.infof("backup %s already finished, but its repository holds no manifest of it that the job ledger "
                    + "recorded (expired since, never sealed and garbage-collected, or finished before the ledger "
                    + "kept manifests); nothing to announce", request.backupId());
            return;
        }
        // alreadyWritten logged which manifest
        events.snapshotCreated(written.get());
    }

    /**
     * Notes a transient failure of this attempt; when the backup's deadline has passed, the reason it ends with:
     * what was unreachable, since when and why, and the limit it passed. Empty while there is time left to retry.
     */
    private Optional<String> outage(BackupRequested request, String stage, Throwable cause, Deadline deadline) {
        Instant now = Instant.now();
        Outage outage = outages.merge(request.backupId(), new Outage(now, stage, cause.getMessage()),
                (first, latest) -> new Outage(first.since(), latest.stage(), latest.cause()));
        if (!deadline.passed()) {
            return Optional.empty();
        }
        outages.remove(request.backupId());
        registry.counter("lifeboat_backups_past_deadline_total", "stage", stage).increment();
        return Optional.of(unreachable(outage.stage()) + " unreachable for "
                + approximately(Duration.between(outage.since(), now)) + " (since " + outage.since() + "): "
                + outage.cause() + "; the backup passed " + deadline.describe() + " and was stopped, nothing of it "
                + "was kept. Bring " + (outage.stage().equals("UPLOAD") ? "the " : "") + unreachable(outage.stage())
                + " back, then request the backup again (or allow more time)");
    }

    private static String unreachable(String stage) {
        return switch (stage) {
            case "LOOKUP" -> "scheduler-service";
            case "UPLOAD" -> "object store";
            default -> "a server the backup needs";
        };
    }

    private static String approximately(Duration d) {
        return d.toMinutes() >= 1 ? d.toMinutes() + " min" : d.toSeconds() + " s";
    }

    private void fail(JobLedger.Claim job, BackupRequested request, String stage, String reason) {
        LOG.warnf("backup %s of %s failed at %s: %s", request.backupId(), request.sourceId(), stage, reason);
        // recorded first: when the ledger cannot be written the delivery is retried with nothing announced, and a
        // recorded failure is announced again by a later delivery, so the backup has one outcome either way
        job.failed(stage, reason);
        registry.counter("lifeboat_backups_failed_total", "stage", stage).increment();
        events.backupFailed(new BackupFailed(request.backupId(), request.sourceId(), stage, reason, Instant.now()));
    }

    /** Where a backup is written, and by when it must end: from its policy, or the worker's defaults. */
    private record Destination(String bucket, String repositoryPrefix, OffsiteDestination offsite,
                               Deadline deadline) {
    }

    private Destination destinationOf(BackupRequested request, Instant firstStartedAt) {
        String bucket = storeConfig.defaultBucket();
        String prefix = config.defaultPrefix();
        OffsiteDestination offsite = null;
        Deadline deadline = Deadline.after(firstStartedAt, config.maxDuration(),
                "the worker's default, lifeboat.snapshot.max-duration: the request names no policy");
        if (request.policyId() != null) {
            SchedulerClient.PolicyInfo policy = lookupPolicy(request.policyId());
            if (!request.sourceId().equals(policy.sourceId())) {
                // its destination, offsite copy and retention are another source's: nothing may be written there
                registry.counter("lifeboat_backup_requests_refused_total", "reason", "POLICY_OF_OTHER_SOURCE")
                        .increment();
                // stage LOOKUP (the contract's stages are fixed): what scheduler-service holds contradicts the request
                throw new BackupFailure("LOOKUP", "policy '" + request.policyId() + "' belongs to source '"
                        + policy.sourceId() + "', not to source '" + request.sourceId() + "' that the request names; "
                        + "nothing was backed up. Name a policy of source '" + request.sourceId() + "', or none");
            }
            if (policy.destination() != null && policy.destination().bucket() != null) {
                bucket = policy.destination().bucket();
            }
            if (policy.destination() != null && policy.destination().prefix() != null) {
                prefix = policy.destination().prefix();
            }
            offsite = offsiteOf(policy, request.sourceId(), config.defaultPrefix());
            deadline = deadlineOf(policy, firstStartedAt, config.maxDuration());
        }
        return new Destination(bucket, repositoryPrefix(prefix, request.sourceId()), offsite, deadline);
    }

    /** Takes the backup; {@code deadlineOut} receives its deadline as soon as the policy is known. */
    private SnapshotCreated capture(BackupRequested request, Path spool, Instant startedAt, Instant firstStartedAt,
                                    java.time.Duration clockSkew, AtomicReference<Deadline> deadlineOut) {
        SchedulerClient.SourceInfo source = lookupSource(request.sourceId());
        Destination destination = destinationOf(request, firstStartedAt);
        String bucket = destination.bucket();
        String repositoryPrefix = destination.repositoryPrefix();
        OffsiteDestination offsite = destination.offsite();
        Deadline deadline = destination.deadline();
        deadlineOut.set(deadline);
        // whether an earlier delivery wrote this backup is asked of the object store while the source is connected
        // to: two waits for other servers, neither needing the other
        ChainContext chain = chainOf(request.backupId(), firstStartedAt, clockSkew);
        CompletableFuture<Optional<SnapshotCreated>> earlier = CompletableFuture.supplyAsync(() -> alreadyWritten(
                request, source, bucket, repositoryPrefix, offsite, chain), Thread.ofVirtual()::start);
        if (deadline.passed()) {
            Optional<SnapshotCreated> written = joined(earlier);
            if (written.isPresent()) {
                return written.get();
            }
            Outage outage = outages.remove(request.backupId());
            throw new BackupFailure(outage == null ? "DUMP" : outage.stage(), "the backup passed "
                    + deadline.describe() + " before this attempt started (its first attempt started at "
                    + firstStartedAt + (outage == null ? "" : "; " + unreachable(outage.stage())
                    + " was unreachable since " + outage.since() + ": " + outage.cause()) + "); nothing was backed up");
        }
        SourceConnection connection;
        SourceProbe.Probed probed;
        try {
            deleteRecursively(spool);
            try {
                Files.createDirectories(spool);
            } catch (IOException e) {
                throw new BackupFailure("DUMP", "cannot create spool directory " + spool + ": " + e.getMessage());
            }
            connection = SourceConnection.resolve(source, secrets, spool);
            probed = SourceProbe.connect(connection, config.connectTimeoutSeconds(),
                    (int) config.socketTimeout().toSeconds());
        } catch (RuntimeException e) {
            // a backup an earlier delivery wrote is announced, and an object store that cannot tell is the failure,
            // whatever the source says now
            Optional<SnapshotCreated> written = joined(earlier);
            if (written.isPresent()) {
                return written.get();
            }
            throw e;
        }
        Optional<SnapshotCreated> written;
        try {
            written = joined(earlier);
        } catch (RuntimeException e) {
            probed.close();
            throw e;
        }
        if (written.isPresent()) {
            probed.close();
            return written.get();
        }
        SourceProbe.ServerFacts facts = probed.facts();
        if (source.physical()) {
            probed.close();
            return physical(request, source, connection, facts, bucket, repositoryPrefix, spool, startedAt, deadline,
                    offsite, chain);
        }
        Path pgDump;
        try {
            pgDump = PgTools.pgDumpFor(config.pgInstallRoot(), facts.major());
        } catch (RuntimeException e) {
            probed.close();
            throw e;
        }
        // the fingerprints are taken from the dump's own bytes as the repository reads them; the probe's connection
        // goes on to export the snapshot pg_dump dumps and to name the dumped tables as they are in it
        BackupFingerprinter fingerprints = config.tableFingerprints() ? BackupFingerprinter.on(probed.connection(),
                connection.toString(), deadline, pgDump.resolveSibling("pg_restore")) : null;
        if (fingerprints == null) {
            probed.close();
        }
        WriteResult result;
        try (fingerprints) {
            Path dumpDir = spool.resolve("dump");
            progress(request, "DUMPING", 0, 0);
            PgDump dump = new PgDump(pgDump, PgDump.jobsFor(config.jobs(), facts.databaseBytes(),
                    config.parallelDumpMinBytes()), config.connectTimeoutSeconds(), config.lockWaitTimeout(),
                    config.keepaliveIdle(), spools.children());
            java.util.function.LongConsumer dumped = bytes -> progress(request, "DUMPING", bytes,
                    percent(bytes, facts.databaseBytes()));
            // the repository reads each file of the dump as soon as pg_dump has closed it, while pg_dump goes on
            try (PgDump.Running running = dump.start(connection, dumpDir, spool, config.progressInterval(),
                    fingerprints == null ? null : fingerprints.snapshotId(), request.backupId(), deadline, dumped,
                    fingerprints)) {
                result = write(request, bucket, repositoryPrefix, running, chain,
                        fingerprints == null ? () -> null : fingerprints::fingerprints);
            }
        }
        crashPoints.reached(CrashPoint.AFTER_MANIFEST, "backup " + request.backupId());
        return snapshotCreated(request, source, bucket, repositoryPrefix, result.manifest(),
                result.manifestSha256(), facts.version(), PgTools.version(pgDump), startedAt, Instant.now(), offsite);
    }

    /** A base backup of the whole cluster of a {@code physical} source ({@link PhysicalBackup}). */
    private SnapshotCreated physical(BackupRequested request, SchedulerClient.SourceInfo source,
                                     SourceConnection connection, SourceProbe.ServerFacts facts, String bucket,
                                     String repositoryPrefix, Path spool, Instant startedAt, Deadline deadline,
                                     OffsiteDestination offsite, ChainContext chain) {
        PhysicalBackup.ClusterFacts cluster = PhysicalBackup.checkReplication(connection,
                config.connectTimeoutSeconds(), (int) config.socketTimeout().toSeconds());
        Path tool = PgTools.toolFor(config.pgInstallRoot(), facts.major(), "pg_basebackup")
                .orElseThrow(() -> new BackupFailure("DUMP", "no pg_basebackup for PostgreSQL " + facts.major()
                        + " on this worker (looked in " + config.pgInstallRoot() + "/<major>/bin); install the "
                        + "PostgreSQL " + facts.major() + " client (Debian: postgresql-client-" + facts.major() + ")"));
        Repository repository;
        try {
            repository = repositories.openOrInit(bucket, repositoryPrefix);
        } catch (Repositories.MissingMasterKeyException e) {
            throw new BackupFailure("UPLOAD", e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new BackupFailure("UPLOAD", "cannot open the backup repository s3://" + bucket + "/"
                    + repositoryPrefix + ": " + e.getMessage(), e);
        }
        java.util.function.Consumer<String> sameCluster = id -> requireArchiveCluster(repository, request, bucket,
                repositoryPrefix, id);
        if (cluster.systemIdentifier() != null) {
            sameCluster.accept(cluster.systemIdentifier());
        }
        progress(request, "DUMPING", 0, 0);
        String backup = "backup " + request.backupId();
        AtomicReference<String> writtenSha256 = new AtomicReference<>();
        Manifest manifest = new PhysicalBackup(tool, config.connectTimeoutSeconds(), config.keepaliveIdle(),
                config.progressInterval(), spools.children())
                .run(connection, repository.writer(Chunker.Sizes.BASE_BACKUP)
                                .beforeManifest(() -> crashPoints.reached(CrashPoint.BEFORE_MANIFEST, backup))
                                .recordManifest(recorder(request, writtenSha256))
                                .foreignManifestsChecked(),
                        dev.lifeboat.repository.snapshot.BackupType.valueOf(request.type().name()),
                        chain, spool, request.backupId(), facts.version(),
                        deadline, bytes -> progress(request, "DUMPING", bytes,
                                percent(bytes, cluster.clusterBytes())), sameCluster);
        progress(request, "UPLOADING", manifest.totalSize(), 100);
        crashPoints.reached(CrashPoint.AFTER_MANIFEST, backup);
        return snapshotCreated(request, source, bucket, repositoryPrefix, manifest, writtenSha256.get(),
                facts.version(), PgTools.version(tool), startedAt, Instant.now(), offsite);
    }

    /**
     * Records in the job ledger the manifest the writer is about to store (and its hash in {@code sha256}): what a
     * later delivery of this backup announces, and nothing else ({@link #alreadyWritten}). The writer checks first
     * that no manifest of this backup found is one to announce, so it writes over one it finds.
     */
    private SnapshotWriter.ManifestRecorder recorder(BackupRequested request, AtomicReference<String> sha256) {
        return (key, chainId, sha) -> {
            ledger.recordManifest(request.backupId(), new JobLedger.WrittenManifest(key, chainId, sha));
            sha256.set(sha);
        };
    }

    /**
     * Refuses a base backup of another PostgreSQL cluster than the one the repository's WAL archive belongs to: its
     * restores would find no WAL of their own cluster there (and another cluster's WAL is never replayed). Checked
     * before the backup starts when the role may read pg_control_system(), and always before its manifest is
     * written. An archive that names no cluster yet accepts any.
     */
    private static void requireArchiveCluster(Repository repository, BackupRequested request, String bucket,
                                              String repositoryPrefix, String systemIdentifier) {
        Optional<dev.lifeboat.repository.wal.WalArchive.Identity> archive;
        try {
            archive = repository.wal().identity();
        } catch (RuntimeException e) {
            throw new BackupFailure("UPLOAD", "cannot read which cluster the WAL archive of s3://" + bucket + "/"
                    + repositoryPrefix + " belongs to: " + e.getMessage(), e);
        }
        if (archive.isPresent() && !archive.get().systemIdentifier().equals(systemIdentifier)) {
            throw new BackupFailure("CONNECT", "refusing base backup " + request.backupId() + " of source "
                    + request.sourceId() + ": its server is the PostgreSQL cluster with system identifier "
                    + systemIdentifier + ", but the source's WAL archive s3://" + bucket + "/" + repositoryPrefix
                    + "/wal/ belongs to the cluster with system identifier " + archive.get().systemIdentifier()
                    + " (the data directory was re-initialised, or the source now names another server); nothing "
                    + "was kept as a backup. Either register this server under a new source id, or start a new "
                    + "archive for source " + request.sourceId() + ": POST /api/v1/sources/" + request.sourceId()
                    + "/wal-archive/retire?systemIdentifier=" + archive.get().systemIdentifier() + " on "
                    + "snapshot-worker (role lifeboat-admin) moves the old archive aside");
        }
    }

    private static <T> T joined(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /**
     * SnapshotCreated for the manifest of this backup that an earlier delivery already wrote (it stopped before
     * announcing it), or empty. Announcing that manifest, not backing up again, is what keeps one backup one manifest
     * in one chain: an INCREMENTAL written twice would be refused, a FULL written twice would start a second chain.
     *
     * <p>Only a manifest this worker pool wrote is announced: the one the ledger recorded for this backup (key, chain
     * and SHA-256, recorded before it was stored), read as that hash. The bucket is not trusted and backup ids can be
     * known in advance (whoever publishes BackupRequested chooses them): a manifest put there under this id by anyone
     * else, however well it describes the backup, is not announced (which would have storage-worker seal exactly its
     * bytes). The backup is then taken again ({@link SnapshotWriter#foreignManifestsChecked}): a FULL into a new chain,
     * another type over that manifest in its chain.
     */
    private Optional<SnapshotCreated> alreadyWritten(BackupRequested request, SchedulerClient.SourceInfo source,
                                                     String bucket, String repositoryPrefix, OffsiteDestination offsite,
                                                     ChainContext chain) {
        Optional<Manifest> manifest;
        Optional<JobLedger.WrittenManifest> mine = Optional.empty();
        try {
            Optional<Repository> repository = repositories.open(bucket, repositoryPrefix);
            if (repository.isEmpty()) {
                return Optional.empty();
            }
            mine = ledger.manifestOf(request.backupId()).filter(m -> m.key()
                    .equals(repository.get().layout().manifest(m.chainId(), request.backupId())));
            manifest = ours(repository.get(), request, mine);
            if (manifest.isEmpty()) {
                reportForeign(repository.get(), request, chain);
            }
        } catch (Repositories.MissingMasterKeyException e) {
            throw new BackupFailure("UPLOAD", e.getMessage(), e);
        } catch (BackupFailure e) {
            throw e;
        } catch (RuntimeException e) {
            throw new BackupFailure("UPLOAD", "cannot look for backup " + request.backupId() + " in repository s3://"
                    + bucket + "/" + repositoryPrefix + ": " + e.getMessage(), e);
        }
        if (manifest.isEmpty()) {
            return Optional.empty();
        }
        registry.counter("lifeboat_backups_announced_from_manifest_total").increment();
        LOG.infof("backup %s of %s was already written (chain %s, %s) by an earlier delivery: announcing that "
                + "manifest", request.backupId(), request.sourceId(), manifest.get().chainId(), manifest.get().type());
        // the versions are not in the manifest; the time it was written stands for both ends of the earlier attempt
        Instant written = manifest.get().createdAt();
        return Optional.of(snapshotCreated(request, source, bucket, repositoryPrefix, manifest.get(),
                mine.get().sha256(), null, null, written, written, offsite));
    }

    /** The manifest the ledger recorded for this backup, if it is in the bucket as recorded; else empty. */
    private Optional<Manifest> ours(Repository repository, BackupRequested request,
                                   Optional<JobLedger.WrittenManifest> mine) {
        if (mine.isEmpty()) {
            return Optional.empty();
        }
        try {
            return repository.sealedManifest(mine.get().chainId(), request.backupId(), mine.get().sha256());
        } catch (ManifestMismatchException e) {
            // the recorded manifest was never stored (the attempt stopped in between), and another is in its place
            LOG.warnf("backup %s: %s", request.backupId(), e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Says so when the repository holds a manifest of this backup that this worker pool did not write (or not with
     * these bytes): it is not announced, and the backup is taken again.
     */
    private void reportForeign(Repository repository, BackupRequested request, ChainContext chain) {
        Optional<Manifest> found;
        try {
            found = repository.findManifest(chain,
                    dev.lifeboat.repository.snapshot.BackupType.valueOf(request.type().name()));
        } catch (ObjectTooLargeException e) {
            found = Optional.empty();
            LOG.warnf("backup %s: %s", request.backupId(), e.getMessage());
        }
        if (found.isPresent()) {
            registry.counter("lifeboat_backup_manifests_not_announced_total").increment();
            LOG.warnf("backup %s of %s: repository s3://%s/%s holds a manifest of it in chain %s that this worker pool "
                    + "did not write (the job ledger records no such manifest, or another hash): not announced, "
                    + "someone who can write to the bucket may have put it there. The backup is taken again",
                    request.backupId(), request.sourceId(), repository.bucket(), repository.layout().prefix(),
                    found.get().chainId());
        }
    }

    /**
     * {@code writtenSha256}: the manifest's SHA-256 as this attempt stored it, or null to read the stored manifest
     * back (one written by an earlier attempt, or by a writer that does not report it).
     */
    private SnapshotCreated snapshotCreated(BackupRequested request, SchedulerClient.SourceInfo source, String bucket,
                                            String repositoryPrefix, Manifest manifest, String writtenSha256,
                                            String serverVersion, String pgDumpVersion, Instant startedAt,
                                            Instant finishedAt, OffsiteDestination offsite) {
        String manifestKey = new Layout(repositoryPrefix).manifest(manifest.chainId(), manifest.backupId());
        String manifestSha = writtenSha256 != null ? writtenSha256 : manifestSha256(bucket, manifestKey);
        long storedBytes = manifest.distinctChunks().keySet().stream().mapToLong(Manifest.ChunkRef::storedSize).sum();
        Manifest.Stats stats = manifest.stats();
        boolean promoted = request.type() != BackupType.FULL
                && manifest.type() == dev.lifeboat.repository.snapshot.BackupType.FULL;
        RepositoryStats repository = new RepositoryStats(RepositoryStats.CHUNKED_V1, manifest.chainId(),
                manifest.parentBackupId(), request.type(), promoted, stats.bytesRead(),
                stats.bytesUploaded(), stats.chunksTotal(), stats.chunksUploaded());
        SnapshotCreated created = new SnapshotCreated(request.backupId(), request.sourceId(), request.policyId(),
                BackupType.valueOf(manifest.type().name()), source.database(), bucket, manifestKey, storedBytes,
                stats.bytesRead(), manifestSha, serverVersion, pgDumpVersion, workerId(), startedAt, finishedAt,
                repository, offsite);
        Manifest.Physical p = manifest.physical();
        return p == null ? created.withMethod(SnapshotCreated.LOGICAL, null)
                : created.withMethod(SnapshotCreated.PHYSICAL, new PhysicalBackupInfo(p.systemIdentifier(),
                p.pgVersion(), p.timeline(), p.startLsn(), p.stopLsn(), p.startWalSegment(), p.startTime(),
                p.stopTime()));
    }

    /**
     * The policy's second destination as storage-worker needs it: the source's repository there, laid out like
     * the primary one ({@code <prefix>/<sourceId>}, the default prefix when the policy names none).
     */
    static OffsiteDestination offsiteOf(SchedulerClient.PolicyInfo policy, String sourceId, String defaultPrefix) {
        if (policy.offsite() == null || policy.offsite().bucket() == null) {
            return null;
        }
        String prefix = policy.offsite().prefix() != null ? policy.offsite().prefix() : defaultPrefix;
        return new OffsiteDestination(policy.offsite().bucket(), repositoryPrefix(prefix, sourceId));
    }

    /** The policy's maxDuration from the start of the backup; the worker's default when the policy has none. */
    static Deadline deadlineOf(SchedulerClient.PolicyInfo policy, Instant startedAt, Duration fallback) {
        if (policy.maxDuration() == null || policy.maxDuration().isBlank()) {
            return Deadline.after(startedAt, fallback, "the worker's default, lifeboat.snapshot.max-duration: "
                    + "policy '" + policy.id() + "' names none");
        }
        try {
            Duration d = Duration.parse(policy.maxDuration());
            if (d.isNegative() || d.isZero()) {
                throw new DateTimeParseException("not positive", policy.maxDuration(), 0);
            }
            return Deadline.after(startedAt, d, "maxDuration of policy '" + policy.id() + "'");
        } catch (DateTimeParseException e) {
            throw new BackupFailure("LOOKUP", "policy '" + policy.id() + "' has maxDuration '" + policy.maxDuration()
                    + "', which is not a positive ISO-8601 duration such as PT6H; nothing was backed up. Correct "
                    + "the policy in scheduler-service");
        }
    }

    /** One repository, hence one line of chains, per source: {@code <prefix>/<sourceId>}. */
    public static String repositoryPrefix(String prefix, String sourceId) {
        return dev.lifeboat.repository.snapshot.Layout.repositoryPrefix(prefix, sourceId);
    }

    /**
     * The source's repository. One that exists is used at once, so the writer's own checks (is the backup there
     * already, which chain) run while pg_dump works; a new one is created only once pg_dump has produced something
     * ({@code files.hasNext()}), so a pg_dump that fails at its start leaves nothing at all in the bucket.
     */
    private Repository openRepository(String bucket, String repositoryPrefix, java.util.Iterator<?> files) {
        try {
            Optional<Repository> existing = repositories.open(bucket, repositoryPrefix);
            if (existing.isPresent()) {
                return existing.get();
            }
            files.hasNext();
            return repositories.openOrInit(bucket, repositoryPrefix);
        } catch (BackupFailure e) {
            throw e;
        } catch (Repositories.MissingMasterKeyException e) {
            throw new BackupFailure("UPLOAD", e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new BackupFailure("UPLOAD", "cannot open the backup repository s3://" + bucket + "/"
                    + repositoryPrefix + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the dump into the source's repository while pg_dump runs: chunks first, the manifest last, once pg_dump
     * has completed the dump, so a failure of either leaves no backup (only chunks that the next backup of the chain
     * reuses). A failure of the dump keeps its stage (DUMP); any other is the upload's.
     */
    private WriteResult write(BackupRequested request, String bucket, String repositoryPrefix, PgDump.Running dump,
                              ChainContext chain,
                              java.util.function.Supplier<TableFingerprints> tables) {
        java.util.Iterator<dev.lifeboat.repository.snapshot.SnapshotWriter.Entry> files = dump.files();
        Repository repository = openRepository(bucket, repositoryPrefix, files);
        try {
            String backup = "backup " + request.backupId();
            WriteResult result = repository.writer(Chunker.Sizes.DUMP)
                    .beforeManifest(() -> crashPoints.reached(CrashPoint.BEFORE_MANIFEST, backup))
                    .recordManifest(recorder(request, new AtomicReference<>()))
                    .foreignManifestsChecked()
                    .readers(dump.jobs())
                    .writeStreamed(files,
                            dev.lifeboat.repository.snapshot.BackupType.valueOf(request.type().name()),
                            chain, tables);
            long dumpBytes = result.manifest().totalSize();
            progress(request, "DUMPING", dumpBytes, 100);
            progress(request, "UPLOADING", dumpBytes, 100);
            return result;
        } catch (BackupFailure e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new BackupFailure("UPLOAD", "writing backup " + request.backupId() + " into repository s3://"
                    + bucket + "/" + repositoryPrefix + " failed: " + e.getMessage(), e);
        }
    }

    /** SHA-256 of the manifest object as stored: what storage-worker checks before it verifies the chunks. */
    private String manifestSha256(String bucket, String manifestKey) {
        try (InputStream in = repositories.store().open(bucket, manifestKey)) {
            return Sha256.of(in).sha256();
        } catch (IOException | RuntimeException e) {
            throw new BackupFailure("UPLOAD", "cannot read back manifest s3://" + bucket + "/" + manifestKey + ": "
                    + e.getMessage(), e);
        }
    }

    private SchedulerClient.SourceInfo lookupSource(String sourceId) {
        try {
            return scheduler.source(sourceId);
        } catch (WebApplicationException e) {
            if (e.getResponse().getStatus() == 404) {
                throw new BackupFailure("LOOKUP", "source '" + sourceId + "' is not registered in scheduler-service");
            }
            throw new BackupFailure("LOOKUP", "scheduler-service answered " + e.getResponse().getStatus()
                    + " for source '" + sourceId + "'", e);
        } catch (RuntimeException e) {
            // the cause decides: scheduler-service away is transient (retried, then parked), not a failed backup
            throw new BackupFailure("LOOKUP", "cannot reach scheduler-service to look up source '" + sourceId + "': "
                    + e.getMessage(), e);
        }
    }

    private SchedulerClient.PolicyInfo lookupPolicy(String policyId) {
        try {
            return scheduler.policy(policyId);
        } catch (WebApplicationException e) {
            if (e.getResponse().getStatus() == 404) {
                throw new BackupFailure("LOOKUP", "policy '" + policyId + "' is not registered in scheduler-service");
            }
            throw new BackupFailure("LOOKUP", "policy '" + policyId + "' could not be read from scheduler-service ("
                    + e.getResponse().getStatus() + ")", e);
        } catch (RuntimeException e) {
            throw new BackupFailure("LOOKUP", "cannot reach scheduler-service to look up policy '" + policyId + "': "
                    + e.getMessage(), e);
        }
    }

    private void progress(BackupRequested request, String phase, long bytes, Integer percent) {
        events.progress(new BackupProgress(request.backupId(), request.sourceId(), phase, bytes, percent, workerId()));
    }

    private static Integer percent(long done, long total) {
        return total <= 0 ? null : (int) Math.min(99, done * 100 / total);
    }

    static long directorySize(Path dir) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0; // pg_dump may be replacing the file right now
                }
            }).sum();
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.warnf("cannot delete spool file %s: %s", p, e.getMessage());
                }
            });
        } catch (IOException e) {
            LOG.warnf("cannot clean spool %s: %s", dir, e.getMessage());
        }
    }
}
