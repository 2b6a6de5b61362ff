package dev.lifeboat.snapshot.service;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.contracts.recovery.SqlCheckRules;
import dev.lifeboat.contracts.recovery.VerifyDatabase;
import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.snapshot.config.RecoveryConfig;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import dev.lifeboat.snapshot.domain.CommandFailure;
import io.opentelemetry.instrumentation.annotations.WithSpan;

/**
 * VerifyDatabase. Every check runs in its own READ ONLY transaction under {@code statement_timeout}, and is rolled
 * back. Declarative checks (ROW_COUNT_AT_LEAST, TABLE_MATCHES_SOURCE) run only the worker's own SQL, with table
 * names resolved and quoted by the server, under the pinned search_path of {@link SearchPath}: the database's owner
 * may have planted look-alikes of the built-in functions it calls. On a restored cluster every check runs as the
 * checker role, a member of pg_read_all_data (see {@link CheckerRole#onRestoredCluster}). A QUERY_EQUALS query, written by a plan's author, is held much tighter
 * (see {@link CheckerRole}): one statement ({@link SqlCheckRules}), sent alone in the extended protocol, wrapped as
 * a subquery (so it can only be a query), on a connection of its own as the restricted checker role. Values
 * reported back are truncated.
 */
@ApplicationScoped
public class DatabaseChecks {
    private static final Logger LOG = Logger.getLogger(DatabaseChecks.class);

    @Inject
    dev.lifeboat.kit.secrets.SecretPolicy secrets;
    @Inject
    SnapshotConfig snapshots;
    @Inject
    RecoveryConfig config;
    @Inject
    DatabaseRestorer restorer;
    @Inject
    ClusterRestorer clusters;

