package dev.lifeboat.snapshot.service;

import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.snapshot.archiver.ArchiverConfig;
import dev.lifeboat.snapshot.client.SchedulerClient;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import dev.lifeboat.snapshot.domain.BackupFailure;
import dev.lifeboat.snapshot.domain.SourceReadiness;
import dev.lifeboat.snapshot.domain.SourceReadiness.Missing;
import dev.lifeboat.snapshot.domain.SourceReadiness.Refusal;
import dev.lifeboat.snapshot.domain.SourceReadiness.Server;
import dev.lifeboat.snapshot.domain.SourceReadiness.Status;
import dev.lifeboat.snapshot.domain.SourceReadiness.Tool;
import dev.lifeboat.snapshot.domain.SourceReadiness.Unreachable;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.faulttolerance.Bulkhead;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Checks that this worker can back up a source: connects as the source's user with its resolved credentials (the same
 * connection settings as a backup, under the connect timeout and {@code lifeboat.snapshot.check-timeout}), and lists
 * what the source's method needs that is missing. Reads only: nothing is created on the source.
 */
@ApplicationScoped
public class SourceCheck {
    private static final Logger LOG = Logger.getLogger(SourceCheck.class);
    /** Items of one kind listed one by one (tables without SELECT); the rest are counted. */
    static final int LISTED = 20;

    @Inject
    SnapshotConfig config;
    @Inject
    ArchiverConfig archiverConfig;
    @Inject
    @RestClient
    SchedulerClient scheduler;
    @Inject
    SecretPolicy secrets;
    @Inject
    Spool spools;

    /**
     * Throws NoSuchElementException when scheduler-service knows no source {@code sourceId}, and BulkheadException
     * when as many checks as {@code LIFEBOAT_CHECK_CONCURRENCY} allows are already running on this worker.
     */
    @WithSpan("SourceCheck.check")
    @Bulkhead(4)
    public SourceReadiness check(String sourceId) {
        long started = System.nanoTime();
        SchedulerClient.SourceInfo source;
        try {
            source = scheduler.source(sourceId);
        } catch (jakarta.ws.rs.WebApplicationException e) {
            if (e.getResponse() != null && e.getResponse().getStatus() == 404) {
                throw new java.util.NoSuchElementException("source '" + sourceId + "' is not registered");
            }
            throw e;
        }
        Path spool = spools.job("check-" + UUID.randomUUID());
        try (Guard guard = new Guard(config.checkDeadline())) {
            long guarded = System.nanoTime();
            SourceReadiness readiness = check(source, spool, guard, started);
            // past the deadline whichever gave up first: the guard, or a connect timeout as long as the deadline (the
            // guard's timer may run a moment late on a busy machine)
            if (guard.fired() || System.nanoTime() - guarded >= config.checkDeadline().toNanos()) {
                String message = "the check did not finish within " + config.checkDeadline()
                        + " (LIFEBOAT_CHECK_DEADLINE): " + source.host() + ":" + source.port()
                        + " answered too slowly or not at all";
                LOG.infof("source %s check: %s", source.id(), message);
                return report(source, readiness.method(), Status.UNREACHABLE,
                        new Unreachable(Refusal.TIMEOUT, message), readiness.server(), readiness.tools(),
                        readiness.satisfied(), readiness.missing(), started);
            }
            return readiness;
        } finally {
            deleteQuietly(spool);
        }
    }

    /**
     * A check's deadline: when it passes, every connection the check opened is aborted (its socket closed), so a
     * source that stops answering mid-check ends the check then, however many queries were left.
     */
    private static final class Guard implements AutoCloseable {
        private static final ScheduledThreadPoolExecutor TIMERS = timers();
        private final List<Connection> open = new CopyOnWriteArrayList<>();
        private final AtomicBoolean fired = new AtomicBoolean();
        private final ScheduledFuture<?> timer;
        private volatile boolean closed;

        Guard(Duration deadline) {
            timer = TIMERS.schedule(this::fire, deadline.toMillis(), TimeUnit.MILLISECONDS);
        }

