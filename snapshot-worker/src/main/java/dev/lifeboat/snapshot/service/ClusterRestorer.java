package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.time.Instant;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.contracts.recovery.ClusterTarget;
import dev.lifeboat.contracts.recovery.RecoveryTarget;
import dev.lifeboat.contracts.recovery.RemoveCluster;
import dev.lifeboat.contracts.recovery.RestoreCluster;
import dev.lifeboat.kit.recovery.CommandLedger;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.keys.WrongKeyException;
import dev.lifeboat.repository.snapshot.CorruptChunkException;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.SnapshotReader;
import dev.lifeboat.repository.wal.ForeignClusterException;
import dev.lifeboat.repository.wal.WalArchive;
import dev.lifeboat.repository.wal.WalIntegrityException;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.snapshot.archiver.LeaseStore;
import dev.lifeboat.snapshot.config.RecoveryConfig;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import dev.lifeboat.snapshot.domain.CommandFailure;
import dev.lifeboat.snapshot.domain.TransientFailure;
import io.opentelemetry.instrumentation.annotations.WithSpan;

/**
 * RestoreCluster: a physical base backup (the manifest's {@code base.tar}, pg_basebackup's tar stream) is fetched and
 * decrypted {@code chunks-in-flight} chunks ahead while a {@link TarExtractor} writes its files into a new data
 * directory with {@code extract-writers} threads (nothing spooled, hostile entries refused), recovery is
 * configured (recovery.signal, port, 127.0.0.1, archive_mode off, the recovery target, promote), PostgreSQL is started
 * and replays the source's archived WAL, which a {@link WalPrefetcher} fetches ahead of replay for restore_command.
 * The reply says where the cluster runs and how long fetching, WAL replay and starting took. A hole in the archive
 * before the target refuses the restore with the last reachable point. The cluster's socket lives in its private
 * work directory and admits only this worker's checks ({@link #socketTarget}); TCP keeps the source's own pg_hba,
 * except that it asks for a password where the source's lines trusted the client ({@link #withPasswordsOverTcp}).
 * RemoveCluster stops such a cluster and removes its directories. Nothing outside the worker's configured data roots is ever created or removed.
 */
