package dev.lifeboat.snapshot.service;

import org.jboss.logging.Logger;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who keeps a backup waiting on the source: the table and the server process holding the lock, with the facts a
 * person needs to find that session (user, application, client address, how long its transaction has been open).
 * Read from pg_locks and pg_stat_activity over a connection of its own, under a short statement timeout; a
 * diagnosis that cannot be made says so and never hides the failure it explains.
 */
final class LockDiagnosis {
    private static final Logger LOG = Logger.getLogger(LockDiagnosis.class);
    private static final Pattern LOCK_QUERY = Pattern.compile("LOCK TABLE (.+?) IN ACCESS SHARE MODE");
    private static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(5);

    private LockDiagnosis() {
    }

    /** The table named in pg_dump's failed {@code LOCK TABLE} statement, if its error output shows one. */
    static Optional<String> lockedTable(String pgDumpError) {
        Matcher m = LOCK_QUERY.matcher(pgDumpError);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** Sessions holding an ACCESS EXCLUSIVE lock on {@code table} (the only mode that blocks pg_dump's lock). */
    static String holdersOf(SourceConnection source, String table, int connectTimeoutSeconds) {
        String sql = """
                select l.pid, a.usename, a.application_name, pg_catalog.host(a.client_addr), a.xact_start, a.state,
                       l.mode
                from pg_locks l left join pg_stat_activity a on a.pid = l.pid
                where l.locktype = 'relation' and l.relation = pg_catalog.to_regclass(?) and l.granted
                  and l.mode = 'AccessExclusiveLock' and l.pid <> pg_catalog.pg_backend_pid()""";
        try (Connection c = connect(source, connectTimeoutSeconds);
             PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, table);
            List<String> holders = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    holders.add(session(rs, 1) + " holding " + rs.getString(7));
                }
            }
            if (holders.isEmpty()) {
                return "table " + table + " was locked; the lock is no longer held";
            }
            return "table " + table + " is locked by " + String.join("; ", holders);
        } catch (SQLException e) {
            LOG.warnf("cannot read the locks on %s of %s: %s", table, source, e.getMessage());
            return "table " + table + " is locked (who holds the lock could not be read: " + e.getMessage() + ")";
        }
    }

    /**
     * What the sessions of {@code applicationName} (one backup's pg_dump and its parallel jobs) are waiting for:
     * for each lock wait, the table and the processes blocking it. Empty when none of them waits on a lock.
     */
    static Optional<String> waitsOf(SourceConnection source, String applicationName, int connectTimeoutSeconds) {
        String sql = """
                select coalesce((select n.nspname || '.' || c.relname from pg_class c
                                 join pg_namespace n on n.oid = c.relnamespace where c.oid = wl.relation),
                                wl.locktype) as what, b.pid, ba.usename, ba.application_name,
                       pg_catalog.host(ba.client_addr), ba.xact_start, ba.state
                from pg_stat_activity w
                join pg_locks wl on wl.pid = w.pid and not wl.granted
                cross join lateral pg_catalog.unnest(pg_catalog.pg_blocking_pids(w.pid)) as b(pid)
                left join pg_stat_activity ba on ba.pid = b.pid
                where w.application_name = ?""";
        try (Connection c = connect(source, connectTimeoutSeconds);
             PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, applicationName);
            Set<String> waits = new LinkedHashSet<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    waits.add("table " + rs.getString(1) + " is locked by " + session(rs, 2));
                }
            }
            return waits.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", waits));
        } catch (SQLException e) {
            LOG.warnf("cannot read the lock waits of %s on %s: %s", applicationName, source, e.getMessage());
            return Optional.of("what pg_dump waited for could not be read: " + e.getMessage());
        }
    }

    /**
     * Ends the server sessions of a killed pg_dump: a backend waiting in a lock queue does not notice that its
     * client is gone, and would keep its place in the queue (ahead of the sessions queued behind it) until its own
     * timeout. A role may end its own sessions.
     */
    static void endSessions(SourceConnection source, String applicationName, int connectTimeoutSeconds) {
        try (Connection c = connect(source, connectTimeoutSeconds);
             PreparedStatement ps = c.prepareStatement("select pg_catalog.count(pg_catalog.pg_terminate_backend(pid)) "
                     + "from pg_stat_activity where application_name = ? and pid <> pg_catalog.pg_backend_pid()")) {
            ps.setString(1, applicationName);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                LOG.debugf("ended %d session(s) of %s on %s", rs.getInt(1), applicationName, source);
            }
        } catch (SQLException e) {
            LOG.warnf("cannot end the sessions of %s on %s (they end at their lock wait timeout): %s",
                    applicationName, source, e.getMessage());
        }
    }

    /** "process 4242 (user alice, application psql, client 10.1.2.3, transaction open since ...)". */
    private static String session(ResultSet rs, int pidColumn) throws SQLException {
        StringBuilder s = new StringBuilder("process ").append(rs.getInt(pidColumn));
        List<String> facts = new ArrayList<>();
        String user = rs.getString(pidColumn + 1);
        if (user != null) {
            facts.add("user " + user);
        }
        String app = rs.getString(pidColumn + 2);
        if (app != null && !app.isBlank()) {
            facts.add("application " + app);
        }
        String client = rs.getString(pidColumn + 3);
        facts.add(client == null ? "local connection" : "client " + client);
        var xact = rs.getTimestamp(pidColumn + 4);
        if (xact != null) {
            facts.add("transaction open since " + xact.toInstant());
        }
        String state = rs.getString(pidColumn + 5);
        if (state != null) {
            facts.add(state);
        }
        return s.append(" (").append(String.join(", ", facts)).append(")").toString();
    }

    private static Connection connect(SourceConnection source, int connectTimeoutSeconds) throws SQLException {
        Properties props = source.jdbcProperties(connectTimeoutSeconds, (int) STATEMENT_TIMEOUT.toSeconds() * 2);
        props.setProperty("ApplicationName", "lifeboat-snapshot-diagnosis");
        Connection c = DriverManager.getConnection(source.jdbcUrl(), props);
        try (Statement st = c.createStatement()) {
            st.execute("set statement_timeout = " + STATEMENT_TIMEOUT.toMillis());
        }
        return c;
    }
}
