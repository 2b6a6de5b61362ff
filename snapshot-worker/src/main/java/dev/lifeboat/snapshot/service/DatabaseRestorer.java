package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.contracts.recovery.RestoreDatabase;
import dev.lifeboat.kit.recovery.CommandDeadlines;
import dev.lifeboat.kit.recovery.CommandLedger;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.keys.WrongKeyException;
import dev.lifeboat.repository.snapshot.CorruptChunkException;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.snapshot.config.RecoveryConfig;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import dev.lifeboat.snapshot.domain.CommandFailure;
import dev.lifeboat.snapshot.domain.TransientFailure;
import io.opentelemetry.instrumentation.annotations.WithSpan;

/**
 * RestoreDatabase: the backup's manifest is restored through the repository reader into a private spool directory
 * (streaming, a few chunks in memory whatever the backup's size; every chunk authenticated and hashed), the target
 * database is created, {@code pg_restore --no-owner} of the matching major version loads it with parallel jobs,
 * and every user table is counted exactly. The spool is removed in every case.
 */
@ApplicationScoped
public class DatabaseRestorer {
    private static final Logger LOG = Logger.getLogger(DatabaseRestorer.class);
    private static final int STDERR_TAIL = 2000;
    /** How often a streamed restore looks at its feeders while pg_restore runs. */
    private static final long FEED_CHECK_MILLIS = 50;
    /** Table data files beyond which a restore fetches the dump whole first (a waiting thread per pipe). */
    private static final int MAX_PIPES = 2000;

    @Inject
    dev.lifeboat.kit.secrets.SecretPolicy secrets;
    @Inject
    SnapshotConfig snapshots;
    @Inject
    RecoveryConfig config;
    @Inject
    Repositories repositories;
    @Inject
    Spool spools;