        private static ScheduledThreadPoolExecutor timers() {
            ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "source-check-deadline");
                t.setDaemon(true);
                return t;
            });
            timers.setRemoveOnCancelPolicy(true);  // a check that ended leaves nothing behind
            return timers;
        }

        Connection watch(Connection c) {
            open.add(c);
            if (fired.get()) {
                abort(c);
            }
            return c;
        }

        boolean fired() {
            return fired.get();
        }

        private void fire() {
            if (!closed && fired.compareAndSet(false, true)) {
                open.forEach(Guard::abort);
            }
        }

        private static void abort(Connection c) {
            try {
                c.abort(Runnable::run);
            } catch (SQLException | RuntimeException e) {
                LOG.debugf("aborting a source check's connection: %s", e.getMessage());
            }
        }

        @Override
        public void close() {
            closed = true;
            timer.cancel(false);
        }
    }

    private SourceReadiness check(SchedulerClient.SourceInfo source, Path spool, Guard guard, long started) {
        String method = source.physical() ? "physical" : "logical";
        SourceConnection connection;
        try {
            connection = SourceConnection.resolve(source, secrets, spool);
        } catch (BackupFailure e) {
            return report(source, method, Status.UNREACHABLE, new Unreachable(Refusal.CREDENTIALS, e.getMessage()),
                    null, List.of(), List.of(), List.of(), started);
        }
        int timeout = config.connectTimeoutSeconds();
        int checkSeconds = (int) Math.max(1, config.checkTimeout().toSeconds());
        Properties props = connection.jdbcProperties(timeout, checkSeconds);
        // search_path pinned (SearchPath): no function or operator a user of the source planted in a schema of
        // theirs is called by these queries, which may run as a superuser
        props.setProperty("options", "-c statement_timeout=" + checkSeconds * 1000L
                + " -c default_transaction_read_only=on " + SearchPath.PINNED);
        try (Connection c = guard.watch(DriverManager.getConnection(connection.jdbcUrl(), props))) {
            SourceProbe.ServerFacts facts = SourceProbe.facts(c);
            Server server = new Server(facts.version(), facts.versionNum(), facts.databaseBytes());
            List<String> satisfied = new ArrayList<>();
            List<Missing> missing = new ArrayList<>();
            List<Tool> tools = new ArrayList<>();
            for (String name : source.physical() ? List.of("pg_basebackup") : List.of("pg_dump", "pg_restore")) {
                tools.add(tool(name, facts.major(), missing));
            }
            Role role = role(c);
            if (source.physical()) {
                physical(c, connection, guard, source.id(), role, satisfied, missing);
            } else {
                logical(c, role, facts.major(), satisfied, missing);
            }
            return report(source, method, missing.isEmpty() ? Status.READY : Status.MISSING, null, server, tools,
                    satisfied, missing, started);
        } catch (SQLException e) {
            Unreachable why = SourceProbe.diagnose(connection, e);
            LOG.infof("source %s check: %s", source.id(), why.message());
            return report(source, method, Status.UNREACHABLE, why, null, List.of(), List.of(), List.of(), started);
        }
    }

    private record Role(String name, boolean superuser, boolean replication, boolean bypassRls) {
    }

    private static Role role(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select current_user, rolsuper, rolreplication, rolbypassrls "
                     + "from pg_roles where rolname = current_user")) {
            rs.next();
            return new Role(rs.getString(1), rs.getBoolean(2), rs.getBoolean(3), rs.getBoolean(4));
        }
    }

    private Tool tool(String name, int major, List<Missing> missing) {
        Optional<Path> path = PgTools.toolFor(config.pgInstallRoot(), major, name);
        if (path.isEmpty()) {
            missing.add(new Missing("no " + name + " for PostgreSQL " + major + " on this worker (looked in "
                    + config.pgInstallRoot() + "/<major>/bin for version " + major + " or newer)",
                    "install the PostgreSQL " + major + " client programs on the worker (Debian: apt-get install "
                            + "postgresql-client-" + major + ")"));
            return new Tool(name, null, null, false);
        }
        Path p = path.get();
        boolean same = p.getParent().getParent().getFileName().toString().equals(String.valueOf(major));
        return new Tool(name, p.toString(), PgTools.version(p), same);
    }

    /** pg_dump: CONNECT, USAGE on every schema, SELECT on every table and sequence, and no row security in its way. */
    private static void logical(Connection c, Role role, int major, List<String> satisfied, List<Missing> missing)
            throws SQLException {
        String user = ident(role.name());
        if (role.superuser()) {
            satisfied.add("user " + role.name() + " is a superuser: it reads every table");
            return;
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select pg_catalog.current_database(), "
                     + "pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CONNECT')")) {
            rs.next();
            if (rs.getBoolean(2)) {
                satisfied.add("CONNECT on database " + rs.getString(1));
            } else {
                missing.add(new Missing("CONNECT on database " + rs.getString(1), "GRANT CONNECT ON DATABASE "
                        + ident(rs.getString(1)) + " TO " + user + ";"));
            }
        }
        boolean readAll = false;
        if (major >= 14) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("select pg_catalog.pg_has_role(current_user, 'pg_read_all_data', "
                         + "'USAGE')")) {
                rs.next();
                readAll = rs.getBoolean(1);
            }
        }
        if (readAll) {
            satisfied.add("member of pg_read_all_data: SELECT on every table and sequence, USAGE on every schema");
        }
        String userSchemas = "n.nspname not in ('pg_catalog', 'information_schema') "
                + "and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'";
        int unreadable = 0;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select n.nspname, pg_catalog.count(*) over () from pg_namespace n where "
                     + userSchemas + " and not pg_catalog.has_schema_privilege(n.oid, 'USAGE') order by 1 limit "
                     + LISTED)) {
            while (rs.next()) {
                unreadable = rs.getInt(2);
                missing.add(new Missing("USAGE on schema " + rs.getString(1), "GRANT USAGE ON SCHEMA "
                        + ident(rs.getString(1)) + " TO " + user + ";"));
            }
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select n.nspname, c.relname, c.relkind = 'S', "
                     + "pg_catalog.count(*) over (), pg_catalog.count(*) filter (where c.relkind = 'S') over () "
                     + "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                     + "where c.relkind in ('r', 'p', 'm', 'S') and " + userSchemas
                     + " and not case when c.relkind = 'S' then pg_catalog.has_sequence_privilege(c.oid, 'SELECT') "
                     + "else pg_catalog.has_table_privilege(c.oid, 'SELECT') end order by 1, 2 limit " + LISTED)) {
            int total = 0;
            while (rs.next()) {
                total = rs.getInt(4);
                String name = ident(rs.getString(1)) + "." + ident(rs.getString(2));
                boolean sequence = rs.getBoolean(3);
                missing.add(new Missing("SELECT on " + (sequence ? "sequence " : "table ") + name,
                        "GRANT SELECT ON " + (sequence ? "SEQUENCE " : "TABLE ") + name + " TO " + user + ";"));
            }
            if (total > LISTED) {
                missing.add(new Missing((total - LISTED) + " more tables or sequences without SELECT",
                        "GRANT SELECT ON ALL TABLES IN SCHEMA <schema> TO " + user + "; and GRANT SELECT ON ALL "
                                + "SEQUENCES IN SCHEMA <schema> TO " + user + "; for each schema"));
            }
            unreadable += total;
        }
        if (unreadable > 0 && major >= 14) {
            missing.add(new Missing("pg_read_all_data (or the grants above)", "GRANT pg_read_all_data TO " + user
                    + "; reads every table, sequence and schema, including ones created later"));
        } else if (unreadable == 0 && !readAll) {
            satisfied.add("SELECT on every table and sequence, USAGE on every schema");
        }
        if (!role.bypassRls()) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("select n.nspname, c.relname from pg_class c "
                         + "join pg_namespace n on n.oid = c.relnamespace where c.relrowsecurity and " + userSchemas
                         + " and not pg_catalog.pg_has_role(c.relowner, 'USAGE') order by 1, 2 limit " + LISTED)) {
                while (rs.next()) {
                    missing.add(new Missing("table " + ident(rs.getString(1)) + "." + ident(rs.getString(2))
                            + " has row-level security, which stops pg_dump", "ALTER ROLE " + user + " BYPASSRLS;"));
                }
            }
        }
    }

    /** pg_basebackup and the WAL archiver: REPLICATION, wal_level, a free WAL sender, the archiver's slot. */
    private void physical(Connection c, SourceConnection connection, Guard guard, String sourceId, Role role,
                          List<String> satisfied, List<Missing> missing) throws SQLException {
        String user = ident(role.name());
        if (role.superuser() || role.replication()) {
            satisfied.add("user " + role.name() + (role.superuser() ? " is a superuser" : " has REPLICATION"));
        } else {
            missing.add(new Missing("the REPLICATION attribute of user " + role.name(), "ALTER ROLE " + user
                    + " REPLICATION;"));
        }
        String slot = archiverConfig.slotOf(sourceId);
        try (PreparedStatement st = c.prepareStatement("select pg_catalog.current_setting('wal_level'), "
                + "pg_catalog.current_setting('max_wal_senders')::int, (select pg_catalog.count(*) from "
                + "pg_stat_replication), pg_catalog.current_setting('max_replication_slots')::int, "
                + "(select pg_catalog.count(*) from pg_replication_slots), "
                + "(select active from pg_replication_slots where slot_name = ?)")) {
            st.setString(1, slot);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                String walLevel = rs.getString(1);
                if (walLevel.equals("replica") || walLevel.equals("logical")) {
                    satisfied.add("wal_level " + walLevel);
                } else {
                    missing.add(new Missing("wal_level replica (it is " + walLevel + ")",
                            "ALTER SYSTEM SET wal_level = replica; then restart the server"));
                }
                int senders = rs.getInt(2);
                int used = rs.getInt(3);
                Boolean slotActive = (Boolean) rs.getObject(6);
                // a base backup takes one sender; the archiver takes another unless it streams already
                int needed = 1 + (Boolean.TRUE.equals(slotActive) ? 0 : 1);
                if (senders - used >= needed) {
                    satisfied.add((senders - used) + " of max_wal_senders " + senders + " free");
                } else {
                    missing.add(new Missing("a free WAL sender: max_wal_senders is " + senders + ", " + used
                            + " in use, " + needed + " needed", "ALTER SYSTEM SET max_wal_senders = "
                            + (used + needed + 2) + "; then restart the server"));
                }
                int slots = rs.getInt(4);
                int slotsUsed = rs.getInt(5);
                if (slotActive != null) {
                    satisfied.add("replication slot " + slot + " exists" + (slotActive ? " and is streaming" : ""));
                } else if (slots - slotsUsed >= 1) {
                    satisfied.add((slots - slotsUsed) + " of max_replication_slots " + slots + " free for slot "
                            + slot);
                } else {
                    missing.add(new Missing("a free replication slot for " + slot + ": max_replication_slots is "
                            + slots + ", all in use", "ALTER SYSTEM SET max_replication_slots = " + (slots + 2)
                            + "; then restart the server (or drop an unused slot: pg_drop_replication_slot)"));
                }
            }
        }
        if (role.superuser() || role.replication()) {
            replicationConnection(connection, guard, satisfied, missing, user);
        }
    }

    /** pg_hba.conf admits replication connections separately from ordinary ones: try one. */
    private void replicationConnection(SourceConnection connection, Guard guard, List<String> satisfied,
                                       List<Missing> missing, String user) {
        Properties props = connection.jdbcProperties(config.connectTimeoutSeconds(),
                (int) Math.max(1, config.checkTimeout().toSeconds()));
        props.setProperty("replication", "database");
        props.setProperty("assumeMinServerVersion", "10");
        props.setProperty("preferQueryMode", "simple");
        try (Connection r = guard.watch(DriverManager.getConnection(connection.jdbcUrl(), props));
             Statement st = r.createStatement();
             ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            satisfied.add("replication connections admitted (system identifier " + rs.getString(1) + ")");
        } catch (SQLException e) {
            missing.add(new Missing("a replication connection as " + user + ": " + SourceProbe.diagnose(connection, e)
                    .message(), "add a line to pg_hba.conf such as: host replication " + user
                    + " <this worker's address>/32 scram-sha-256; then SELECT pg_reload_conf();"));
        }
    }

    private static SourceReadiness report(SchedulerClient.SourceInfo source, String method, Status status,
                                          Unreachable unreachable, Server server, List<Tool> tools,
                                          List<String> satisfied, List<Missing> missing, long started) {
        return new SourceReadiness(source.id(), method, source.host(), source.port(), source.database(),
                source.username(), source.sslmode() == null ? "require" : source.sslmode(), status, unreachable,
                server, List.copyOf(tools), List.copyOf(satisfied), List.copyOf(missing), Instant.now(),
                (System.nanoTime() - started) / 1_000_000);
    }

    /** A name as it is written in SQL: quoted unless it is a plain lower-case identifier. */
    static String ident(String name) {
        return name.matches("[a-z_][a-z0-9_$]*") ? name : "\"" + name.replace("\"", "\"\"") + "\"";
    }

    private static void deleteQuietly(Path dir) {
        try {
            if (Files.isDirectory(dir)) {
                try (var files = Files.list(dir)) {
                    for (Path f : files.toList()) {
                        Files.deleteIfExists(f);
                    }
                }
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            LOG.warnf("cannot clean check spool %s: %s", dir, e.getMessage());
        }
    }
}