@ApplicationScoped
public class ClusterRestorer {
    private static final Logger LOG = Logger.getLogger(ClusterRestorer.class);
    /** Whatever chunks-in-flight says: each chunk in flight holds up to two chunks of memory. */
    private static final int MAX_CHUNKS_IN_FLIGHT = 64;
    /** Whatever extract-writers says: each holds four 1 MiB buffers, and more than the cores only wait. */
    private static final int MAX_EXTRACT_WRITERS = 16;
    /** recovery_init_sync_method came with PostgreSQL 14. */
    private static final int FIRST_WITH_INIT_SYNC_METHOD = 14;
    static final String BASE_TAR = "base.tar";
    static final String WAL_TAR = "pg_wal.tar";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final Pattern START = Pattern.compile("START WAL LOCATION: ([0-9A-F]+/[0-9A-F]+) \\(file ([0-9A-F]{24})\\)");
    private static final Pattern TIMELINE = Pattern.compile("START TIMELINE: ([0-9]+)");
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));
    /** Unix socket paths are limited to 107 bytes; longer directories get no socket (TCP on 127.0.0.1 only). */
    private static final int MAX_SOCKET_DIR = 90;
    private static final int LOG_TAIL_LINES = 12;
    private static final String IDENT_MAP = "lifeboat_restore";
    /** TCP for the source's roles with their passwords: the restore's pg_hba.conf when the backup's is not kept. */
    private static final String DEFAULT_HBA = "host all all 127.0.0.1/32 scram-sha-256\n";
    private static final Pattern PLAIN_ROLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,62}");
    /** PostgreSQL's recovery_target_time accepts no ISO-8601 'T' and 'Z': a space and an explicit offset instead. */
    private static final java.time.format.DateTimeFormatter PG_TIME = java.time.format.DateTimeFormatter
            .ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS'+00'").withZone(java.time.ZoneOffset.UTC);

    @Inject
    SnapshotConfig snapshots;
    @Inject
    RecoveryConfig config;
    @Inject
    Repositories repositories;
    @Inject
    LeaseStore leases;

    /** The reply's result on success; {@link CommandFailure} or {@link TransientFailure} otherwise. */
    @WithSpan("ClusterRestorer.restore")
    public Map<String, Object> restore(RestoreCluster cmd, CommandLedger.Claim claim) {
        long started = System.nanoTime();
        BackupLocation backup = cmd.backup();
        if (backup == null || backup.backupId() == null || backup.bucket() == null || backup.chainId() == null) {
            throw new CommandFailure("RestoreCluster " + cmd.commandId() + " names no complete backup location");
        }
        SealedLocations.check("RestoreCluster " + cmd.commandId(), backup);
        RecoveryTarget target = cmd.recoveryTarget() == null ? RecoveryTarget.latest() : cmd.recoveryTarget();
        target.problem().ifPresent(p -> {
            throw new CommandFailure("RestoreCluster " + cmd.commandId() + ": recovery target " + p);
        });
        Paths paths = paths(cmd.target());
        stopAtDeadline(cmd, "before preparing the data directory");
        if (!Files.exists(paths.data()) && Files.exists(paths.work())) {
            // no cluster runs without its data directory: the work directory of one removed by hand, or of a restore
            // that ended with its worker before it could clean up, holds nothing anyone needs
            LOG.infof("restore %s: removing %s, left without its data directory %s by an earlier restore",
                    cmd.commandId(), paths.work(), paths.data());
            deleteRecursively(paths.work());
        }
        if (Files.exists(paths.data())) {
            if (!claim.createdResource().filter(paths.data().toString()::equals).isPresent()) {
                throw new CommandFailure("data directory " + paths.data() + " already exists and was not created by "
                        + "command " + cmd.commandId() + "; refusing to restore over it (remove it, or restore under "
                        + "another name)");
            }
            LOG.infof("restore %s: an earlier attempt created %s; removing its partial restore", cmd.commandId(),
                    paths.data());
            remove(paths);
        }
        requireFreePort(cmd.target().port());
        long manifestStart = System.nanoTime();
        Repository repository = repository(backup);
        Manifest manifest = manifest(repository, backup);
        long manifestMillis = millisSince(manifestStart);
        if (manifest.files().stream().noneMatch(f -> f.path().equals(BASE_TAR))) {
            throw new CommandFailure("backup " + backup.backupId() + " is not a physical base backup (its manifest "
                    + "has no " + BASE_TAR + "); restore it with RestoreDatabase");
        }
        claim.created(paths.data().toString());
        try {
            return restoreInto(cmd, target, paths, repository, manifest, started, manifestMillis);
        } catch (RuntimeException e) {
            if (!(e instanceof CommandLedger.LedgerUnavailableException)) {
                removeQuietly(cmd.commandId(), paths);
            }
            throw e;
        }
    }

    private Map<String, Object> restoreInto(RestoreCluster cmd, RecoveryTarget target, Paths paths,
                                            Repository repository, Manifest manifest, long started,
                                            long manifestMillis) {
        long fetchStart = System.nanoTime();
        // the OS user's only once the worker has written everything in it (handOver, below): until then nobody else
        // can enter it, so nothing in it can be swapped for a link under the worker's writes
        createDirectory(paths.data(), true);
        // the worker's, readable by the OS user's group only: restore_command's script, its plan and the fetched WAL.
        // The OS user (and with it the code of any cluster restored before, which runs as the same user) can neither
        // rename nor replace what is in them, so the prefetcher's writes, renames and removals stay in them
        createWorkerDirectory(paths.work());
        createWorkerDirectory(paths.wal());
        // the OS user's, private: the cluster's log, its socket (which admits this worker's OS user without a
        // password) and restore_command's marks of what it took
        createOwned(paths.run(), true);
        Extraction extraction;
        TarExtractor.SkippedLinks skippedLinks;
        int writers = Math.clamp(config.cluster().extractWriters(), 1, MAX_EXTRACT_WRITERS);
        try (TarExtractor extractor = new TarExtractor(paths.data(), clusterOwner(), writers,
                config.cluster().stopTimeout(), config.cluster().directIo())) {
            extraction = extract(cmd, repository, manifest, extractor, BASE_TAR, paths.data());
            if (manifest.files().stream().anyMatch(f -> f.path().equals(WAL_TAR))) {
                extraction = extraction.plus(extract(cmd, repository, manifest, extractor, WAL_TAR,
                        paths.data().resolve("pg_wal")));
            }
            extractor.finish();
            skippedLinks = extractor.skippedLinks();
        } catch (IOException e) {
            throw new CommandFailure("cannot give the restored files in " + paths.data() + " their modes and owner "
                    + config.cluster().osUser() + ": " + e.getMessage(), e);
        }
        long fetchMillis = millisSince(fetchStart);
        BackupStart start = backupStart(paths.data(), cmd.backup().backupId());
        int major = major(paths.data());
        Path bin = snapshots.pgInstallRoot().resolve(String.valueOf(major)).resolve("bin");
        if (!Files.isExecutable(bin.resolve("pg_ctl"))) {
            throw new CommandFailure("no PostgreSQL " + major + " server on this worker (looked for " + bin
                    + "/pg_ctl); a physical backup restores only on its own major version");
        }
        LOG.infof("restore %s: extracted base backup %s (%d bytes) into %s in %d ms; WAL from %s (timeline %d)",
                cmd.commandId(), cmd.backup().backupId(), manifest.totalSize(), paths.data(), fetchMillis,
                WalNames.formatLsn(start.lsn()), start.timeline());

        long checkStart = System.nanoTime();
        String cluster = systemIdentifier(paths.data(), manifest);
        WalArchive wal = archiveOf(repository.wal(), cluster, cmd.backup().backupId());
        String from = firstSegmentToFetch(paths.data(), start.segment(), wal.segmentSize());
        // read before the listing: whatever the archivers stored until now, the listing shows
        Optional<LeaseStore.ArchiveHead> head = target.kind() == RecoveryTarget.Kind.LATEST
                ? archiveHead(cmd) : Optional.empty();
        WalArchive.Listing listing = wal.list();
        WalArchive.Continuity continuity = wal.continuity(from, listing);
        refuseEmptyArchive(cmd, target, wal, start, from, listing, continuity);
        refuseUnreachable(cmd, target, wal, continuity);
        refuseBeyondArchive(target, wal, continuity, from, listing, start);
        HeadCheck archiveHead = target.kind() == RecoveryTarget.Kind.LATEST
                ? refuseShorterThanStored(target, wal, cluster, continuity, from, head) : null;
        List<String> plan = walPlan(wal, listing, continuity, from);
        long walCheckMillis = millisSince(checkStart);
        RestoredConfiguration settings = writeRecoverySettings(cmd, target, paths, bin, major);
        if (skippedLinks.count() > 0) {
            LOG.warnf("restore %s: %d symbolic links of the base backup were not made: %s", cmd.commandId(),
                    skippedLinks.count(), String.join("; ", skippedLinks.shown()));
        }
        stopAtDeadline(cmd, "after extracting the base backup, before starting PostgreSQL");
        handOver(paths.data());

        WalPrefetcher prefetcher = new WalPrefetcher(wal, cluster, plan, paths.wal(), paths.run(),
                paths.work().resolve("failed"), Math.max(1, config.cluster().prefetch()));
        try (prefetcher) {
            try {
                prefetcher.start();
            } catch (IllegalStateException e) {
                throw new CommandFailure(e.getMessage(), e);
            }
            if (!ROOT) {
                LOG.warnf("restore %s: the restored cluster runs as this worker's own OS user; code its source's "
                        + "superuser left in the catalogs (triggers, index expressions, C functions) could read this "
                        + "worker's secrets: restore sources you do not trust only on a worker that runs as root "
                        + "(README, known limits)", cmd.commandId());
            }
            long replayStart = System.nanoTime();
            pgCtl(bin, List.of("-D", paths.data().toString(), "-l", paths.log().toString(), "-W", "start"),
                    Duration.ofSeconds(60), "start PostgreSQL in " + paths.data());
            long pgCtlMillis = millisSince(replayStart);
            awaitPromoted(cmd, paths, continuity, wal);
            if (archiveHead != null && archiveHead.mustReach().isPresent()) {
                refuseShortReplay(target, paths, wal, archiveHead.mustReach().get());
            }
            long replayMillis = millisSince(replayStart);
            long readyStart = System.nanoTime();
            awaitAcceptingConnections(cmd, bin, paths);
            long startMillis = millisSince(readyStart);
            stopAtDeadline(cmd, "after PostgreSQL was promoted");
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("host", "127.0.0.1");
            result.put("port", cmd.target().port());
            result.put("dataDirectory", paths.data().toString());
            result.put("majorVersion", major);
            result.put("recoveryTarget", target.describe());
            result.put("baseBackupStartLsn", WalNames.formatLsn(start.lsn()));
            result.put("systemIdentifier", cluster);
            result.put("walArchive", wal.location());
            if (archiveHead != null) {
                result.put("archiveHead", archiveHead.note());
            }
            // what of the source's data directory the restored cluster does not have, for the DBA to look at
            result.put("settingsNotKept", List.copyOf(new TreeSet<>(settings.notKept())));
            if (settings.notKeptUnlisted() > 0) {
                result.put("settingsNotKeptUnlisted", settings.notKeptUnlisted());
            }
            result.put("symbolicLinksNotMade", skippedLinks.count());
            result.put("baseBytes", manifest.totalSize());
            result.put("walFilesFetched", prefetcher.delivered());
            result.put("walBytesFetched", prefetcher.bytes());
            logLine(paths.log(), "recovery stopping [^\n]*").ifPresent(l -> result.put("recoveryStop", l));
            logLine(paths.log(), "last completed transaction was at log time [^\n]*")
                    .ifPresent(l -> result.put("lastTransaction", l));
            logLine(paths.log(), "selected new timeline ID: [0-9]+").ifPresent(l -> result.put("timeline", l));
            result.put("manifestMillis", manifestMillis);
            result.put("fetchMillis", fetchMillis);
            result.put("extractWriteMillis", extraction.writerWaitNanos() / 1_000_000);
            result.put("chunkWaitMillis", extraction.chunkWaitNanos() / 1_000_000);
            result.put("writeMillis", extraction.writeNanos() / 1_000_000);
            result.put("extractedFiles", extraction.files());
            result.put("walCheckMillis", walCheckMillis);
            result.put("walFetchMillis", prefetcher.fetchMillis());
            result.put("walWaits", prefetcher.waits());
            result.put("replayMillis", replayMillis);
            result.put("startMillis", startMillis);
            result.put("totalMillis", millisSince(started));
            LOG.infof("restore %s: ready on 127.0.0.1:%d in %d ms: manifest %d ms; base backup %d MB, %d files in %d ms "
                            + "(waiting for chunks %d ms of it, for the file writers %d ms; %d writers busy %d ms "
                            + "summed); WAL archive checks %d ms; pg_ctl start "
                            + "%d ms; replay until promoted %d ms (%d WAL files, %d MB, fetched in %d ms summed over "
                            + "parallel fetches; restore_command waited for %d of them); accepting connections %d ms",
                    cmd.commandId(), cmd.target().port(), millisSince(started), manifestMillis,
                    manifest.totalSize() / 1_000_000, extraction.files(), fetchMillis,
                    extraction.chunkWaitNanos() / 1_000_000, extraction.writerWaitNanos() / 1_000_000,
                    writers, extraction.writeNanos() / 1_000_000, walCheckMillis, pgCtlMillis,
                    replayMillis, prefetcher.delivered(), prefetcher.bytes() / 1_000_000, prefetcher.fetchMillis(),
                    prefetcher.waits(), startMillis);
            return result;
        } finally {
            try {
                deleteRecursively(paths.wal());
            } catch (CommandFailure e) {
                // never in place of the restore's own outcome: the files only take space until the cluster is removed
                LOG.warnf("restore %s: its fetched WAL stays in %s: %s", cmd.commandId(), paths.wal(), e.getMessage());
            }
        }
    }

    /**
     * What RemoveCluster did: whether the cluster's directories existed, and what it found amiss on the way (a pid
     * file or PG_VERSION that is no regular file, say), none of which keeps it from stopping the cluster and removing
     * its directories.
     */
    public record Removal(boolean existed, List<String> notes) {
    }

    /** RemoveCluster: stops the cluster (immediate) if it runs and removes its directories. */
    @WithSpan("ClusterRestorer.remove")
    public Removal remove(RemoveCluster cmd) {
        Paths paths = paths(cmd.target());
        boolean existed = Files.exists(paths.data(), LinkOption.NOFOLLOW_LINKS)
                || Files.exists(paths.work(), LinkOption.NOFOLLOW_LINKS);
        List<String> notes = new ArrayList<>();
        remove(paths, notes);
        return new Removal(existed, List.copyOf(notes));
    }

    // ---------------------------------------------------------------- target

    /** Where a cluster target lives: its data directory and, beside it, the restore's own files. */
    record Paths(Path root, Path data, Path work) {
        Path wal() {
            return work.resolve("wal");
        }

        /** The cluster's OS user's own directory in the work directory: log, socket, restore_command's marks. */
        Path run() {
            return work.resolve("run");
        }

        Path log() {
            return run().resolve("postgres.log");
        }
    }

    /** The target's directories, only under a data root this worker allows and only on an allowed port. */
    Paths paths(ClusterTarget t) {
        if (t == null || t.dataRoot() == null || t.name() == null) {
            throw new CommandFailure("cluster target missing or incomplete (dataRoot, name, port)");
        }
        if (!NAME.matcher(t.name()).matches()) {
            throw new CommandFailure("cluster name '" + clip(t.name()) + "' is not a plain name (lowercase letters, "
                    + "digits, '_' and '-', at most 63)");
        }
        List<Path> roots = config.cluster().dataRoots().orElse(List.of()).stream().filter(r -> !r.isBlank())
                .map(r -> Path.of(r.trim()).toAbsolutePath().normalize()).toList();
        Path root = Path.of(t.dataRoot()).normalize();
        if (!Path.of(t.dataRoot()).isAbsolute() || !roots.contains(root)) {
            throw new CommandFailure("data root '" + clip(t.dataRoot()) + "' is not one this worker allows ("
                    + (roots.isEmpty() ? "none configured: lifeboat.recovery.cluster.data-roots" : roots) + ")");
        }
        requireRootOnlyPath(root);
        int[] range = ports();
        if (t.port() < range[0] || t.port() > range[1]) {
            throw new CommandFailure("port " + t.port() + " is not one this worker allows (" + range[0] + "-"
                    + range[1] + ", lifeboat.recovery.cluster.ports)");
        }
        return new Paths(root, root.resolve(t.name()), root.resolve(t.name() + ".restore"));
    }

    private int[] ports() {
        String spec = config.cluster().ports().trim();
        try {
            String[] parts = spec.split("-", 2);
            int first = Integer.parseInt(parts[0].trim());
            int last = parts.length > 1 ? Integer.parseInt(parts[1].trim()) : first;
            return new int[] {first, last};
        } catch (RuntimeException e) {
            throw new CommandFailure("lifeboat.recovery.cluster.ports '" + spec + "' is not first-last");
        }
    }

    private static void requireFreePort(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            throw new CommandFailure("port " + port + " on 127.0.0.1 is in use; a restored cluster needs a free one");
        } catch (IOException free) {
            // nothing listens there
        }
    }

    // ---------------------------------------------------------------- base backup

    private Repository repository(BackupLocation backup) {
        String where = "s3://" + backup.bucket() + "/" + backup.repositoryPrefix();
        try {
            return repositories.open(backup.bucket(), backup.repositoryPrefix()).orElseThrow(() ->
                    new CommandFailure("no backup repository at " + where + " (backup " + backup.backupId() + ")"));
        } catch (CommandFailure e) {
            throw e;
        } catch (Repositories.MissingMasterKeyException | WrongKeyException e) {
            throw new CommandFailure("cannot open the backup repository " + where + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new TransientFailure("object store failed opening the backup repository " + where + ": "
                    + e.getMessage(), e);
        }
    }

    private static Manifest manifest(Repository repository, BackupLocation backup) {
        String expectedKey = repository.layout().manifest(backup.chainId(), backup.backupId());
        if (backup.manifestKey() != null && !expectedKey.equals(backup.manifestKey())) {
            throw new CommandFailure("manifest key " + backup.manifestKey() + " of backup " + backup.backupId()
                    + " is not where repository " + repository.location() + " keeps it (" + expectedKey + ")");
        }
        return SealedLocations.manifest(repository, backup);
    }

    /**
     * Writes the backup's {@code file} (a tar) out into {@code into}, its chunks fetched, authenticated and decrypted
     * {@code chunks-in-flight} ahead while the extractor's writers write the files. Says where the time went.
     */
    private Extraction extract(RestoreCluster cmd, Repository repository, Manifest manifest, TarExtractor extractor,
                               String file, Path into) {
        try (SnapshotReader.FileStream in = repository.reader(Math.clamp(config.cluster().chunksInFlight(), 1,
                MAX_CHUNKS_IN_FLIGHT)).open(manifest, file)) {
            TarExtractor.Stats stats = extractor.extract(untilDeadline(cmd, in, "extracting " + file), into,
                    file + " of backup " + manifest.backupId());
            return new Extraction(stats.files(), in.waitNanos(), stats.writerWaitNanos(), stats.writeNanos());
        } catch (CorruptChunkException e) {
            throw new CommandFailure(e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new TransientFailure("object store failed reading " + file + " of backup " + manifest.backupId()
                    + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new CommandFailure("extracting " + file + " of backup " + manifest.backupId() + " into " + into
                    + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * {@code in}, which fails once the command's deadline has passed (then the run has moved on, and a step that
     * timed out must not go on filling the disk): checked at every read, which returns at most a buffer's worth.
     */
    static InputStream untilDeadline(RestoreCluster cmd, InputStream in, String doing) {
        if (cmd.deadline() == null) {
            return in;
        }
        return new java.io.FilterInputStream(in) {
            @Override
            public int read() throws IOException {
                check();
                return super.read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                check();
                return super.read(b, off, len);
            }

            private void check() throws IOException {
                if (Instant.now().isAfter(cmd.deadline())) {
                    throw new IOException("RestoreCluster " + cmd.commandId() + " passed its deadline "
                            + cmd.deadline() + " while " + doing + "; stopped (the run has moved on)");
                }
            }
        };
    }

    /**
     * Where a base backup's extraction spent its time: files written, waiting for chunks (the object store or
     * decryption behind), waiting for the writers (the disk behind), and the writers' own time summed over them.
     */
    record Extraction(long files, long chunkWaitNanos, long writerWaitNanos, long writeNanos) {
        Extraction plus(Extraction o) {
            return new Extraction(files + o.files, chunkWaitNanos + o.chunkWaitNanos,
                    writerWaitNanos + o.writerWaitNanos, writeNanos + o.writeNanos);
        }
    }

    record BackupStart(long lsn, String segment, int timeline) {
    }

    /** Where WAL replay starts, from the backup_label pg_basebackup put into the data directory. */
    private static BackupStart backupStart(Path data, String backupId) {
        Path label = data.resolve("backup_label");
        String text;
        try {
            text = new String(NoFollow.read(label, SMALL_FILE_MAX).orElseThrow(() -> new IOException(
                    "larger than " + SMALL_FILE_MAX + " bytes")), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CommandFailure("backup " + backupId + " has no readable backup_label (" + e.getMessage()
                    + "); it is not a base backup taken by pg_basebackup", e);
        }
        Matcher m = START.matcher(text);
        Matcher t = TIMELINE.matcher(text);
        if (!m.find()) {
            throw new CommandFailure("backup_label of backup " + backupId + " names no START WAL LOCATION");
        }
        return new BackupStart(WalNames.parseLsn(m.group(1)), m.group(2),
                t.find() ? Integer.parseInt(t.group(1)) : WalNames.timeline(m.group(2)));
    }

    private static int major(Path data) {
        try {
            return Integer.parseInt(new String(NoFollow.read(data.resolve("PG_VERSION"), SMALL_FILE_MAX)
                    .orElse(new byte[0]), StandardCharsets.US_ASCII).trim());
        } catch (IOException | NumberFormatException e) {
            throw new CommandFailure("the restored data directory " + data + " has no readable PG_VERSION", e);
        }
    }

    // ---------------------------------------------------------------- WAL

    /**
     * The system identifier of the restored cluster: from its pg_control (the first 8 bytes of global/pg_control,
     * ControlFileData.system_identifier, in the byte order of the server, little-endian on every supported platform),
     * else as the manifest recorded it.
     */
    static String systemIdentifier(Path data, Manifest manifest) {
        try {
            byte[] control = NoFollow.read(data, Path.of("global", "pg_control"), SMALL_FILE_MAX)
                    .orElse(new byte[0]);
            if (control.length >= 8) {
                long id = java.nio.ByteBuffer.wrap(control, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
                if (id != 0) {
                    return Long.toUnsignedString(id);
                }
            }
        } catch (IOException e) {
            LOG.debugf("no readable pg_control in %s: %s", data, e.getMessage());
        }
        String recorded = manifest.physical() == null ? null : manifest.physical().systemIdentifier();
        if (recorded == null) {
            throw new CommandFailure("backup " + manifest.backupId() + " names no system identifier (no readable "
                    + "global/pg_control in its data directory, none in its manifest); its WAL cannot be told from "
                    + "another cluster's");
        }
        return recorded;
    }

    /**
     * The WAL archive of the backup's cluster: the repository's archive when it belongs to that cluster (or recorded
     * none, as archives written before they did: then each segment's header is checked as it is fetched); else an
     * archive of it that was moved aside (wal-retired/) when the source's server was replaced by another cluster.
     * Refused, naming both identifiers, when none belongs to it: replaying another cluster's WAL on these data files
     * would corrupt them.
     */
    private static WalArchive archiveOf(WalArchive current, String cluster, String backupId) {
        Optional<WalArchive.Identity> identity;
        try {
            identity = current.identity();
        } catch (WalIntegrityException e) {
            throw new CommandFailure("the WAL archive " + current.location() + " cannot say which cluster it belongs to: "
                    + e.getMessage(), e);
        }
        if (identity.isEmpty() || identity.get().systemIdentifier().equals(cluster)) {
            return current;
        }
        for (WalArchive retired : current.retired()) {
            try {
                if (retired.identity().map(i -> i.systemIdentifier().equals(cluster)).orElse(false)) {
                    LOG.infof("backup %s is of cluster %s, whose WAL was moved aside to %s; restoring from there",
                            backupId, cluster, retired.location());
                    return retired;
                }
            } catch (WalIntegrityException e) {
                LOG.warnf("retired WAL archive %s skipped: %s", retired.location(), e.getMessage());
            }
        }
        throw new CommandFailure("refusing to restore backup " + backupId + ": it is of the PostgreSQL cluster with "
                + "system identifier " + cluster + ", but the WAL archive " + current.location() + " holds WAL of the "
                + "cluster with system identifier " + identity.get().systemIdentifier()
                + (identity.get().since() == null ? "" : " (since " + identity.get().since() + ")")
                + " and no retired archive (wal-retired/) of the repository is of cluster " + cluster
                + "; WAL of another cluster is never replayed. Restore a base backup of cluster "
                + identity.get().systemIdentifier() + " instead");
    }

    /** The first segment of replay that the base backup did not bring along in pg_wal (-X fetch / -X stream). */
    private static String firstSegmentToFetch(Path data, String startSegment, int segmentSize) {
        long next = WalNames.segmentNumber(startSegment, segmentSize);
        int timeline = WalNames.timeline(startSegment);
        while (Files.isRegularFile(data.resolve("pg_wal").resolve(WalNames.segmentName(timeline, next, segmentSize)))) {
            next++;
        }
        return WalNames.segmentName(timeline, next, segmentSize);
    }

    /**
     * An archive that holds nothing after the base backup's own WAL is one nobody wrote to (the archiver not running
     * for the source, or archiving somewhere else than the backup's repository) as often as one of a source that
     * wrote nothing since: replay would stop at the end of the base backup and promote, and the restore would look
     * complete. It is accepted only when the archive holds the backup's own WAL contiguously from its start segment,
     * which shows the archiver was writing here while the backup ran.
     */
    private static void refuseEmptyArchive(RestoreCluster cmd, RecoveryTarget target, WalArchive wal,
                                           BackupStart start, String from, WalArchive.Listing listing,
                                           WalArchive.Continuity afterBackup) {
        if (afterBackup.lastContiguous().isPresent() || afterBackup.partial().isPresent() || !afterBackup.unbroken()) {
            return;
        }
        long fromNumber = WalNames.segmentNumber(from, wal.segmentSize());
        WalArchive.Continuity ofBackup = wal.continuity(start.segment(), listing);
        boolean backupWalArchived = ofBackup.unbroken() && ofBackup.lastContiguous()
                .map(s -> WalNames.segmentNumber(s, wal.segmentSize()) >= fromNumber - 1).orElse(false);
        if (backupWalArchived) {
            return;
        }
        throw new CommandFailure("refusing to restore to " + target.describe() + ": the WAL archive "
                + wal.location() + " holds nothing from the base backup's start segment " + start.segment()
                + " on, so replay could not go past the base backup; the last reachable point is the end of the base "
                + "backup's own WAL (LSN " + WalNames.formatLsn(WalNames.startLsn(from, wal.segmentSize())) + "). "
                + "Check: is the WAL archiver running for source " + cmd.backup().sourceId()
                + " (lifeboat_wal_archive_streaming, lifeboat.wal.status.v1), and does its archive location match "
                + "the policy's destination (this backup's repository s3://" + cmd.backup().bucket() + "/"
                + cmd.backup().repositoryPrefix() + ")?");
    }

    /**
     * Refuses an LSN target past the end of what the archive holds, and a time target later than the archive's
     * newest WAL was stored (no commit after that instant can be in it; S3 reports whole seconds, hence the second
     * of slack): PostgreSQL would only find out after fetching and replaying everything.
     */
    private static void refuseBeyondArchive(RecoveryTarget target, WalArchive wal, WalArchive.Continuity c,
                                            String from, WalArchive.Listing listing, BackupStart start) {
        if (target.kind() != RecoveryTarget.Kind.LSN && target.kind() != RecoveryTarget.Kind.TIME) {
            return;
        }
        int size = wal.segmentSize();
        Optional<String> newest = c.partial().or(c::lastContiguous);
        long end = newest.map(s -> WalNames.startLsn(s, size) + size).orElse(WalNames.startLsn(from, size));
        String reachable = newest.map(s -> "the end of segment " + s + " (LSN " + WalNames.formatLsn(
                WalNames.startLsn(s, size) + size) + ")" + (c.partial().isPresent()
                ? ", of which only the part written so far is archived" : ""))
                .orElse("the end of the base backup's own WAL (LSN " + WalNames.formatLsn(end) + ")");
        if (target.kind() == RecoveryTarget.Kind.LSN) {
            if (Long.compareUnsigned(WalNames.parseLsn(target.value()), end) > 0) {
                throw new CommandFailure("refusing to restore to " + target.describe() + ": the WAL archive "
                        + wal.location() + " ends before " + target.describe() + "; the last reachable point is "
                        + reachable + ". Restore to a point before it, or check that the WAL archiver runs for the "
                        + "source and archives into this backup's repository");
            }
            return;
        }
        Optional<String> written = newest.or(() -> wal.continuity(start.segment(), listing).lastContiguous());
        Optional<Instant> lastStored = written.flatMap(wal::writtenAt);
        Instant wanted = Instant.parse(target.value());
        if (lastStored.isPresent() && wanted.isAfter(lastStored.get().plusSeconds(1))) {
            throw new CommandFailure("refusing to restore to " + target.describe() + ": the WAL archive "
                    + wal.location() + " ends before " + target.describe() + " (its newest WAL, " + written.get()
                    + ", was stored at " + lastStored.get() + "); the last reachable point is " + reachable
                    + ". Restore to a time before it, or check that the WAL archiver runs for the source and "
                    + "archives into this backup's repository");
        }
    }

    /** How far the source's archivers recorded storing its archive (in this worker's database). */
    private Optional<LeaseStore.ArchiveHead> archiveHead(RestoreCluster cmd) {
        try {
            return leases.archiveHead(cmd.backup().sourceId());
        } catch (SQLException | RuntimeException e) {
            throw new TransientFailure("cannot read how far the WAL archive of source " + cmd.backup().sourceId()
                    + " was stored from snapshot-worker's database (" + e.getMessage() + "); a restore to the latest"
                    + " point needs it to tell an archive shortened in the bucket", e);
        }
    }

    /**
     * Refuses a restore to the latest point from an archive that ends before what the source's archivers recorded
     * storing there (in this worker's database, as they uploaded it): WAL was deleted from the bucket, or older copies
     * put back, after it was archived, and replay would promote at the earlier point as if it were the latest. Only a
     * head of this archive and of the backup's cluster counts: the archive must reach its LSN (a moment after a
     * promotion, before the archivers stored WAL of the new timeline past the old one's head, that refuses a restore
     * the seconds until they have), and its timeline must not be later than the archive's. Returns what was checked,
     * for the reply, and what replay must then reach ({@link #refuseShortReplay}).
     */
    private static HeadCheck refuseShorterThanStored(RecoveryTarget target, WalArchive wal, String cluster,
                                                     WalArchive.Continuity c, String from,
                                                     Optional<LeaseStore.ArchiveHead> recorded) {
        if (recorded.isEmpty()) {
            return new HeadCheck("not checked: no archiver of the source recorded storing WAL yet", Optional.empty());
        }
        LeaseStore.ArchiveHead head = recorded.get();
        if (!wal.location().equals(head.location()) || !cluster.equals(head.systemIdentifier())) {
            return new HeadCheck("not checked: the source's archivers last stored WAL of cluster "
                    + head.systemIdentifier() + " into " + head.location() + ", not of this backup's cluster into "
                    + "this archive", Optional.empty());
        }
        int size = wal.segmentSize();
        // the exact end: a stored partial reaches only as far as its bytes (read and authenticated)
        long end = WalNames.startLsn(from, size);
        String endSegment = from;
        if (c.lastContiguous().isPresent() && WalNames.startLsn(c.lastContiguous().get(), size) + size > end) {
            endSegment = c.lastContiguous().get();
            end = WalNames.startLsn(endSegment, size) + size;
        }
        if (c.partial().isPresent()) {
            String partial = c.partial().get();
            int stored = wal.partialLength(partial);
            // completed since the listing (a busy source): the partial is gone and the whole segment is there
            long partialEnd = WalNames.startLsn(partial, size)
                    + (stored == 0 && wal.hasComplete(partial) ? size : stored);
            if (Long.compareUnsigned(partialEnd, end) > 0) {
                endSegment = c.partial().get();
                end = partialEnd;
            }
        }
        // the names in the listing decide the timeline; only PostgreSQL's replay, checked after it, proves the path
        int endTimeline = WalNames.timeline(endSegment);
        String stored = "WAL up to LSN " + WalNames.formatLsn(head.lsn()) + " of timeline " + head.timeline();
        if (head.timeline() > endTimeline || Long.compareUnsigned(head.lsn(), end) > 0) {
            throw new CommandFailure("refusing to restore to " + target.describe() + ": the WAL archive "
                    + wal.location() + " ends at LSN " + WalNames.formatLsn(end) + " of timeline " + endTimeline
                    + ", but the source's archivers recorded storing " + stored + " there: WAL was removed from the "
                    + "bucket, or older copies put back, after it was archived. Find out who wrote to the bucket; put "
                    + "the missing WAL back from a bucket version, or restore to an explicit LSN or time up to LSN "
                    + WalNames.formatLsn(end) + " if losing what follows is accepted");
        }
        return new HeadCheck("reaches the " + stored + " its archivers recorded", Optional.of(head.lsn()));
    }

    /**
     * What a restore to the latest point checked of the archive's recorded head: {@code note} for the reply, and the
     * LSN replay must then reach when the head is of this archive and cluster.
     */
    private record HeadCheck(String note, Optional<Long> mustReach) {
    }

    /** How far short of the recorded head replay may end: the archive may end inside a record, which is not replayed. */
    static final long HEAD_SLACK = 1L << 20;

    /**
     * Fails a restore to the latest point whose replay ended more than {@link #HEAD_SLACK} before the head its
     * archivers recorded (PostgreSQL's "redo done at", the start of the last record replayed): restore_command found
     * the WAL that should follow missing or not of this path, although the listing seemed to reach the head (names
     * put into the bucket, an older copy of a partial).
     */
    private static void refuseShortReplay(RecoveryTarget target, Paths paths, WalArchive wal, long head) {
        Optional<String> done = logLine(paths.log(), "redo done at [0-9A-F]+/[0-9A-F]+");
        if (done.isEmpty()) {
            throw new CommandFailure("restored to " + target.describe() + " but cannot tell where replay ended (no "
                    + "\"redo done at\" in " + paths.log() + "), so whether it reached the WAL up to LSN "
                    + WalNames.formatLsn(head) + " that the source's archivers recorded storing in " + wal.location()
                    + " cannot be told; the cluster is removed. Restore to an explicit LSN or time instead");
        }
        long ended = WalNames.parseLsn(done.get().substring("redo done at ".length()));
        if (Long.compareUnsigned(ended + HEAD_SLACK, head) < 0) {
            throw new CommandFailure("restore to " + target.describe() + " stopped short: replay ended at LSN "
                    + WalNames.formatLsn(ended) + ", but the source's archivers recorded storing WAL up to LSN "
                    + WalNames.formatLsn(head) + " in " + wal.location() + ": WAL that follows is missing from the "
                    + "bucket or was replaced there; the cluster is removed. Find out who wrote to the bucket; put the "
                    + "missing WAL back from a bucket version, or restore to an explicit LSN or time up to LSN "
                    + WalNames.formatLsn(ended) + " if losing what follows is accepted");
        }
    }

    /**
     * Refuses before anything starts when the target lies past a hole: LATEST always does (replay would stop at the
     * hole and promote, silently losing what follows), an LSN when it is at or after the first missing segment.
     * Time, xid and name targets are found only by replaying: PostgreSQL stops at the hole and the failure names it.
     */
    private static void refuseUnreachable(RestoreCluster cmd, RecoveryTarget target, WalArchive wal,
                                          WalArchive.Continuity c) {
        if (c.unbroken()) {
            return;
        }
        long hole = WalNames.startLsn(c.firstMissing().orElseThrow(), wal.segmentSize());
        boolean past = switch (target.kind()) {
            case LATEST -> true;
            case LSN -> Long.compareUnsigned(WalNames.parseLsn(target.value()), hole) >= 0;
            default -> false;
        };
        if (past) {
            throw new CommandFailure(holeMessage(target, wal, c));
        }
    }

    private static String holeMessage(RecoveryTarget target, WalArchive wal, WalArchive.Continuity c) {
        String missing = c.firstMissing().orElseThrow();
        return "refusing to restore to " + target.describe() + ": WAL segment " + missing + " is missing from "
                + wal.location() + ", so replay cannot pass LSN "
                + WalNames.formatLsn(WalNames.startLsn(missing, wal.segmentSize())) + "; the last reachable point is "
                + c.lastContiguous().map(s -> "the end of segment " + s + " (LSN "
                + WalNames.formatLsn(WalNames.startLsn(s, wal.segmentSize()) + wal.segmentSize()) + ")")
                .orElse("the end of the base backup's own WAL (LSN " + WalNames.formatLsn(WalNames.startLsn(missing,
                        wal.segmentSize())) + ")")
                + "; restore to a point before it, or archive the missing segment";
    }

    /** What restore_command may be given: the history files, then every segment reachable without a hole. */
    private static List<String> walPlan(WalArchive wal, WalArchive.Listing listing, WalArchive.Continuity c,
                                        String from) {
        List<String> plan = new ArrayList<>(listing.histories());
        long first = WalNames.segmentNumber(from, wal.segmentSize());
        long last = c.lastContiguous().map(s -> WalNames.segmentNumber(s, wal.segmentSize())).orElse(first - 1);
        for (String s : listing.segments()) {
            long n = WalNames.segmentNumber(s, wal.segmentSize());
            if (n >= first && n <= last) {
                plan.add(s);
            }
        }
        c.partial().filter(p -> c.unbroken() && WalNames.segmentNumber(p, wal.segmentSize()) == last + 1)
                .ifPresent(plan::add);
        return plan;
    }

    /**
     * recovery.signal and the configuration. The base backup's own {@code postgresql.conf} and
     * {@code postgresql.auto.conf} are set aside ({@code *.from-backup}): the restored cluster's are written here, with
     * only the settings {@link RestoredConfiguration} keeps of them, the hot-standby minimums of the backup's
     * pg_control, and the restore's own. Returns what was kept of the backup's settings and what was not.
     */
    private RestoredConfiguration writeRecoverySettings(RestoreCluster cmd, RecoveryTarget target, Paths paths, Path bin,
                                              int major) {
        Path data = paths.data();
        try {
            Path tablespaceMap = data.resolve("tablespace_map");
            if (Files.exists(tablespaceMap, LinkOption.NOFOLLOW_LINKS)) {
                Optional<byte[]> map = NoFollow.read(tablespaceMap, SMALL_FILE_MAX);
                if (map.isEmpty() || !new String(map.get(), StandardCharsets.ISO_8859_1).isBlank()) {
                    // PostgreSQL would make the links it lists (to any directory) when recovery starts
                    throw new CommandFailure("backup " + cmd.backup().backupId() + " lists tablespaces in its "
                            + "tablespace_map: a cluster with tablespaces, which a point-in-time restore does not "
                            + "restore; nothing was started");
                }
            }
            Path script = paths.work().resolve("restore_command.sh");
            NoFollow.writeFresh(script, WalPrefetcher.restoreCommandScript(paths.wal(), paths.run(),
                    paths.work().resolve("plan"), paths.work().resolve("failed"), config.cluster().walWait())
                    .getBytes(StandardCharsets.UTF_8), "rwxr-xr-x");
            List<String> backupConfig = new ArrayList<>();
            List<String> notRead = new ArrayList<>();
            for (String name : List.of("postgresql.conf", "postgresql.auto.conf")) {
                Path file = data.resolve(name);
                if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                    requireRegularFile(file);
                    // a file larger than any real configuration is not read: none of its settings are kept
                    NoFollow.read(file, CONFIG_FILE_MAX).map(b -> new String(b, StandardCharsets.ISO_8859_1))
                            .ifPresentOrElse(backupConfig::add, () -> notRead.add(name));
                    // a backup of a cluster restored before has its own *.from-backup: the newer file replaces it
                    Path aside = data.resolve(name + ".from-backup");
                    Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING, LinkOption.NOFOLLOW_LINKS);
                    own(aside);
                }
            }
            RestoredConfiguration settings = RestoredConfiguration.of(backupConfig);
            notRead.forEach(name -> settings.fileNotRead(name + " (larger than " + CONFIG_FILE_MAX + " bytes)"));
            RestoredConfiguration.controlMinimums(pgControldata(bin, data)).forEach(settings::atLeast);
            for (String name : List.of("pg_hba.conf", "pg_ident.conf")) {
                if (Files.exists(data.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
                    requireRegularFile(data.resolve(name));
                }
            }
            if (!Files.exists(data.resolve("pg_hba.conf"), LinkOption.NOFOLLOW_LINKS)) {
                // a base backup of a cluster whose configuration lives outside its data directory (Debian)
                Files.writeString(data.resolve("pg_hba.conf"), DEFAULT_HBA,
                        StandardOpenOption.CREATE_NEW, LinkOption.NOFOLLOW_LINKS);
            }
            admitChecksOverSocket(cmd, data);
            String socketDir = paths.run().toString().length() <= MAX_SOCKET_DIR ? paths.run().toString() : "";
            StringBuilder conf = new StringBuilder("# written by the point-in-time restore (RestoreCluster "
                    + cmd.commandId().replaceAll("[^A-Za-z0-9:._-]", "_") + ")\n"
                    + "# the backup's own configuration files are kept beside this one as *.from-backup; settings of\n"
                    + "# theirs that are not below were left out (they may run commands, load libraries or name\n"
                    + "# files): " + settings.describeNotKept() + "\n\n")
                    .append("# kept from the backup, and the source's hot-standby minimums (pg_control)\n")
                    .append(settings.lines())
                    .append("\n# the restore's own\n")
                    .append("port = ").append(cmd.target().port()).append('\n')
                    .append("listen_addresses = '127.0.0.1'\n")
                    .append("unix_socket_directories = '").append(socketDir).append("'\n")
                    .append("archive_mode = off\n")
                    // the source's subscriptions would connect to their publishers (production's, in a drill) and
                    // apply what comes: none starts until a DBA has looked at them
                    .append("max_logical_replication_workers = 0\n")
                    .append("hba_file = '").append(data.resolve("pg_hba.conf")).append("'\n")
                    .append("ident_file = '").append(data.resolve("pg_ident.conf")).append("'\n")
                    .append("hot_standby = on\n")
                    .append("restore_command = '").append(script).append(" %f %p'\n")
                    .append("recovery_target_timeline = 'latest'\n")
                    .append("recovery_target_action = 'promote'\n");
            if (major >= FIRST_WITH_INIT_SYNC_METHOD) {
                // the files were just written and are not on disk yet: PostgreSQL syncs the data directory before
                // replay either way; syncfs does it in one call per file system instead of an fsync per file
                conf.append("recovery_init_sync_method = ").append(config.cluster().initSyncMethod().setting())
                        .append('\n');
            }
            switch (target.kind()) {
                case TIME -> conf.append("recovery_target_time = '").append(PG_TIME.format(Instant.parse(target.value())))
                        .append("'\n");
                case LSN -> conf.append("recovery_target_lsn = '").append(target.value()).append("'\n");
                case XID -> conf.append("recovery_target_xid = '").append(target.value()).append("'\n");
                case NAME -> conf.append("recovery_target_name = '").append(target.value()).append("'\n");
                case LATEST -> { }
            }
            Files.writeString(data.resolve("postgresql.conf"), conf, StandardOpenOption.CREATE_NEW,
                    LinkOption.NOFOLLOW_LINKS);
            // ALTER SYSTEM on the restored cluster writes here
            Files.writeString(data.resolve("postgresql.auto.conf"), "# Do not edit this file manually!\n"
                    + "# It will be overwritten by the ALTER SYSTEM command.\n", StandardOpenOption.CREATE_NEW,
                    LinkOption.NOFOLLOW_LINKS);
            Files.deleteIfExists(data.resolve("standby.signal"));
            Files.deleteIfExists(data.resolve("postmaster.pid"));
            Files.deleteIfExists(data.resolve("recovery.signal"));
            Files.writeString(data.resolve("recovery.signal"), "", StandardOpenOption.CREATE_NEW,
                    LinkOption.NOFOLLOW_LINKS);
            // the script stays the worker's, in the worker's directory
            for (Path p : List.of(data.resolve("postgresql.conf"), data.resolve("pg_hba.conf"),
                    data.resolve("pg_ident.conf"),
                    data.resolve("postgresql.auto.conf"), data.resolve("recovery.signal"))) {
                own(p);
            }
            return settings;
        } catch (IOException e) {
            throw new CommandFailure("cannot write the recovery settings into " + data + ": " + e.getMessage(), e);
        }
    }

    /**
     * The lines of a backup's pg_hba.conf or pg_ident.conf without those that name other files ({@code include},
     * {@code include_if_exists}, {@code include_dir}, {@code @file}): the cluster would read any file its OS user
     * can, and log what it cannot parse of it. Lines are split into tokens as PostgreSQL does: a {@code #} inside
     * double quotes starts no comment, and commas separate tokens as blanks do; a token that names a file is looked
     * for quoted or not. A file with a line that ends in a backslash (PostgreSQL joins it with the next: {@code
     * includ\} then {@code e /etc/passwd}) is not kept at all: {@code fallback} stands in for it, with a note.
     */
    static String withoutFileReferences(String conf, String fallback) {
        String[] lines = conf.split("\r?\n|\r", -1);
        for (String line : lines) {
            if (line.stripTrailing().endsWith("\\")) {
                return "# the backup's file was left out by the restore: it continues a line with a backslash, and\n"
                        + "# such lines can hide a reference to another file; see its copy in the backup\n" + fallback;
            }
        }
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            List<String> tokens = hbaTokens(line);
            boolean names = !tokens.isEmpty() && tokens.getFirst().toLowerCase(java.util.Locale.ROOT)
                    .startsWith("include") || tokens.stream().anyMatch(t -> t.startsWith("@"));
            out.append(names ? "# a line naming another file was left out by the restore" : line).append('\n');
        }
        return out.toString();
    }

    /** pg_hba.conf's connection types over TCP. */
    private static final Set<String> TCP_TYPES = Set.of("host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc");
    /**
     * pg_hba.conf with every TCP line that lets a client in without a password ({@code trust}) or on the word of an
     * ident server ({@code ident}) asking for the role's password instead ({@code md5}: SCRAM for a role whose
     * password is stored as SCRAM, md5 for one stored as md5). The restored cluster listens on the worker's host,
     * not the source's: what the source trusted from its own 127.0.0.1 (its local users, an initdb default) would be
     * any process on the worker's host, connecting as the source's superuser. The line keeps its place, databases,
     * roles and addresses; a comment before it says what changed. Lines of other types, and the other methods, are
     * kept as they are.
     */
    static String withPasswordsOverTcp(String hba) {
        StringBuilder out = new StringBuilder();
        for (String line : hba.split("\r?\n|\r", -1)) {
            List<int[]> fields = hbaFieldSpans(line);
            String method = null;
            int m = -1;
            if (fields.size() > 4 && TCP_TYPES.contains(unquoted(line, fields.get(0)))) {
                // type, databases, roles, address, then a mask when the address is an IP address without one
                String address = unquoted(line, fields.get(3));
                m = !address.contains("/") && (address.matches("[0-9.]+") || address.contains(":")) ? 5 : 4;
                method = m < fields.size() ? unquoted(line, fields.get(m)) : null;
            }
            if ("trust".equals(method) || "ident".equals(method)) {
                out.append("# the restore asks for a password here: the backup's line says '").append(method)
                        .append("', and this cluster runs on the worker's host\n")
                        .append(line, 0, fields.get(m)[0]).append("md5");
                // of the method's options only clientcert applies to md5 too (ident's map would stop the server)
                for (int[] option : fields.subList(m + 1, fields.size())) {
                    if (unquoted(line, option).startsWith("clientcert=")) {
                        out.append(' ').append(line, option[0], option[1]);
                    }
                }
                out.append('\n');
            } else {
                out.append(line).append('\n');
            }
        }
        // split(-1) gave one empty string after the last line break
        return out.substring(0, out.length() - 1);
    }

    /**
     * Where each field of a pg_hba.conf line starts and ends: fields are separated by blanks outside double quotes,
     * except after a comma (a list goes on: {@code db1, db2} is one field), and a {@code #} outside quotes ends the
     * line.
     */
    private static List<int[]> hbaFieldSpans(String line) {
        List<int[]> spans = new ArrayList<>();
        boolean quoted = false;
        boolean listGoesOn = false;
        int start = -1;
        int end = -1;
        int i = 0;
        for (; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && c == '#') {
                break;
            }
            if (!quoted && c != '"' && Character.isWhitespace(c)) {
                if (start >= 0 && !listGoesOn) {
                    spans.add(new int[] {start, end});
                    start = -1;
                }
                continue;
            }
            if (start < 0) {
                start = i;
            }
            end = i + 1;
            listGoesOn = !quoted && c == ',';
        }
        if (start >= 0) {
            spans.add(new int[] {start, end});
        }
        return spans;
    }

    private static String unquoted(String line, int[] span) {
        return line.substring(span[0], span[1]).replace("\"", "");
    }

    /**
     * The tokens of one line of pg_hba.conf or pg_ident.conf as PostgreSQL's tokenizer sees them, their quotes taken
     * off: blanks and commas separate them outside double quotes, {@code #} outside quotes starts a comment, and a
     * quoted part may join an unquoted one in one token ({@code ab"c d"}).
     */
    static List<String> hbaTokens(String line) {
        List<String> tokens = new ArrayList<>();
        StringBuilder token = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '"') {
                quoted = !quoted;
                any = true;
            } else if (quoted) {
                token.append(c);
            } else if (c == '#') {
                break;
            } else if (Character.isWhitespace(c) || c == ',') {
                if (any) {
                    tokens.add(token.toString());
                    token.setLength(0);
                    any = false;
                }
            } else {
                token.append(c);
                any = true;
            }
        }
        if (any) {
            tokens.add(token.toString());
        }
        return tokens;
    }

    /** The restore writes a configuration file of the backup's only when it is a plain file (never a link). */
    private static void requireRegularFile(Path file) {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new CommandFailure("the base backup's " + file.getFileName() + " is not a regular file; nothing "
                    + "was started");
        }
    }

    /** pg_controldata's report of the restored data directory (English, whatever the worker's locale). */
    private String pgControldata(Path bin, Path data) {
        return runTool(List.of(bin.resolve("pg_controldata").toString(), "-D", data.toString()), Map.of("LC_ALL", "C"),
                Duration.ofSeconds(30), "pg_controldata", "read " + data);
    }

    /**
     * The restored cluster keeps the source's roles and pg_hba for TCP (a password asked for where the source's
     * lines trusted the client: {@link #withPasswordsOverTcp}); local-socket connections (its socket lives
     * only in the private work directory) are admitted by peer authentication, and only for this worker's OS user
     * as the check user or the checker role: a line first in pg_hba (the first matching line decides) and a map in
     * pg_ident. Nothing is opened over TCP.
     */
    private void admitChecksOverSocket(RestoreCluster cmd, Path data) throws IOException {
        String osUser = System.getProperty("user.name");
        for (String name : List.of(osUser, config.cluster().checkUser(), config.checkerRole())) {
            if (!PLAIN_ROLE.matcher(name).matches()) {
                throw new CommandFailure("'" + clip(name) + "' (the worker's OS user, lifeboat.recovery.cluster"
                        + ".check-user or lifeboat.recovery.checker-role) is not a plain name; the restored cluster's "
                        + "pg_ident.conf cannot name it");
            }
        }
        Path hba = data.resolve("pg_hba.conf");
        String sourceHba = new String(NoFollow.read(hba, CONFIG_FILE_MAX).orElse(new byte[0]), StandardCharsets.UTF_8);
        NoFollow.writeFresh(hba, ("# point-in-time restore (RestoreCluster " + cmd.commandId().replaceAll(
                "[^A-Za-z0-9:._-]", "_") + "): the private socket admits only the restoring worker's checks\n"
                + "local all all peer map=" + IDENT_MAP + "\n"
                + withPasswordsOverTcp(withoutFileReferences(sourceHba, DEFAULT_HBA)))
                .getBytes(StandardCharsets.UTF_8));
        Path ident = data.resolve("pg_ident.conf");
        String sourceIdent = Files.exists(ident, LinkOption.NOFOLLOW_LINKS)
                ? new String(NoFollow.read(ident, CONFIG_FILE_MAX).orElse(new byte[0]), StandardCharsets.UTF_8) : "";
        NoFollow.writeFresh(ident, (withoutFileReferences(sourceIdent, "")
                + "\n# point-in-time restore: the restoring worker's checks\n"
                + IDENT_MAP + " " + osUser + " " + config.cluster().checkUser() + "\n"
                + IDENT_MAP + " " + osUser + " " + config.checkerRole() + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Where VerifyDatabase reaches {@code database} of a cluster this worker restored: its private socket, as the
     * check user (peer authentication, no password), which only prepares the checker role the checks run as
     * ({@link CheckerRole#onRestoredCluster}). Only clusters under an allowed data root qualify.
     */
    public dev.lifeboat.contracts.recovery.DatabaseTarget socketTarget(ClusterTarget cluster, String database) {
        Paths paths = paths(cluster);
        Path socket = paths.run().resolve(".s.PGSQL." + cluster.port());
        if (!Files.exists(socket)) {
            throw new CommandFailure("no restored cluster listens on the private socket " + socket + " of "
                    + cluster.describe() + " on host " + hostName() + " (restored by another snapshot-worker, "
                    + "stopped, or its directory is longer than " + MAX_SOCKET_DIR + " characters so it has no "
                    + "socket)");
        }
        return new dev.lifeboat.contracts.recovery.DatabaseTarget(paths.run().toString(), cluster.port(), database,
                config.cluster().checkUser(), null);
    }

    /** This worker's host name, where the clusters it restores run ("unknown" when it cannot be read). */
    public static String hostName() {
        String name = hostName;
        if (name == null) {
            try {
                name = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.net.UnknownHostException e) {
                name = "unknown";
            }
            hostName = name;
        }
        return name;
    }

    private static volatile String hostName;

    /** The PostgreSQL major version of a cluster this worker restored (its data directory's PG_VERSION). */
    public int restoredMajor(ClusterTarget cluster) {
        return major(paths(cluster).data());
    }

    // ---------------------------------------------------------------- PostgreSQL

    /**
     * Waits (recovery-timeout) until recovery has ended and the server runs as a primary: recovery.signal is gone
     * (PostgreSQL removes it at promotion), postmaster.pid says ready and pg_control says in production. The first
     * two alone come too early: the pid file says ready as soon as hot standby admits read-only connections, and
     * recovery.signal goes before the end-of-recovery checkpoint, during which the server is still in recovery (and
     * refuses writes); PostgreSQL marks its control file in production only after it left recovery. A postmaster that exits first failed: the
     * reply names the hole when the archive has one, and the log's last lines.
     */
    private void awaitPromoted(RestoreCluster cmd, Paths paths, WalArchive.Continuity c, WalArchive wal) {
        Instant timeout = Instant.now().plus(config.cluster().recoveryTimeout());
        Instant deadline = earlierOf(timeout, cmd);
        Path pid = paths.data().resolve("postmaster.pid");
        // pg_ctl returned once the postmaster was launched; its pid file appears when it has started
        Instant startupGrace = Instant.now().plusSeconds(30);
        boolean seenRunning = false;
        while (true) {
            Optional<List<String>> pidLines = readLines(pid);
            boolean running = pidLines.flatMap(l -> l.isEmpty() ? Optional.empty() : parseLong(l.getFirst()))
                    .flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
            seenRunning |= running;
            refusedWal(paths).ifPresent(reason -> {
                throw new CommandFailure("refusing to complete the restore to " + (cmd.recoveryTarget() == null
                        ? RecoveryTarget.latest() : cmd.recoveryTarget()).describe() + ": replay needed " + reason
                        + "; the restored cluster is removed rather than promoted short of its target");
            });
            if (running && !Files.exists(paths.data().resolve("recovery.signal"))
                    && pidLines.get().size() >= 8 && pidLines.get().get(7).trim().equals("ready")
                    && inProduction(paths.data())) {
                // the refusal may have come just before promotion
                refusedWal(paths).ifPresent(reason -> {
                    throw new CommandFailure("refusing to complete the restore: replay needed " + reason
                            + "; the restored cluster is removed rather than kept short of its target");
                });
                return;
            }
            if (!running && (seenRunning || Instant.now().isAfter(startupGrace))) {
                String log = tail(paths.log(), LOG_TAIL_LINES);
                RecoveryTarget target = cmd.recoveryTarget() == null ? RecoveryTarget.latest() : cmd.recoveryTarget();
                if (!c.unbroken()) {
                    throw new CommandFailure(holeMessage(target, wal, c) + "; PostgreSQL stopped: " + log);
                }
                throw new CommandFailure("PostgreSQL in " + paths.data() + " stopped before recovery reached "
                        + target.describe() + ": " + log);
            }
            if (Instant.now().isAfter(deadline)) {
                throw new CommandFailure("recovery in " + paths.data() + " did not reach its target and promote "
                        + (deadline.equals(timeout) ? "within " + config.cluster().recoveryTimeout()
                        + " (lifeboat.recovery.cluster.recovery-timeout)" : "before RestoreCluster " + cmd.commandId()
                        + "'s deadline " + cmd.deadline() + " (the step's timeout; the run has moved on)")
                        + "; the cluster is stopped and removed: " + tail(paths.log(), LOG_TAIL_LINES));
            }
            sleep(100);
        }
    }

    /** The most read of a small file of the data or work directory (backup_label, PG_VERSION, pg_control, ...). */
    private static final int SMALL_FILE_MAX = 64 * 1024;
    /** The most read of a configuration file of the backup. */
    private static final int CONFIG_FILE_MAX = 16 * 1024 * 1024;
    /** How much of a log's end {@link #tail} reads. */
    private static final int TAIL_BYTES = 64 * 1024;
    /** How much of a log's end {@link #logLine} looks through. */
    private static final int LOG_SCAN_BYTES = 1024 * 1024;

    /** pg_control's {@code state} (after system_identifier and two version numbers) as of PostgreSQL 9.6 on. */
    private static final int CONTROL_STATE_OFFSET = 16;
    /** DBState's DB_IN_PRODUCTION: recovery has ended and the server accepts writes. */
    private static final int DB_IN_PRODUCTION = 6;

    /** Whether the cluster's control file says it runs in production (recovery over, promoted). */
    static boolean inProduction(Path data) {
        try {
            // global/ is the OS user's: opened relative to the data directory, never through a link
            byte[] state = NoFollow.readAt(data, Path.of("global", "pg_control"), CONTROL_STATE_OFFSET, 4);
            return state.length == 4 && java.nio.ByteBuffer.wrap(state).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .getInt() == DB_IN_PRODUCTION;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The WAL file restore_command asked for and was refused by the prefetcher (its {@code .refused} marker), with
     * the prefetcher's reason: recovery would end there and promote, losing everything after it without saying so.
     */
    private static Optional<String> refusedWal(Paths paths) {
        try (Stream<Path> files = Files.list(paths.run())) {
            Optional<String> name = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".refused"))
                    .map(n -> n.substring(0, n.length() - ".refused".length())).sorted().findFirst();
            if (name.isEmpty()) {
                return Optional.empty();
            }
            String reason;
            try {
                reason = new String(NoFollow.read(paths.work().resolve("failed"), SMALL_FILE_MAX)
                        .orElse(new byte[0]), StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                reason = "(the reason was not recorded)";
            }
            return Optional.of("WAL file " + name.get() + ", which was refused: " + reason);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private void awaitAcceptingConnections(RestoreCluster cmd, Path bin, Paths paths) {
        int port = cmd.target().port();
        Instant timeout = Instant.now().plus(config.cluster().stopTimeout());
        Instant deadline = earlierOf(timeout, cmd);
        while (true) {
            try {
                ProcessBuilder pb = new ProcessBuilder(bin.resolve("pg_isready").toString(), "-h", "127.0.0.1", "-p",
                        String.valueOf(port), "-t", "2").redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
                SourceConnection.withoutPlatformEnvironment(pb.environment());
                Process p = pb.start();
                if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return;
                }
                p.destroyForcibly();
            } catch (IOException e) {
                throw new CommandFailure("cannot run pg_isready: " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CommandFailure("interrupted waiting for 127.0.0.1:" + port, e);
            }
            if (Instant.now().isAfter(deadline)) {
                throw new CommandFailure("the promoted cluster in " + paths.data() + " does not accept connections on "
                        + "127.0.0.1:" + port + (deadline.equals(timeout) ? " within " + config.cluster().stopTimeout()
                        : " before RestoreCluster " + cmd.commandId() + "'s deadline " + cmd.deadline())
                        + "; the cluster is stopped and removed: " + tail(paths.log(), LOG_TAIL_LINES));
            }
            sleep(100);
        }
    }

    private void remove(Paths paths) {
        remove(paths, new ArrayList<>());
    }

    /**
     * Stops a cluster (immediate: it is being thrown away) and removes its data and work directories. Its files are
     * the OS user's: a pid file or PG_VERSION that is not a regular file (a FIFO would keep whoever opens it waiting
     * for a writer) is noted in {@code notes} and the postmaster found by its command line instead.
     */
    private void remove(Paths paths, List<String> notes) {
        Path pid = paths.data().resolve("postmaster.pid");
        if (Files.exists(pid, LinkOption.NOFOLLOW_LINKS)) {
            if (Files.isRegularFile(pid, LinkOption.NOFOLLOW_LINKS)) {
                try {
                    Path bin = snapshots.pgInstallRoot().resolve(String.valueOf(major(paths.data())))
                            .resolve("bin");
                    pgCtl(bin, List.of("-D", paths.data().toString(), "-m", "immediate", "-w", "-t",
                            String.valueOf(Math.max(1, config.cluster().stopTimeout().toSeconds())), "stop"),
                            config.cluster().stopTimeout().plusSeconds(5), "stop PostgreSQL in " + paths.data());
                } catch (CommandFailure e) {
                    LOG.warnf("pg_ctl stop of %s failed (%s); ending its postmaster", paths.data(), e.getMessage());
                    notes.add("pg_ctl stop failed (" + e.getMessage() + "); its processes were ended");
                }
            } else {
                notes.add(pid + " is not a regular file; pg_ctl was not run, the cluster's processes were ended");
            }
        }
        // a postmaster pg_ctl could not stop (or a stale pid file): end it only if it runs from this directory; with
        // no readable pid file (removed, or not a file), whatever of the OS user's runs with this data directory in
        // its arguments
        List<ProcessHandle> processes = readLines(pid)
                .flatMap(l -> l.isEmpty() ? Optional.empty() : parseLong(l.getFirst()))
                .flatMap(ProcessHandle::of).filter(h -> runsFrom(h, paths.data())).map(List::of)
                .orElseGet(() -> ProcessHandle.allProcesses().filter(h -> runsFrom(h, paths.data())).toList());
        for (ProcessHandle h : processes) {
            h.descendants().forEach(ProcessHandle::destroyForcibly);
            h.destroyForcibly();
        }
        deleteRecursively(paths.data());
        deleteRecursively(paths.work());
    }

    /** Whether {@code h} is the OS user's and has {@code data} as one of its arguments (postgres -D data). */
    private boolean runsFrom(ProcessHandle h, Path data) {
        String user = ROOT ? config.cluster().osUser() : System.getProperty("user.name");
        ProcessHandle.Info info = h.info();
        return info.user().map(user::equals).orElse(false) && info.arguments()
                .map(args -> List.of(args).contains(data.toString())).orElse(false);
    }

    private void removeQuietly(String commandId, Paths paths) {
        try {
            remove(paths);
        } catch (RuntimeException e) {
            LOG.warnf("restore %s failed and its cluster %s could not be removed: %s", commandId, paths.data(),
                    e.getMessage());
        }
    }

    private void pgCtl(Path bin, List<String> args, Duration timeout, String what) {
        List<String> command = new ArrayList<>();
        command.add(bin.resolve("pg_ctl").toString());
        command.addAll(args);
        runTool(asOsUser(command), Map.of(), timeout, "pg_ctl", what);
    }

    /**
     * Runs one of PostgreSQL's tools to its end within {@code timeout} and returns what it printed; a failure names
     * the tool, {@code what} it could not do and its last lines. The tool, and the postmaster pg_ctl starts with every
     * command it runs, inherit none of the worker's environment (the platform's secrets), only {@code env}.
     */
    private static String runTool(List<String> command, Map<String, String> env, Duration timeout, String tool,
                                  String what) {
        Path out = null;
        try {
            out = Files.createTempFile("lifeboat-" + tool, ".out");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
            SourceConnection.withoutPlatformEnvironment(pb.environment());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new CommandFailure(tool + " could not " + what + " within " + timeout + ": " + tail(out, 5));
            }
            if (p.exitValue() != 0) {
                throw new CommandFailure(tool + " could not " + what + " (exit " + p.exitValue() + "): "
                        + tail(out, 5));
            }
            return Files.readString(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CommandFailure("cannot run " + tool + " to " + what + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandFailure("interrupted: " + tool + " " + what, e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a temporary file
                }
            }
        }
    }

    // ---------------------------------------------------------------- files and processes

    /** PostgreSQL refuses to run as root: as root, its tools run as the configured OS user. */
    private List<String> asOsUser(List<String> command) {
        if (!ROOT) {
            return command;
        }
        List<String> full = new ArrayList<>(List.of("runuser", "-u", config.cluster().osUser(), "--"));
        full.addAll(command);
        return full;
    }

    /**
     * A directory of the worker's own (mode 750, group the cluster's OS user's when the worker is root; 700 else):
     * the OS user reads what is in it and cannot rename, replace or add anything there.
     */
    private void createWorkerDirectory(Path dir) {
        try {
            Files.createDirectories(dir.getParent());
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                    ROOT ? "rwxr-x---" : "rwx------")));
            Optional<TarExtractor.Owner> owner = clusterOwner();
            if (owner.isPresent()) {
                Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                        .setGroup(owner.get().group());
            }
        } catch (IOException e) {
            throw new CommandFailure("cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Hands the data directory itself to the OS user, after the worker's last write into it: until then it is the
     * worker's (700) and nothing below it can be reached, let alone swapped for a link or a hard link, by anyone else.
     */
    private void handOver(Path data) {
        try {
            own(data);
        } catch (IOException e) {
            throw new CommandFailure("cannot hand " + data + " to " + config.cluster().osUser() + ": " + e.getMessage(),
                    e);
        }
    }

    /**
     * When the worker is root, every directory from / down to the data root must be root's and writable by nobody
     * else (an ancestor may be sticky, as /var/tmp): the cluster's OS user could otherwise rename a restore's
     * directories and put links in their place, and the worker's writes, renames and removals by name would go
     * wherever they point. Links on the way must be root's too, and so must the directories they lead through.
     */
    static void requireRootOnlyPath(Path root) {
        if (!ROOT) {
            return;
        }
        Path real = root;
        try {
            real = root.toRealPath();
        } catch (IOException e) {
            // not made yet: the worker makes it, as root
        }
        for (Path path : real.equals(root) ? List.of(root) : List.of(root, real)) {
            Path p = path.getRoot();
            for (int i = 0; i <= path.getNameCount(); i++) {
                if (i > 0) {
                    p = p.resolve(path.getName(i - 1));
                }
                boolean last = i == path.getNameCount();
                java.nio.file.attribute.PosixFileAttributes a;
                int uid;
                try {
                    a = Files.readAttributes(p, java.nio.file.attribute.PosixFileAttributes.class,
                            LinkOption.NOFOLLOW_LINKS);
                    uid = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                } catch (java.nio.file.NoSuchFileException e) {
                    break;
                } catch (IOException e) {
                    throw new CommandFailure("cannot look at " + p + " on the way to data root " + root + ": "
                            + e.getMessage(), e);
                }
                var perms = a.permissions();
                boolean writableByOthers = perms.contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
                        || perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE);
                boolean sticky = !last && a.isDirectory() && ((Integer) attribute(p, "unix:mode") & 01000) != 0;
                if (uid != 0 || (a.isDirectory() && writableByOthers && !sticky)) {
                    throw new CommandFailure("data root " + root + " is not safe for a worker that runs as root: " + p
                            + (uid != 0 ? " belongs to uid " + uid : " is writable by others than root")
                            + "; the cluster's OS user could swap a restore's directories for links there. Make "
                            + "every directory down to it root's and writable only by root");
                }
            }
        }
    }

    private static Object attribute(Path p, String name) {
        try {
            return Files.getAttribute(p, name, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new CommandFailure("cannot look at " + p + ": " + e.getMessage(), e);
        }
    }

    private void createOwned(Path dir, boolean privateDir) {
        createDirectory(dir, privateDir);
        try {
            own(dir);
        } catch (IOException e) {
            throw new CommandFailure("cannot hand " + dir + " to " + config.cluster().osUser() + ": " + e.getMessage(),
                    e);
        }
    }

    private static void createDirectory(Path dir, boolean privateDir) {
        try {
            Files.createDirectories(dir.getParent());
            // the mode given when it is made (less the umask): a chmod afterwards would follow a link swapped in
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                    privateDir ? "rwx------" : "rwxr-xr-x")));
        } catch (IOException e) {
            throw new CommandFailure("cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Who the restored files belong to: the OS user PostgreSQL runs as, when the worker is root. */
    private Optional<TarExtractor.Owner> clusterOwner() {
        if (!ROOT) {
            return Optional.empty();
        }
        UserPrincipalLookupService lookup = java.nio.file.FileSystems.getDefault().getUserPrincipalLookupService();
        try {
            return Optional.of(new TarExtractor.Owner(lookup.lookupPrincipalByName(config.cluster().osUser()),
                    lookup.lookupPrincipalByGroupName(config.cluster().osUser())));
        } catch (IOException e) {
            throw new CommandFailure("the OS user " + config.cluster().osUser() + " (lifeboat.recovery.cluster.os-user)"
                    + " cannot be found: " + e.getMessage(), e);
        }
    }

    private void own(Path p) throws IOException {
        Optional<TarExtractor.Owner> owner = clusterOwner();
        if (owner.isEmpty()) {
            return;
        }
        // the file's own owner: a link put under its name is handed over itself, its target never
        NoFollow.requireSingleLink(p);
        PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        view.setOwner(owner.get().user());
        view.setGroup(owner.get().group());
    }

    /** {@code timeout}, or the command's deadline when that comes first. */
    private static Instant earlierOf(Instant timeout, RestoreCluster cmd) {
        return cmd.deadline() != null && cmd.deadline().isBefore(timeout) ? cmd.deadline() : timeout;
    }

    private static void stopAtDeadline(RestoreCluster cmd, String where) {
        if (cmd.deadline() != null && Instant.now().isAfter(cmd.deadline())) {
            throw new CommandFailure("RestoreCluster " + cmd.commandId() + " passed its deadline " + cmd.deadline()
                    + " " + where + "; stopped (the run has moved on)");
        }
    }

    /** The last line of the cluster's log (in its OS user's work directory: never read through a link) matching. */
    private static Optional<String> logLine(Path log, String regex) {
        try {
            Pattern p = Pattern.compile(regex);
            return new String(NoFollow.tail(log, LOG_SCAN_BYTES), StandardCharsets.UTF_8).lines().map(p::matcher)
                    .filter(Matcher::find).map(Matcher::group).reduce((a, b) -> b);
        } catch (IOException | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    /** The file's last lines (of its last 64 KiB), only of a regular file and never read through a link. */
    static String tail(Path file, int lines) {
        try {
            List<String> all = new String(NoFollow.tail(file, TAIL_BYTES), StandardCharsets.UTF_8).lines().toList();
            return String.join(" | ", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    private static Optional<List<String>> readLines(Path p) {
        try {
            return NoFollow.read(p, SMALL_FILE_MAX).map(b -> new String(b, StandardCharsets.UTF_8).lines().toList());
        } catch (IOException | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    private static Optional<Long> parseLong(String s) {
        try {
            return Optional.of(Long.parseLong(s.trim()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandFailure("interrupted", e);
        }
    }

    /**
     * Removes {@code root} and everything below it. The tree belongs to the cluster's OS user, who may swap a
     * directory for a link while it is removed: every step goes relative to a directory already opened
     * ({@link NoFollow#deleteTree}), so nothing outside the tree is ever removed.
     */
    static void deleteRecursively(Path root) {
        try {
            NoFollow.deleteTree(root);
        } catch (IOException | UncheckedIOException e) {
            throw new CommandFailure("cannot remove " + root + ": " + e.getMessage(), e);
        }
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    private static String clip(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