    /** One outcome per check, in the command's order. */
    public record Outcome(String name, String kind, boolean passed, String actual, String detail) {
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("kind", kind);
            m.put("passed", passed);
            m.put("actual", actual);
            m.put("detail", detail);
            return m;
        }
    }

    @WithSpan("DatabaseChecks.verify")
    public List<Outcome> verify(VerifyDatabase cmd) {
        List<SqlCheck> checks = cmd.checks() == null ? List.of() : cmd.checks();
        if (cmd.cluster() != null) {
            return verifyCluster(cmd, checks);
        }
        if (cmd.target() == null) {
            throw new CommandFailure("VerifyDatabase " + cmd.commandId() + " names neither a target database nor a "
                    + "restored cluster");
        }
        String name = TargetServers.validName(cmd.target());
        String password = TargetServers.password(secrets, cmd.target());
        Optional<TableFingerprints> recorded = checks.stream().anyMatch(c -> c.kind() == SqlCheck.Kind.TABLE_MATCHES_SOURCE)
                ? recorded(cmd) : Optional.empty();
        return verifyOn(cmd.commandId(), cmd.target(), name, password, checks, recorded);
    }

    /**
     * Checks on a restored cluster: each in the database it names, over the cluster's private socket, as the
     * checker role, which the check user (a superuser of the source's copy) only prepares with role commands
     * ({@link CheckerRole#onRestoredCluster}): whatever the source left in the cluster (event triggers, functions,
     * role settings, a role of the checker's name) never runs as a superuser. A physical base backup records no
     * table fingerprints, so TABLE_MATCHES_SOURCE fails with the reason.
     */
    private List<Outcome> verifyCluster(VerifyDatabase cmd, List<SqlCheck> checks) {
        Map<String, List<SqlCheck>> byDatabase = new LinkedHashMap<>();
        Map<SqlCheck, Outcome> outcomes = new java.util.IdentityHashMap<>();
        for (SqlCheck check : checks) {
            if (check.database() == null || check.database().isBlank()) {
                outcomes.put(check, new Outcome(check.name(), check.kind() == null ? null : check.kind().name(), false,
                        null, "a check on a restored cluster names the database it runs in"));
            } else if (check.kind() == SqlCheck.Kind.TABLE_MATCHES_SOURCE) {
                outcomes.put(check, new Outcome(check.name(), check.kind().name(), false, null, "a physical base "
                        + "backup records no table fingerprints to compare with"));
            } else {
                byDatabase.computeIfAbsent(check.database(), d -> new ArrayList<>()).add(check);
            }
        }
        int major = byDatabase.isEmpty() ? 0 : clusters.restoredMajor(cmd.cluster());
        for (Map.Entry<String, List<SqlCheck>> e : byDatabase.entrySet()) {
            DatabaseTarget target = clusters.socketTarget(cmd.cluster(), e.getKey());
            String name = TargetServers.plainName(target);
            List<Outcome> got = verifyRestored(cmd.commandId(), target, name, major, e.getValue());
            for (int i = 0; i < got.size(); i++) {
                outcomes.put(e.getValue().get(i), got.get(i));
            }
        }
        return checks.stream().map(outcomes::get).toList();
    }

    private List<Outcome> verifyOn(String commandId, DatabaseTarget target, String name, String password,
                                   List<SqlCheck> checks, Optional<TableFingerprints> recorded) {
        List<Outcome> out = new ArrayList<>();
        boolean anyQuery = checks.stream().anyMatch(c -> c.kind() == SqlCheck.Kind.QUERY_EQUALS);
        try (Connection c = TargetServers.connect(target, name, password, snapshots.connectTimeoutSeconds());
             CheckerRole checker = anyQuery ? CheckerRole.open(target, name, password, config, secrets,
                     snapshots.connectTimeoutSeconds()) : null) {
            c.setAutoCommit(false);
            for (SqlCheck check : checks) {
                out.add(logged(commandId, truncated(run(c, checker, check, recorded))));
            }
        } catch (SQLException e) {
            throw new CommandFailure("checks on " + target.describe() + " could not run: " + e.getMessage(), e);
        }
        return out;
    }

    /** The checks of one database of a restored cluster, every one as the checker role. */
    private List<Outcome> verifyRestored(String commandId, DatabaseTarget target, String name, int major,
                                         List<SqlCheck> checks) {
        List<Outcome> out = new ArrayList<>();
        try (CheckerRole checker = CheckerRole.onRestoredCluster(target, name, major, config,
                snapshots.connectTimeoutSeconds())) {
            for (SqlCheck check : checks) {
                out.add(logged(commandId, checker.refusal() != null
                        ? new Outcome(check.name(), check.kind() == null ? null : check.kind().name(), false, null,
                        "refused: " + checker.refusal())
                        : truncated(run(checker.declarative(), checker, check, Optional.empty()))));
            }
        } catch (SQLException e) {
            throw new CommandFailure("checks on " + target.describe() + " could not run: " + e.getMessage(), e);
        }
        return out;
    }

    private static Outcome logged(String commandId, Outcome o) {
        LOG.infof("verify %s: check '%s' %s (%s)", commandId, o.name(), o.passed() ? "passed" : "FAILED", o.detail());
        return o;
    }

    private Optional<TableFingerprints> recorded(VerifyDatabase cmd) {
        if (cmd.backup() == null) {
            throw new CommandFailure("VerifyDatabase " + cmd.commandId() + " has TABLE_MATCHES_SOURCE checks but names "
                    + "no backup to compare with");
        }
        return restorer.recordedTables(cmd.backup());
    }

    private Outcome run(Connection c, CheckerRole checker, SqlCheck check, Optional<TableFingerprints> recorded)
            throws SQLException {
        String kind = check.kind() == null ? null : check.kind().name();
        if (check.kind() == null) {
            return new Outcome(check.name(), null, false, null, "check has no kind");
        }
        if (check.kind() == SqlCheck.Kind.QUERY_EQUALS) {
            return queryEquals(checker, check, kind);
        }
        try {
            try (Statement st = c.createStatement()) {
                st.execute("set transaction read only");
                st.execute("set local statement_timeout = " + Math.max(1, config.statementTimeout().toMillis()));
            }
            return switch (check.kind()) {
                case ROW_COUNT_AT_LEAST -> rowCount(c, check, kind);
                case TABLE_MATCHES_SOURCE -> tableMatches(c, check, kind, recorded);
                case QUERY_EQUALS -> throw new IllegalStateException("handled above");
            };
        } catch (SQLException e) {
            return new Outcome(check.name(), kind, false, null, CheckerRole.reason(e, config.statementTimeout()));
        } finally {
            c.rollback();
        }
    }

    private static Outcome rowCount(Connection c, SqlCheck check, String kind) throws SQLException {
        if (check.table() == null || check.table().isBlank() || check.minRows() == null) {
            return new Outcome(check.name(), kind, false, null, "ROW_COUNT_AT_LEAST needs table and minRows");
        }
        Long oid = tableOid(c, check.table());
        String relation;
        try (PreparedStatement ps = c.prepareStatement("select pg_catalog.quote_ident(n.nspname) || '.' || "
                + "pg_catalog.quote_ident(c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                + "where c.oid = ?::oid"
                // stored rows only: counting a view or a foreign table would run code or reach another server as the
                // target user
                + " and c.relkind in ('r', 'p', 'm')")) {
            ps.setObject(1, oid, java.sql.Types.BIGINT);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new Outcome(check.name(), kind, false, null, "table " + check.table()
                            + " does not exist (ROW_COUNT_AT_LEAST counts tables and materialized views only)");
                }
                relation = rs.getString(1);
            }
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select pg_catalog.count(*) from " + relation)) {
            rs.next();
            long rows = rs.getLong(1);
            boolean passed = rows >= check.minRows();
            return new Outcome(check.name(), kind, passed, String.valueOf(rows), relation + " has " + rows
                    + " rows, " + (passed ? "at least " : "fewer than ") + check.minRows());
        }
    }

    /**
     * The oid of the relation {@code table} names, or null: an unqualified name is looked up in PostgreSQL's default
     * path ({@link SearchPath#DEFAULT_FOR_TABLE_NAMES}) for this one statement, which calls nothing that path could
     * give to a look-alike (a qualified function and types, no operator). On an error the transaction is rolled
     * back, and the path with it.
     */
    private static Long tableOid(Connection c, String table) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("select pg_catalog.set_config('search_path', '" + SearchPath.DEFAULT_FOR_TABLE_NAMES
                    + "', true)");
            Long oid;
            try (PreparedStatement ps = c.prepareStatement(
                    "select pg_catalog.to_regclass(?::pg_catalog.text)::pg_catalog.oid::pg_catalog.int8")) {
                ps.setString(1, table);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    long value = rs.getLong(1);
                    oid = rs.wasNull() ? null : value;
                }
            }
            st.execute("select pg_catalog.set_config('search_path', '" + SearchPath.PINNED_PATH + "', true)");
            return oid;
        }
    }

    /**
     * The restored table(s) against the row count and content hash the backup recorded in the dump's snapshot.
     * {@code *} compares every recorded table, and fails on a restored table the backup recorded nothing for.
     */
    private static Outcome tableMatches(Connection c, SqlCheck check, String kind, Optional<TableFingerprints> recorded)
            throws SQLException {
        Optional<String> problem = SqlCheckRules.tableProblem(check.table());
        if (problem.isPresent()) {
            return new Outcome(check.name(), kind, false, null, problem.get());
        }
        if (recorded.isEmpty()) {
            return new Outcome(check.name(), kind, false, null, "the backup recorded no table fingerprints (taken "
                    + "with lifeboat.snapshot.table-fingerprints=false, or before they existed)");
        }
        String method = recorded.get().method();
        boolean fromCopy = dev.lifeboat.repository.snapshot.CopyRows.computes(method);
        if (!fromCopy && !TableHashes.METHOD.equals(method)) {
            return new Outcome(check.name(), kind, false, null, "the backup's fingerprints were computed with '"
                    + method + "', this worker computes '" + CopyHashes.METHOD + "', '"
                    + dev.lifeboat.repository.snapshot.CopyRows.MD5_METHOD + "' and '" + TableHashes.METHOD
                    + "' only");
        }
        if (fromCopy) {
            CopyHashes.pinTextForms(c);
        } else {
            TableHashes.pinTextForms(c);
        }
        Map<String, TableFingerprints.Table> expected = new TreeMap<>();
        for (TableFingerprints.Table t : recorded.get().tables()) {
            expected.put(t.qualified(), t);
        }
        List<String> wanted;
        List<String> mismatches = new ArrayList<>();
        List<String> unloggedUnrecorded = new ArrayList<>();
        if (SqlCheck.ALL_TABLES.equals(check.table())) {
            wanted = new ArrayList<>(expected.keySet());
            for (String[] t : TableHashes.tables(c)) {
                if (!expected.containsKey(t[0] + "." + t[1])) {
                    if (emptyUnlogged(c, t[0], t[1])) {
                        // pg_dump dumps no data of an unlogged table from a standby (nor with
                        // --no-unlogged-table-data): the restore creates it empty, and there is nothing to compare
                        unloggedUnrecorded.add(t[0] + "." + t[1]);
                    } else {
                        mismatches.add(t[0] + "." + t[1] + ": restored, but the backup recorded nothing for it");
                    }
                }
            }
        } else {
            wanted = List.of(check.table());
        }
        for (String table : wanted) {
            TableFingerprints.Table want = expected.get(table);
            if (want == null) {
                mismatches.add(table + ": the backup recorded nothing for it");
                continue;
            }
            if (!exists(c, want.schema(), want.name())) {
                mismatches.add(table + ": missing from the restored database (the backup recorded " + want.rows()
                        + " rows)");
                continue;
            }
            List<String> missingColumns = fromCopy ? CopyHashes.missingColumns(c, want) : List.of();
            if (!missingColumns.isEmpty()) {
                mismatches.add(table + ": restored without the column(s) " + String.join(", ", missingColumns)
                        + " that the backup's data holds");
                continue;
            }
            // a backup's fingerprints are compared the way that backup computed them
            TableFingerprints.Table got = fromCopy ? CopyHashes.fingerprint(c, want, method)
                    : TableHashes.fingerprint(c, want.schema(), want.name());
            if (got.rows() != want.rows() || !got.hash().equals(want.hash())) {
                mismatches.add(table + ": restored " + got.rows() + " rows, content hash " + got.hash()
                        + "; the backup recorded " + want.rows() + " rows, content hash " + want.hash());
            }
        }
        String unlogged = unloggedUnrecorded.isEmpty() ? "" : "; " + unloggedUnrecorded.size() + " unlogged "
                + (unloggedUnrecorded.size() == 1 ? "table" : "tables") + " whose data the backup holds none of "
                + "(dumped from a standby), restored empty and not compared: " + String.join(", ", unloggedUnrecorded);
        if (mismatches.isEmpty()) {
            return new Outcome(check.name(), kind, true, wanted.size() == 1 ? String.valueOf(expected.get(
                    wanted.getFirst()).rows()) : wanted.size() + " tables", (wanted.size() == 1 ? wanted.getFirst()
                    + " matches the backup (row count and content hash)" : "all " + wanted.size()
                    + " tables match the backup (row count and content hash)") + unlogged);
        }
        return new Outcome(check.name(), kind, false, mismatches.size() + " differ",
                "differs from the backup: " + String.join("; ", mismatches));
    }

    /** An unlogged table without a row: what a restore makes of one whose data the dump did not hold. */
    private static boolean emptyUnlogged(Connection c, String schema, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select c.relpersistence = 'u', "
                + "pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) "
                + "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                + "where n.nspname = ? and c.relname = ?")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            String relation;
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || !rs.getBoolean(1)) {
                    return false;
                }
                relation = rs.getString(2);
            }
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("select not exists (select from only " + relation + ")")) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private static boolean exists(Connection c, String schema, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select 1 from pg_class c join pg_namespace n on n.oid = "
                + "c.relnamespace where n.nspname = ? and c.relname = ? and c.relkind = 'r'")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private Outcome queryEquals(CheckerRole checker, SqlCheck check, String kind) {
        if (check.sql() == null || check.sql().isBlank() || check.expected() == null) {
            return new Outcome(check.name(), kind, false, null, "QUERY_EQUALS needs sql and expected");
        }
        Optional<String> problem = SqlCheckRules.queryProblem(check.sql());
        if (problem.isPresent()) {
            return new Outcome(check.name(), kind, false, null, "refused: " + problem.get());
        }
        CheckerRole.Result r = checker.query(check.sql());
        if (r.error() != null) {
            return new Outcome(check.name(), kind, false, null, r.error());
        }
        if (!r.hasRow()) {
            return new Outcome(check.name(), kind, false, null, "query returned no row, expected '"
                    + check.expected() + "'");
        }
        String actual = r.value();
        boolean passed = actual == null ? check.expected() == null : actual.equals(check.expected());
        return new Outcome(check.name(), kind, passed, actual, passed ? "returned the expected value"
                : "returned '" + cut(actual, config.checkValueMaxChars()) + "', expected '"
                + cut(check.expected(), config.checkValueMaxChars()) + "'");
    }

    private Outcome truncated(Outcome o) {
        int max = config.checkValueMaxChars();
        // the detail may quote values in several places; allow it a few values' worth
        return new Outcome(o.name(), o.kind(), o.passed(), cut(o.actual(), max), cut(o.detail(), 5 * max));
    }

    static String cut(String s, int max) {
        if (s == null || s.length() <= max) {
            return s;
        }
        return s.substring(0, Math.max(0, max)) + "... (" + s.length() + " characters, cut)";
    }
}
