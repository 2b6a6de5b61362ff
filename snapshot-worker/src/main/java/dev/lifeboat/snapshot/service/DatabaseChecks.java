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

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.contracts.recovery.VerifyDatabase;
import dev.lifeboat.snapshot.config.RecoveryConfig;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import io.opentelemetry.instrumentation.annotations.WithSpan;

/**
 * VerifyDatabase: each SQL check runs in its own READ ONLY transaction with a statement timeout, so a check can
 * neither change the restored database nor hang the step. A table name is never spliced into SQL as given: the
 * server resolves it ({@code to_regclass}) and quotes the resolved schema and name itself.
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
        String name = TargetServers.validName(cmd.target());
        String password = TargetServers.password(secrets, cmd.target());
        List<Outcome> out = new ArrayList<>();
        try (Connection c = TargetServers.connect(cmd.target(), name, password, snapshots.connectTimeoutSeconds())) {
            c.setAutoCommit(false);
            for (SqlCheck check : cmd.checks() == null ? List.<SqlCheck>of() : cmd.checks()) {
                Outcome o = run(c, check);
                LOG.infof("verify %s: check '%s' %s (%s)", cmd.commandId(), o.name(), o.passed() ? "passed" : "FAILED",
                        o.detail());
                out.add(o);
            }
        } catch (SQLException e) {
            throw new dev.lifeboat.snapshot.domain.CommandFailure("checks on " + cmd.target().describe()
                    + " could not run: " + e.getMessage(), e);
        }
        return out;
    }

    private Outcome run(Connection c, SqlCheck check) throws SQLException {
        String kind = check.kind() == null ? null : check.kind().name();
        if (check.kind() == null) {
            return new Outcome(check.name(), null, false, null, "check has no kind");
        }
        try {
            try (Statement st = c.createStatement()) {
                st.execute("set transaction read only");
                st.execute("set local statement_timeout = " + Math.max(1, config.statementTimeout().toMillis()));
            }
            return switch (check.kind()) {
                case ROW_COUNT_AT_LEAST -> rowCount(c, check, kind);
                case QUERY_EQUALS -> queryEquals(c, check, kind);
            };
        } catch (SQLException e) {
            return new Outcome(check.name(), kind, false, null, "error: " + e.getMessage());
        } finally {
            c.rollback();
        }
    }

    private static Outcome rowCount(Connection c, SqlCheck check, String kind) throws SQLException {
        if (check.table() == null || check.table().isBlank() || check.minRows() == null) {
            return new Outcome(check.name(), kind, false, null, "ROW_COUNT_AT_LEAST needs table and minRows");
        }
        String relation;
        try (PreparedStatement ps = c.prepareStatement("select quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
                + " from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass(?)"
                + " and c.relkind in ('r', 'p', 'v', 'm', 'f')")) {
            ps.setString(1, check.table());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new Outcome(check.name(), kind, false, null, "table " + check.table() + " does not exist");
                }
                relation = rs.getString(1);
            }
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("select count(*) from " + relation)) {
            rs.next();
            long rows = rs.getLong(1);
            boolean passed = rows >= check.minRows();
            return new Outcome(check.name(), kind, passed, String.valueOf(rows), relation + " has " + rows
                    + " rows, " + (passed ? "at least " : "fewer than ") + check.minRows());
        }
    }

    private static Outcome queryEquals(Connection c, SqlCheck check, String kind) throws SQLException {
        if (check.sql() == null || check.sql().isBlank()) {
            return new Outcome(check.name(), kind, false, null, "QUERY_EQUALS needs sql");
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(check.sql())) {
            if (!rs.next()) {
                return new Outcome(check.name(), kind, false, null, "query returned no row, expected '"
                        + check.expected() + "'");
            }
            String actual = rs.getString(1);
            boolean passed = actual == null ? check.expected() == null : actual.equals(check.expected());
            return new Outcome(check.name(), kind, passed, actual, passed ? "returned the expected value"
                    : "returned '" + actual + "', expected '" + check.expected() + "'");
        }
    }
}
