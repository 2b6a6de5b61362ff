package dev.lifeboat.snapshot.service;

import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.SnapshotWriter;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.snapshot.domain.BackupFailure;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A physical base backup: the whole cluster over the replication protocol, {@code pg_basebackup -D - -Ft -X fetch
 * --checkpoint=fast}, its tar stream read straight from the pipe into the repository as the one file
 * {@value Manifest#BASE_TAR} (content-defined chunks, so data files that did not change dedup against the chain),
 * nothing spooled to disk. {@code -X fetch} puts the WAL from the backup's start to its end into the tar, so the
 * backup restores on its own, without the WAL archive.
 * <p>
 * The tar's headers are read as the stream passes ({@link TarWatch}): {@code backup_label} gives the start LSN,
 * timeline and time, {@code global/pg_control} the system identifier, {@code PG_VERSION} the major version;
 * pg_basebackup's verbose output gives the end LSN. They go into the manifest, which is written only after
 * pg_basebackup has exited successfully: a base backup cut short leaves no backup.
 * <p>
 * pg_basebackup runs like pg_dump: in a process group of its own, the password in its environment, killed with its
 * group at the backup's deadline.
 */
final class PhysicalBackup {
    private static final Logger LOG = Logger.getLogger(PhysicalBackup.class);
    private static final int STDERR_TAIL = 2000;
    /** What a DBA does when the server recycled WAL a base backup still needed. */
    private static final String KEEP_WAL = "Set wal_keep_size in postgresql.conf to more than the WAL written during "
            + "one base backup (SELECT pg_reload_conf() applies it), then take the backup again.";
    static final String BACKUP_LABEL = "backup_label";
    static final String PG_CONTROL = "global/pg_control";
    static final String PG_VERSION = "PG_VERSION";
    private static final Pattern END_POINT = Pattern.compile("write-ahead log end point: ([0-9A-Fa-f]+/[0-9A-Fa-f]+)");
    private static final Pattern START_WAL = Pattern.compile(
            "START WAL LOCATION: ([0-9A-Fa-f]+/[0-9A-Fa-f]+) \\(file ([0-9A-F]{24})\\)");
    private static final Pattern START_TIMELINE = Pattern.compile("START TIMELINE: (\\d+)");
    private static final Pattern START_TIME = Pattern.compile("START TIME: (.+)");
    private static final DateTimeFormatter LABEL_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z",
            Locale.ROOT);

    private final Path binary;
    private final int connectTimeoutSeconds;
    private final Duration keepaliveIdle;
    private final Duration progressInterval;
    private final ChildProcesses children;

    PhysicalBackup(Path binary, int connectTimeoutSeconds, Duration keepaliveIdle, Duration progressInterval,
                   ChildProcesses children) {
        this.binary = binary;
        this.connectTimeoutSeconds = connectTimeoutSeconds;
        this.keepaliveIdle = keepaliveIdle;
        this.progressInterval = progressInterval;
        this.children = children;
    }

    /**
     * What the cluster holds, for progress: the sum of its databases' sizes (0 when the role may not see them); and
     * its system identifier (null when pg_control_system() is not allowed to the role: the base backup's pg_control
     * tells it at the end).
     */
    record ClusterFacts(long clusterBytes, String systemIdentifier) {
    }

    /**
     * Fails with stage CONNECT and what a DBA changes when the source's role cannot take a base backup: no REPLICATION
     * attribute, {@code wal_level} minimal, {@code max_wal_senders} 0. (A missing pg_hba.conf replication line shows
     * only when pg_basebackup connects; {@link #run} names it then.)
     */
    static ClusterFacts checkReplication(SourceConnection source, int timeoutSeconds, int socketTimeoutSeconds) {
        String where = source.host() + ":" + source.port();
        try (Connection c = DriverManager.getConnection(source.jdbcUrl(), source.jdbcProperties(timeoutSeconds,
                socketTimeoutSeconds));
             Statement st = c.createStatement()) {
            boolean replication;
            int walSenders;
            String walLevel;
            try (ResultSet rs = st.executeQuery("select rolreplication or rolsuper, "
                    + "pg_catalog.current_setting('max_wal_senders')::int, pg_catalog.current_setting('wal_level') "
                    + "from pg_roles where rolname = current_user")) {
                rs.next();
                replication = rs.getBoolean(1);
                walSenders = rs.getInt(2);
                walLevel = rs.getString(3);
            }
            Optional<String> segments = WalNames.unsupportedSegmentSize(SourceConnection.walSegmentSize(c));
            if (segments.isPresent()) {
                throw new BackupFailure("CONNECT", "the server at " + where + " cannot be backed up physically: "
                        + segments.get() + "; nothing was backed up. Register the source with \"method\": \"logical\" to back "
                        + "up its databases with pg_dump");
            }
            if (!replication) {
                throw new BackupFailure("CONNECT", "role '" + source.user() + "' on " + where + " lacks the "
                        + "REPLICATION attribute, which a physical base backup needs; nothing was backed up. As a "
                        + "superuser run: ALTER ROLE \"" + source.user() + "\" REPLICATION; and make sure pg_hba.conf "
                        + "has a line 'host replication " + source.user() + " <this worker's address>/32 "
                        + "scram-sha-256'");
            }
            if ("minimal".equals(walLevel)) {
                throw new BackupFailure("CONNECT", "the server at " + where + " runs with wal_level = minimal, "
                        + "which allows no base backup; nothing was backed up. Set wal_level = replica in "
                        + "postgresql.conf and restart the server");
            }
            if (walSenders < 1) {
                throw new BackupFailure("CONNECT", "the server at " + where + " runs with max_wal_senders = "
                        + walSenders + ", so it accepts no replication connection; nothing was backed up. Set "
                        + "max_wal_senders to at least 2 in postgresql.conf and restart the server");
            }
            long bytes = 0;
            try (ResultSet rs = st.executeQuery("select coalesce(pg_catalog.sum(pg_catalog.pg_database_size(oid)), 0) "
                    + "from pg_database where pg_catalog.has_database_privilege(oid, 'CONNECT')")) {
                if (rs.next()) {
                    bytes = rs.getLong(1);
                }
            } catch (SQLException e) {
                LOG.debugf("cluster size of %s unknown (progress shows bytes only): %s", where, e.getMessage());
            }
            String systemIdentifier = null;
            try (ResultSet rs = st.executeQuery("select system_identifier::text from pg_catalog.pg_control_system()")) {
                if (rs.next()) {
                    systemIdentifier = Long.toUnsignedString(Long.parseLong(rs.getString(1)));
                }
            } catch (SQLException | RuntimeException e) {
                LOG.debugf("system identifier of %s unknown before the backup: %s", where, e.getMessage());
            }
            return new ClusterFacts(bytes, systemIdentifier);
        } catch (SQLException e) {
            throw new BackupFailure("CONNECT", "cannot check the replication settings of " + where + " as role '"
                    + source.user() + "': " + e.getMessage());
        }
    }

    /** {@link #run(SourceConnection, SnapshotWriter, BackupType, ChainContext, Path, String, String, Deadline,
     * LongConsumer, java.util.function.Consumer)} of any cluster. */
    Manifest run(SourceConnection source, SnapshotWriter writer, BackupType type, ChainContext context, Path spool,
                 String backupId, String serverVersion, Deadline deadline, LongConsumer progress) {
        return run(source, writer, type, context, spool, backupId, serverVersion, deadline, progress, id -> {
        });
    }

    /**
     * Takes the base backup and writes it through {@code writer} into the repository; returns the manifest written.
     *
     * @param backupId     names pg_basebackup's session and the backup's label on the source
     * @param clusterCheck given the backup's system identifier before the manifest is written; throws to refuse it
     */
    Manifest run(SourceConnection source, SnapshotWriter writer, BackupType type, ChainContext context, Path spool,
                 String backupId, String serverVersion, Deadline deadline, LongConsumer progress,
                 java.util.function.Consumer<String> clusterCheck) {
        Path stderr = spool.resolve("pg_basebackup.stderr");
        String applicationName = PgDump.applicationName(backupId);
        List<String> command = List.of(binary.toString(), "--pgdata=-", "--format=tar", "--wal-method=fetch",
                "--checkpoint=fast", "--verbose", "--no-password", "--label=" + applicationName,
                "--host=" + source.host(), "--port=" + source.port(), "--username=" + source.user(),
                // the connection string carries the keepalives; a replication connection ignores its dbname
                "--dbname=" + source.libpqDatabase(keepaliveIdle));
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(stderr.toFile());
        source.libpqEnvironment(pb.environment(), connectTimeoutSeconds, applicationName);
        ChildProcesses.Child child;
        try {
            child = children.start(pb);
        } catch (IOException e) {
            throw new BackupFailure("DUMP", "cannot run " + binary + ": " + e.getMessage());
        }
        AtomicBoolean stoppedAtDeadline = new AtomicBoolean();
        try (child) {
            Process p = child.process();
            p.getOutputStream().close();
            TarWatch tar = new TarWatch(p.getInputStream(), Set.of(BACKUP_LABEL, PG_CONTROL, PG_VERSION));
            Thread watchdog = Thread.ofVirtual().name("pg_basebackup-watchdog " + backupId)
                    .start(() -> watch(child, tar, deadline, stoppedAtDeadline, progress));
            try {
                return writer.physical(() -> {
                            Manifest.Physical physical = finished(source, p, stderr, tar, serverVersion, deadline,
                                    stoppedAtDeadline);
                            // pg_control is the backup's own word on its cluster; a refusal here writes no manifest
                            if (physical.systemIdentifier() != null) {
                                clusterCheck.accept(physical.systemIdentifier());
                            }
                            return physical;
                        })
                        .write(oneEntry(tar), type, context, null).manifest();
            } catch (BackupFailure f) {
                throw f;
            } catch (IOException | RuntimeException e) {
                // pg_basebackup's failure, when it failed, is what cut the stream short: say that, not the upload
                if (!p.isAlive() && p.exitValue() != 0 || stoppedAtDeadline.get()) {
                    finished(source, p, stderr, tar, serverVersion, deadline, stoppedAtDeadline);
                }
                throw new BackupFailure("UPLOAD", "writing base backup " + backupId + " into the repository "
                        + "failed: " + e.getMessage(), e);
            } finally {
                watchdog.interrupt();
            }
        } catch (IOException e) {
            throw new BackupFailure("DUMP", "cannot use pg_basebackup's pipes: " + e.getMessage());
        }
    }

    private static Iterator<SnapshotWriter.Entry> oneEntry(InputStream tar) {
        return List.of(new SnapshotWriter.Entry(Manifest.BASE_TAR, () -> new InputStream() {
            // the writer closes what it opened; pg_basebackup's pipe stays with the child, closed after the exit check
            @Override
            public int read() throws IOException {
                return tar.read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return tar.read(b, off, len);
            }
        })).iterator();
    }

    /** Progress every interval; the whole group killed at the deadline, which ends the stream the writer reads. */
    private void watch(ChildProcesses.Child child, TarWatch tar, Deadline deadline, AtomicBoolean stoppedAtDeadline,
                       LongConsumer progress) {
        long interval = Math.max(50, progressInterval.toMillis());
        try {
            while (!child.process().waitFor(Math.min(interval, Math.max(1, deadline.remaining().toMillis())),
                    TimeUnit.MILLISECONDS)) {
                if (deadline.passed()) {
                    stoppedAtDeadline.set(true);
                    child.kill();
                    return;
                }
                progress.accept(tar.bytes());
            }
        } catch (InterruptedException e) {
            // the backup is over
        }
    }

    /**
     * Called once the writer has read the stream to its end: waits for pg_basebackup's exit (until the deadline),
     * then tells where the backup starts and ends. Throws, so that no manifest is written, when pg_basebackup
     * failed or was stopped.
     */
    private Manifest.Physical finished(SourceConnection source, Process p, Path stderr, TarWatch tar,
                                       String serverVersion, Deadline deadline, AtomicBoolean stoppedAtDeadline) {
        String where = source.host() + ":" + source.port();
        try {
            if (!p.waitFor(Math.max(1, deadline.remaining().toMillis()), TimeUnit.MILLISECONDS)) {
                stoppedAtDeadline.set(true);
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupFailure("DUMP", "interrupted while pg_basebackup was running");
        }
        if (stoppedAtDeadline.get()) {
            throw new BackupFailure("DUMP", "pg_basebackup of " + where + " was stopped at " + deadline.describe()
                    + " after " + tar.bytes() + " bytes. Nothing was kept as a backup (the chunks uploaded are "
                    + "reused by the next one); check that the server at " + where + " answers and is not "
                    + "overloaded, or raise maxDuration if the cluster needs longer to copy");
        }
        String error = tail(stderr);
        if (p.exitValue() != 0) {
            throw failure(source, p.exitValue(), error);
        }
        Instant stopTime = Instant.now();
        String label = tar.member(BACKUP_LABEL).map(b -> new String(b, StandardCharsets.UTF_8))
                .orElseThrow(() -> new BackupFailure("DUMP", "pg_basebackup of " + where + " ended without a "
                        + BACKUP_LABEL + " in its tar stream after " + tar.bytes() + " bytes; nothing was kept as a "
                        + "backup. pg_basebackup said: " + error));
        Matcher start = START_WAL.matcher(label);
        Matcher timeline = START_TIMELINE.matcher(label);
        Matcher end = END_POINT.matcher(error);
        if (!start.find() || !timeline.find() || !end.find()) {
            throw new BackupFailure("DUMP", "cannot read where the base backup of " + where + " starts and ends "
                    + "(backup_label: " + label.strip() + "; pg_basebackup said: " + error + "); nothing was kept "
                    + "as a backup");
        }
        String systemIdentifier = tar.member(PG_CONTROL).filter(b -> b.length >= 8)
                .map(b -> Long.toUnsignedString(ByteBuffer.wrap(b, 0, 8).order(ByteOrder.nativeOrder()).getLong()))
                .orElse(null);
        String major = tar.member(PG_VERSION).map(b -> new String(b, StandardCharsets.UTF_8).strip()).orElse(null);
        return new Manifest.Physical(systemIdentifier, major, serverVersion, Integer.parseInt(timeline.group(1)),
                start.group(1).toUpperCase(Locale.ROOT), end.group(1).toUpperCase(Locale.ROOT), start.group(2),
                labelTime(label).orElse(null), stopTime);
    }

    private static Optional<Instant> labelTime(String label) {
        Matcher m = START_TIME.matcher(label);
        if (!m.find()) {
            return Optional.empty();
        }
        try {
            return Optional.of(ZonedDateTime.parse(m.group(1).strip(), LABEL_TIME).toInstant());
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** pg_basebackup's failure as what a DBA changes on the source, when its message says so. */
    static BackupFailure failure(SourceConnection source, int exit, String error) {
        String where = source.host() + ":" + source.port();
        String said = " pg_basebackup said: " + error;
        String e = error.toLowerCase(Locale.ROOT);
        if (e.contains("no pg_hba.conf entry for replication connection")) {
            return new BackupFailure("CONNECT", "the server at " + where + " refuses replication connections of "
                    + "role '" + source.user() + "' from this worker: pg_hba.conf has no matching 'replication' line; "
                    + "nothing was backed up. Add 'host replication " + source.user() + " <this worker's address>/32 "
                    + "scram-sha-256' to pg_hba.conf and reload the server (SELECT pg_reload_conf())." + said);
        }
        if (e.contains("must be superuser or replication role") || e.contains("permission denied to start wal sender")
                || e.contains("replication attribute")) {
            return new BackupFailure("CONNECT", "role '" + source.user() + "' on " + where + " lacks the "
                    + "REPLICATION attribute; nothing was backed up. As a superuser run: ALTER ROLE \""
                    + source.user() + "\" REPLICATION." + said);
        }
        if (e.contains("max_wal_senders") || e.contains("number of requested standby connections")) {
            return new BackupFailure("CONNECT", "the server at " + where + " has no free WAL sender for the base "
                    + "backup (all of max_wal_senders are in use); nothing was backed up. Raise max_wal_senders in "
                    + "postgresql.conf and restart the server, or end a replication connection." + said);
        }
        if (e.contains("password authentication failed") || e.contains("no password supplied")) {
            return new BackupFailure("CONNECT", "authentication failed for role '" + source.user() + "' on "
                    + where + " (replication connection): check the password behind the source's passwordRef and "
                    + "pg_hba.conf." + said);
        }
        if (e.contains("could not connect") || e.contains("connection refused") || e.contains("timeout expired")) {
            return new BackupFailure("CONNECT", "source unreachable: pg_basebackup cannot connect to " + where
                    + "; check that the server is running and accepts replication connections from this worker."
                    + said);
        }
        if (e.contains("has already been removed") || e.contains("could not find wal file")
                || e.contains("could not find any wal files")) {
            // -X fetch asks for the WAL from the backup's start only at its end. A replication slot does not keep it:
            // the WAL archiver's slot retains WAL from the archive's position on, which is past the backup's start
            // while the archiver is current
            return new BackupFailure("DUMP", "pg_basebackup of " + where + " needed WAL from the backup's start "
                    + "that the server had already recycled when the backup ended (heavy writes during the backup); "
                    + "nothing was kept as a backup. " + KEEP_WAL + said);
        }
        if (e.contains("copy stream ended before last file was finished")) {
            // the server ended the stream with an error that pg_basebackup, reading the stream, did not get to print;
            // the server's log has it. Recycled WAL is the cause a DBA can prevent, and the one heavy writes make
            return new BackupFailure("DUMP", "the server at " + where + " stopped sending the base backup before it "
                    + "was complete; nothing was kept as a backup. Its log says why. Under heavy writes it is "
                    + "usually WAL from the backup's start that the server had already recycled when the backup "
                    + "ended (the log says 'requested WAL segment ... has already been removed'). " + KEEP_WAL
                    + " Otherwise the server could not read a file of its data directory (permissions, an I/O "
                    + "error), was restarted, or its WAL sender was terminated." + said);
        }
        return new BackupFailure("DUMP", "pg_basebackup of " + where + " exited with " + exit + "; nothing was "
                + "kept as a backup." + said);
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