    /** The reply's result on success; {@link CommandFailure} or {@link TransientFailure} otherwise. */
    @WithSpan("DatabaseRestorer.restore")
    public Map<String, Object> restore(RestoreDatabase cmd, CommandLedger.Claim claim) {
        long started = System.nanoTime();
        BackupLocation backup = cmd.backup();
        if (backup == null || backup.backupId() == null || backup.bucket() == null || backup.manifestKey() == null
                || backup.chainId() == null) {
            throw new CommandFailure("RestoreDatabase " + cmd.commandId() + " names no complete backup location");
        }
        String name = TargetServers.validName(cmd.target());
        String password = TargetServers.password(secrets, cmd.target());
        int jobs = cmd.jobs() > 0 ? cmd.jobs() : config.defaultJobs();
        // before the target is touched (a replacing restore drops it): the manifest must be the one sealed
        Manifest manifest = manifest("RestoreDatabase " + cmd.commandId(), backup);
        // a retry after a transient failure may come too late: nothing is dropped or replaced then
        stopAtDeadline(cmd, "before preparing the target");
        int major = prepareTarget(cmd, name, password, claim);
        Path pgRestore = PgTools.toolFor(snapshots.pgInstallRoot(), major, "pg_restore").orElseThrow(() ->
                new CommandFailure("no pg_restore for PostgreSQL " + major + " on this worker (looked in "
                        + snapshots.pgInstallRoot() + "/<major>/bin); install the PostgreSQL " + major + " client"));
        Path spool = spools.job("restore-"
                + UUID.nameUUIDFromBytes(cmd.commandId().getBytes(StandardCharsets.UTF_8)));
        SnapshotService.deleteRecursively(spool);
        boolean created = false;
        try {
            Path dumpDir = spool.resolve("dump");
            long fetchStart = System.nanoTime();
            Repository repository = repository(backup);
            Optional<PgRestoreFeed> feed = Optional.empty();
            if (config.streamIntoPgRestore()) {
                // the table of contents and large objects first; the tables' data goes through pipes while
                // pg_restore runs
                fetch(backup, manifest, repository, dumpDir, file -> !PgRestoreFeed.piped(file));
                feed = PgRestoreFeed.prepare(repository, manifest, dumpDir, MAX_PIPES);
            }
            if (feed.isEmpty()) {
                fetch(backup, manifest, repository, dumpDir, file -> !config.streamIntoPgRestore()
                        || PgRestoreFeed.piped(file));
                LOG.infof("restore %s: fetched backup %s (%d bytes, %d files) in %d ms", cmd.commandId(),
                        backup.backupId(), manifest.totalSize(), manifest.files().size(), millisSince(fetchStart));
            }
            try (PgRestoreFeed pipes = feed.orElse(null)) {
                stopAtDeadline(cmd, "after fetching the backup, before creating the target database");
                Login login = createDatabase(cmd, name, password);
                created = true;
                claim.created(name);
                long restoreStart = System.nanoTime();
                long fetchMillis = runPgRestore(cmd, backup, pgRestore, name, login, jobs, dumpDir, spool, pipes,
                        fetchStart);
                long pgRestoreMillis = millisSince(restoreStart);
                Map<List<String>, Long> fedRows = pipes == null ? Map.of()
                        : rowsFed(cmd, repository, manifest, pipes.rowsFed());
                RowCounts counts = countRows(cmd, name, login, jobs, fedRows);
                List<String> revoked = login.ownRole() ? closeOwner(cmd, login, password) : List.of();
                // finished too late: the run was failed meanwhile, so the database must not stay behind
                stopAtDeadline(cmd, "after pg_restore finished");
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("database", name);
                result.put("owner", login.user());
                if (!revoked.isEmpty()) {
                    result.put("ownerMembershipsRevoked", revoked);
                }
                result.put("tables", counts.tables());
                result.put("restoredBytes", manifest.totalSize());
                result.put("fetchMillis", fetchMillis);
                result.put("pgRestoreMillis", pgRestoreMillis);
                result.put("streamed", pipes != null);
                result.put("tablesCountedFromFeed", counts.fromFeed());
                result.put("totalMillis", millisSince(started));
                return result;
            }
        } catch (RuntimeException e) {
            if (created && !(e instanceof CommandLedger.LedgerUnavailableException)) {
                dropQuietly(cmd, name, password);
            }
            throw e;
        } finally {
            SnapshotService.deleteRecursively(spool);
        }
    }

    /**
     * The target must not exist, unless an earlier attempt of this very command created it (then its partial
     * content is dropped and the restore starts over) or the command says replaceExisting (then it is dropped).
     * Returns the server's major version.
     */
    private int prepareTarget(RestoreDatabase cmd, String name, String password, CommandLedger.Claim claim) {
        try (Connection c = TargetServers.connect(cmd.target(), config.maintenanceDatabase(), password,
                snapshots.connectTimeoutSeconds())) {
            int major = TargetServers.serverMajor(c);
            if (TargetServers.exists(c, name)) {
                if (cmd.replaceExisting() && !claim.createdResource().filter(name::equals).isPresent()) {
                    // an admin started this recovery asking for it: the existing database is replaced
                    LOG.warnf("restore %s: replacing existing database %s (replaceExisting)", cmd.commandId(),
                            cmd.target().describe());
                    TargetServers.drop(c, name);
                    return major;
                }
                if (!claim.createdResource().filter(name::equals).isPresent()) {
                    throw new CommandFailure("target database " + cmd.target().describe() + " already exists and was "
                            + "not created by command " + cmd.commandId() + "; refusing to restore over it (a recovery "
                            + "run started with replaceExisting=true by an admin replaces it)");
                }
                LOG.infof("restore %s: an earlier attempt created %s; dropping its partial restore", cmd.commandId(),
                        cmd.target().describe());
                TargetServers.drop(c, name);
            }
            return major;
        } catch (SQLException e) {
            throw new CommandFailure("cannot prepare target " + cmd.target().describe() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The table fingerprints the backup recorded (empty when it recorded none); a sealed record that does not open
     * under the repository's key is a CommandFailure naming the backup.
     */
    Optional<TableFingerprints> recordedTables(BackupLocation backup) {
        Manifest manifest = manifest("VerifyDatabase", backup);
        Repository repository = repositories.open(backup.bucket(), backup.repositoryPrefix()).orElseThrow();
        try {
            return repository.tableFingerprints(manifest);
        } catch (SecurityException e) {
            throw new CommandFailure("table fingerprints of backup " + backup.backupId() + " cannot be trusted: "
                    + e.getMessage(), e);
        }
    }

    /** The manifest of {@code backup} as sealed, once the location passed {@link SealedLocations#check}. */
    private Manifest manifest(String command, BackupLocation backup) {
        SealedLocations.check(command, backup);
        String where = "s3://" + backup.bucket() + "/" + backup.repositoryPrefix();
        Optional<Repository> repository;
        try {
            repository = repositories.open(backup.bucket(), backup.repositoryPrefix());
        } catch (Repositories.MissingMasterKeyException | WrongKeyException e) {
            throw new CommandFailure("cannot open the backup repository " + where + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new TransientFailure("object store failed opening the backup repository " + where + ": "
                    + e.getMessage(), e);
        }
        if (repository.isEmpty()) {
            throw new CommandFailure("no backup repository at " + where + " (backup " + backup.backupId() + ")");
        }
        String expectedKey = repository.get().layout().manifest(backup.chainId(), backup.backupId());
        if (!expectedKey.equals(backup.manifestKey())) {
            throw new CommandFailure("manifest key " + backup.manifestKey() + " of backup " + backup.backupId()
                    + " is not where repository " + where + " keeps it (" + expectedKey + ")");
        }
        return SealedLocations.manifest(repository.get(), backup);
    }

    private Repository repository(BackupLocation backup) {
        try {
            return repositories.open(backup.bucket(), backup.repositoryPrefix()).orElseThrow(() ->
                    new CommandFailure("no backup repository at s3://" + backup.bucket() + "/"
                            + backup.repositoryPrefix() + " (backup " + backup.backupId() + ")"));
        } catch (CommandFailure e) {
            throw e;
        } catch (RuntimeException e) {
            throw new TransientFailure("object store failed opening the backup repository s3://" + backup.bucket()
                    + "/" + backup.repositoryPrefix() + ": " + e.getMessage(), e);
        }
    }

    /** Restores the files {@code which} selects through the reader, logging progress while it runs. */
    private void fetch(BackupLocation backup, Manifest manifest, Repository repository, Path dumpDir,
                       java.util.function.Predicate<Manifest.FileEntry> which) {
        Thread progress = Thread.ofVirtual().unstarted(() -> {
            long interval = Math.max(200, snapshots.progressInterval().toMillis());
            try {
                while (true) {
                    Thread.sleep(interval);
                    long done = SnapshotService.directorySize(dumpDir);
                    LOG.infof("restore of backup %s: fetched %d of %d bytes (%d%%)", backup.backupId(), done,
                            manifest.totalSize(), manifest.totalSize() == 0 ? 100 : done * 100 / manifest.totalSize());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        progress.start();
        try {
            repository.reader().restore(manifest, dumpDir, which);
        } catch (RuntimeException | IOException e) {
            throw fetchFailure(backup, dumpDir, e);
        } finally {
            progress.interrupt();
        }
    }

    /** A failure to read the backup: corrupt data and local trouble are final, the object store's are not. */
    private static RuntimeException fetchFailure(BackupLocation backup, Path dumpDir, Exception e) {
        if (e instanceof CorruptChunkException) {
            return new CommandFailure("backup " + backup.backupId() + " cannot be restored: " + e.getMessage(), e);
        }
        if (e instanceof IOException) {
            return new CommandFailure("restoring backup " + backup.backupId() + " into the spool " + dumpDir
                    + " failed: " + e.getMessage(), e);
        }
        return new TransientFailure("object store failed while fetching backup " + backup.backupId() + ": "
                + e.getMessage(), e);
    }

    /** Whom pg_restore and the row counts log in as: the restored database's own role, or the target user. */
    private record Login(String user, String password, boolean ownRole) {
    }

    /**
     * Creates the target database (template0: nothing a site added to template1 can collide with the restored
     * objects), owned by a role of its own that pg_restore then runs as ({@code restore-owner=restore-role}): the
     * dump's own code (a CHECK constraint's function, an index expression, a policy) runs with that role's rights
     * while it loads, not the target user's.
     */
    private Login createDatabase(RestoreDatabase cmd, String name, String password) {
        try (Connection c = TargetServers.connect(cmd.target(), config.maintenanceDatabase(), password,
                snapshots.connectTimeoutSeconds()); Statement st = c.createStatement()) {
            if (config.restoreOwner() == RecoveryConfig.RestoreOwner.TARGET_USER) {
                st.execute("create database " + TargetServers.quote(name) + " template template0");
                LOG.infof("restore %s: created database %s", cmd.commandId(), cmd.target().describe());
                return new Login(cmd.target().user(), password, false);
            }
            String owner = TargetServers.restoreOwner(name);
            String secret;
            try {
                secret = TargetServers.prepareOwner(c, owner);
            } catch (SQLException e) {
                throw new CommandFailure("cannot prepare role " + owner + ", which restored " + cmd.target().describe()
                        + " is to belong to and pg_restore runs as, as target user " + cmd.target().user() + ": "
                        + e.getMessage() + " (the target user needs CREATEROLE; or set lifeboat.recovery.restore-owner"
                        + "=target-user on the worker to restore as the target user, which runs the dump's own code "
                        + "with its rights: only for sources whose database owners you trust)", e);
            }
            st.execute("create database " + TargetServers.quote(name) + " owner " + TargetServers.quote(owner)
                    + " template template0");
            LOG.infof("restore %s: created database %s, owned by role %s, which pg_restore runs as", cmd.commandId(),
                    cmd.target().describe(), owner);
            return new Login(owner, secret, true);
        } catch (SQLException e) {
            throw new CommandFailure("cannot create target database " + cmd.target().describe() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * The restored database's role keeps it, but logs in no more (nobody holds its password), and nobody the dump's
     * code made its member stays one; returns those revoked.
     */
    private List<String> closeOwner(RestoreDatabase cmd, Login login, String password) {
        try (Connection c = TargetServers.connect(cmd.target(), config.maintenanceDatabase(), password,
                snapshots.connectTimeoutSeconds())) {
            List<String> revoked = TargetServers.closeOwner(c, login.user());
            if (!revoked.isEmpty()) {
                LOG.warnf("restore %s: role %s of restored %s had been granted to %s while the dump loaded; revoked",
                        cmd.commandId(), login.user(), cmd.target().describe(), revoked);
            }
            return revoked;
        } catch (SQLException e) {
            throw new CommandFailure("cannot take the login of role " + login.user() + " of restored "
                    + cmd.target().describe() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Runs pg_restore over the dump directory, feeding {@code pipes} (null when every file was fetched before) while
     * it runs. Returns the milliseconds from {@code fetchStart} until the backup was fetched whole.
     */
    private long runPgRestore(RestoreDatabase cmd, BackupLocation backup, Path pgRestore, String name,
                              Login login, int jobs, Path dumpDir, Path spool, PgRestoreFeed pipes,
                              long fetchStart) {
        Path stderr = spool.resolve("pg_restore.stderr");
        ProcessBuilder pb = new ProcessBuilder(List.of(pgRestore.toString(), "--format=directory",
                "--jobs=" + jobs, "--no-owner", "--exit-on-error", "--no-password", "--host=" + cmd.target().host(),
                "--port=" + cmd.target().port(), "--username=" + login.user(),
                "--dbname=" + SourceConnection.libpqDatabase(name, snapshots.keepaliveIdle()), dumpDir.toString()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile());
        // nothing of the worker's environment (its secrets) goes to pg_restore; the target's password goes through
        // the environment: in no process list, no log
        SourceConnection.withoutPlatformEnvironment(pb.environment());
        pb.environment().put("PGPASSWORD", login.password());
        TargetServers.libpqTls(cmd.target(), pb.environment());
        pb.environment().put("PGCONNECT_TIMEOUT", String.valueOf(snapshots.connectTimeoutSeconds()));
        pb.environment().put("PGAPPNAME", "lifeboat-restore");
        LOG.infof("restore %s: %s --jobs=%d into %s%s", cmd.commandId(), pgRestore, jobs, cmd.target().describe(),
                pipes == null ? "" : ", the tables' data streamed from the repository while it runs");
        long start = System.nanoTime();
        long fetchMillis = pipes == null ? millisSince(fetchStart) : -1;
        ChildProcesses.Child child;
        try {
            child = spools.children().start(pb);
        } catch (IOException e) {
            throw new CommandFailure("cannot run " + pgRestore + ": " + e.getMessage(), e);
        }
        // closing the child kills its whole process group if it still runs (interrupted, failed, past the deadline)
        try (child) {
            if (pipes != null) {
                pipes.start();
            }
            Process p = child.process();
            long nextLog = System.nanoTime() + snapshots.progressInterval().toNanos();
            while (!p.waitFor(pipes == null ? waitMillis(cmd) : Math.min(FEED_CHECK_MILLIS, waitMillis(cmd)),
                    TimeUnit.MILLISECONDS)) {
                if (CommandDeadlines.passed(cmd, Instant.now())) {
                    child.kill();
                    stopAtDeadline(cmd, "while pg_restore was running");
                }
                if (pipes != null) {
                    Optional<Exception> unreadable = pipes.failure().filter(e -> !(e instanceof IOException));
                    if (unreadable.isPresent()) {
                        // the backup could not be read: pg_restore would wait for data that does not come
                        child.kill();
                        throw fetchFailure(backup, dumpDir, unreadable.get());
                    }
                    if (fetchMillis < 0 && pipes.unfed().isEmpty()) {
                        fetchMillis = millisSince(fetchStart);
                    }
                }
                if (System.nanoTime() >= nextLog) {
                    nextLog = System.nanoTime() + snapshots.progressInterval().toNanos();
                    LOG.infof("restore %s: pg_restore running for %d s%s", cmd.commandId(),
                            millisSince(start) / 1000, pipes == null ? "" : ", " + pipes.bytesFed()
                                    + " bytes of table data streamed into it");
                }
            }
            if (p.exitValue() != 0) {
                // a broken pipe is what pg_restore's own failure does to a feeder: its message says more
                Optional<Exception> unreadable = pipes == null ? Optional.empty()
                        : pipes.failure().filter(e -> !(e instanceof IOException));
                if (unreadable.isPresent()) {
                    throw fetchFailure(backup, dumpDir, unreadable.get());
                }
                String full = tail(stderr);
                LOG.debugf("restore %s: pg_restore's output: %s", cmd.commandId(), full);
                String tail = withoutRowLines(full);
                throw new CommandFailure("pg_restore into " + cmd.target().describe() + " exited with "
                        + p.exitValue() + ": " + tail + (login.ownRole() && tail.contains("permission denied")
                        ? " (pg_restore ran as " + login.user() + ", the restored database's own role, which may do "
                        + "what a database's owner may: a dump that needs more, such as an extension only a "
                        + "superuser creates, restores with lifeboat.recovery.restore-owner=target-user on the "
                        + "worker, which runs the dump's own code with the target user's rights)" : ""));
            }
            if (pipes != null) {
                pipes.close();
                if (pipes.failure().isPresent()) {
                    throw fetchFailure(backup, dumpDir, pipes.failure().get());
                }
                if (!pipes.unfed().isEmpty()) {
                    throw new CommandFailure("pg_restore into " + cmd.target().describe() + " finished without "
                            + "reading all of backup " + backup.backupId() + " (files " + pipes.unfed() + " not read "
                            + "to their end); the restore is incomplete and was discarded");
                }
                fetchMillis = fetchMillis < 0 ? millisSince(fetchStart) : fetchMillis;
            }
            return fetchMillis;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandFailure("interrupted while pg_restore was running");
        }
    }

    /**
     * The rows fed into pg_restore, by table ({@code [schema, name]}): the backup's fingerprints name the table each
     * data file holds. Empty when they do not (a backup recorded without them, or before they named files), or when
     * they cannot be read: then every table is counted on the server.
     */
    private static Map<List<String>, Long> rowsFed(RestoreDatabase cmd, Repository repository, Manifest manifest,
                                                  Map<String, Long> byFile) {
        Optional<TableFingerprints> recorded;
        try {
            recorded = repository.tableFingerprints(manifest);
        } catch (RuntimeException e) {
            LOG.warnf("restore %s: the backup's table fingerprints cannot be read (%s); counting every restored table "
                    + "on the server", cmd.commandId(), e.getMessage());
            return Map.of();
        }
        Map<List<String>, Long> out = new HashMap<>();
        for (TableFingerprints.Table t : recorded.map(TableFingerprints::tables).orElse(List.of())) {
            Long rows = t.file() == null ? null : byFile.get(t.file());
            if (rows != null) {
                out.put(List.of(t.schema(), t.name()), rows);
            }
        }
        return out;
    }

    /**
     * Exact row count of every ordinary user table, by schema and name. A table in {@code fed} has the rows fed into
     * pg_restore for it (each table's COPY loads all of its data or fails the restore); the others are counted on
     * the server, {@code jobs} connections at once, the largest tables first (reading each table once more).
     */
    private RowCounts countRows(RestoreDatabase cmd, String name, Login login, int jobs,
                                Map<List<String>, Long> fed) {
        List<String[]> tables = new ArrayList<>();
        try (Connection c = TargetServers.connectAs(cmd.target(), login.user(), name, login.password(),
                snapshots.connectTimeoutSeconds());
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("""
                     select n.nspname, c.relname, row_number() over (order by n.nspname, c.relname)
                     from pg_class c join pg_namespace n on n.oid = c.relnamespace
                     where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')
                       and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'
                     order by pg_relation_size(c.oid) desc""")) {
            while (rs.next()) {
                tables.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
            }
        } catch (SQLException e) {
            throw countFailure(cmd, e);
        }
        Map<List<String>, Long> counted = new ConcurrentHashMap<>();
        Queue<String[]> next = new ConcurrentLinkedQueue<>();
        for (String[] t : tables) {
            Long rows = fed.get(List.of(t[0], t[1]));
            if (rows != null) {
                counted.put(List.of(t[0], t[1]), rows);
            } else {
                next.add(t);
            }
        }
        int queried = next.size();
        List<Future<Void>> counters = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < Math.min(Math.max(1, jobs), next.size()); i++) {
                counters.add(pool.submit(() -> {
                    try (Connection c = TargetServers.connectAs(cmd.target(), login.user(), name,
                            login.password(), snapshots.connectTimeoutSeconds()); Statement st = c.createStatement()) {
                        for (String[] t = next.poll(); t != null; t = next.poll()) {
                            try (ResultSet rs = st.executeQuery("select count(*) from only "
                                    + TargetServers.quote(t[0]) + "." + TargetServers.quote(t[1]))) {
                                rs.next();
                                counted.put(List.of(t[0], t[1]), rs.getLong(1));
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<Void> counter : counters) {
                counter.get();
            }
        } catch (ExecutionException e) {
            throw countFailure(cmd, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandFailure("interrupted while counting the rows of restored " + cmd.target().describe());
        }
        List<Map<String, Object>> out = new ArrayList<>();
        // by schema and name, in the server's order
        tables.stream().sorted(Comparator.comparingLong(t -> Long.parseLong(t[2]))).forEach(t -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("table", t[0] + "." + t[1]);
            row.put("rows", counted.get(List.of(t[0], t[1])));
            out.add(row);
        });
        return new RowCounts(out, tables.size() - queried);
    }

    /** @param fromFeed how many of the tables were counted from what was fed into pg_restore */
    private record RowCounts(List<Map<String, Object>> tables, int fromFeed) {
    }

    private static CommandFailure countFailure(RestoreDatabase cmd, Throwable e) {
        return new CommandFailure("counting the rows of restored " + cmd.target().describe() + " failed: "
                + e.getMessage(), e);
    }

    private void dropQuietly(RestoreDatabase cmd, String name, String password) {
        try (Connection c = TargetServers.connect(cmd.target(), config.maintenanceDatabase(), password,
                snapshots.connectTimeoutSeconds())) {
            TargetServers.drop(c, name);
            TargetServers.dropOwner(c, name);
            LOG.infof("restore %s failed: dropped the partly restored %s", cmd.commandId(), cmd.target().describe());
        } catch (SQLException | RuntimeException e) {
            LOG.warnf("restore %s failed and its partly restored %s could not be dropped: %s", cmd.commandId(),
                    cmd.target().describe(), e.getMessage());
        }
    }

    /**
     * A restore refused for its deadline drops the database an earlier attempt of the same command created (the
     * ledger's proof of ownership), so that nothing half-restored stays behind a failed run.
     */
    public void discardPartial(RestoreDatabase cmd, CommandLedger.Claim claim) {
        String name = TargetServers.validName(cmd.target());
        if (claim.createdResource().filter(name::equals).isPresent()) {
            dropQuietly(cmd, name, TargetServers.password(secrets, cmd.target()));
        }
    }

    /** A CommandFailure (the caller drops what it created) once the command's deadline passed. */
    private static void stopAtDeadline(RestoreDatabase cmd, String doing) {
        Instant now = Instant.now();
        if (CommandDeadlines.passed(cmd, now)) {
            throw new CommandFailure(CommandDeadlines.overrun(cmd, doing, now));
        }
    }

    /** How long to wait for pg_restore before the next progress line or the deadline, whichever is first. */
    private long waitMillis(RestoreDatabase cmd) {
        long interval = snapshots.progressInterval().toMillis();
        if (cmd.deadline() == null) {
            return interval;
        }
        return Math.max(1, Math.min(interval, Duration.between(Instant.now(), cmd.deadline()).toMillis() + 1));
    }

    private static long millisSince(long nanoStart) {
        return (System.nanoTime() - nanoStart) / 1_000_000;
    }

    /**
     * pg_restore's output without the server's DETAIL and CONTEXT lines, which quote the restored rows (a failing
     * row, a key, a COPY line's content): the message goes into the run, the catalog and the plan's webhooks.
     */
    static String withoutRowLines(String output) {
        StringBuilder out = new StringBuilder();
        boolean left = false;
        for (String line : output.split("\r?\n")) {
            String t = line.strip();
            if (t.startsWith("DETAIL:") || t.startsWith("CONTEXT:")) {
                left = true;
                continue;
            }
            out.append(out.isEmpty() ? "" : "\n").append(line);
        }
        return left ? out + "\n(the server's DETAIL and CONTEXT lines, which can quote the restored rows, are left "
                + "out here)" : out.toString();
    }

    private static String tail(Path stderr) {
        try {
            String s = Files.readString(stderr, StandardCharsets.UTF_8).strip();
            return s.length() <= STDERR_TAIL ? s : "..." + s.substring(s.length() - STDERR_TAIL);
        } catch (IOException e) {
            return "(no error output)";
        }
    }
}
