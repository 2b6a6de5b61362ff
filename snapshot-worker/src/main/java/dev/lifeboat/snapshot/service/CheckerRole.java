package dev.lifeboat.snapshot.service;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.regex.Pattern;

import org.jboss.logging.Logger;
import org.postgresql.PGConnection;

import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.SqlCheckRules;
import dev.lifeboat.snapshot.config.RecoveryConfig;

/**
 * The restricted role QUERY_EQUALS checks run as, and its connection to the checked database.
 *
 * <p>Why a role of its own logged in directly, and not {@code SET ROLE} on the target user's connection: a single
 * query can undo SET ROLE ({@code select set_config('role', 'none', false), pg_read_file(...)}), so any role the
 * session may become is a role the check may use. A session authenticated as the checker can become nothing else.
 *
 * <p>The role: NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT, never a member of
 * pg_execute_server_program, pg_read_server_files, pg_write_server_files (nor of any role: checked before every
 * use, whoever created it), granted only CONNECT on the database, USAGE on its schemas and SELECT on its tables,
 * views and materialized views (not foreign tables) while the checks run; the grants are revoked afterwards. A role
 * the worker manages gets a fresh random password (sent SCRAM-hashed, never in clear) for the duration of the
 * checks and NOLOGIN without a password afterwards; an advisory lock in the maintenance database serializes this
 * per server. Every transaction is READ ONLY (also {@code default_transaction_read_only}) under
 * {@code statement_timeout}; the query is sent alone over the extended protocol ({@code preferQueryMode=extended},
 * where the server refuses more than one command per Parse) and wrapped as a subquery.
 *
 * <p>Refused outright, with the reason: databases with dblink (PUBLIC may call it to reach any server) and
 * databases with a SECURITY DEFINER function, owned by a privileged role, that the checker may execute.
 */
final class CheckerRole implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CheckerRole.class);
    private static final Pattern ROLE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final long LOCK_KEY = 0x6c69666562L; // "lifeb": one lock per server for checker passwords
    private static final List<String> PRIVILEGED_ROLES = List.of("pg_execute_server_program", "pg_read_server_files",
            "pg_write_server_files");
    private static final String OUTSIDE_SYSTEM = "n.nspname !~ '^pg_' and n.nspname <> 'information_schema'";

    record Result(boolean hasRow, String value, String error) {
    }

    private final String role;
    private final Duration timeout;
    private Connection maintenance;
    private Connection owner;
    private Connection session;
    private String refusal;
    private final List<String> grants = new ArrayList<>();
    private boolean managedPassword;

    private CheckerRole(String role, Duration timeout) {
        this.role = role;
        this.timeout = timeout;
    }

    /**
     * Prepares the role on the target's server and logs in as it. A problem here is not thrown: every query check
     * then fails with it as the reason.
     */
    static CheckerRole open(DatabaseTarget target, String database, String password, RecoveryConfig config,
                            dev.lifeboat.kit.secrets.SecretPolicy secrets, int connectTimeoutSeconds) {
        CheckerRole r = new CheckerRole(config.checkerRole(), config.statementTimeout());
        if (!ROLE_NAME.matcher(r.role).matches()) {
            r.refusal = "checker role '" + r.role + "' (lifeboat.recovery.checker-role) is not a plain lowercase name";
            return r;
        }
        try {
            String checkerPassword;
            if (config.checkerPasswordRef().isPresent()) {
                checkerPassword = secrets.resolve("lifeboat.recovery.checker-password-ref",
                        config.checkerPasswordRef().get());
            } else {
                r.maintenance = TargetServers.connect(target, config.maintenanceDatabase(), password,
                        connectTimeoutSeconds);
                checkerPassword = r.managePassword();
            }
            r.owner = TargetServers.connect(target, database, password, connectTimeoutSeconds);
            r.refusal = r.unsafe();
            if (r.refusal == null) {
                r.refusal = r.dangerousDatabase();
            }
            if (r.refusal == null) {
                r.grant(database);
                r.session = login(target, database, r.role, checkerPassword, config.statementTimeout(),
                        connectTimeoutSeconds);
            }
        } catch (SQLException | RuntimeException e) {
            r.refusal = "the restricted checker role '" + r.role + "' is not available on " + target.host() + ":"
                    + target.port() + ": " + e.getMessage();
        }
        if (r.refusal != null) {
            LOG.warnf("query checks on %s refused: %s", target.describe(), r.refusal);
        }
        return r;
    }

    /** Creates the role if needed and gives it a fresh password until {@link #close()}. */
    private String managePassword() throws SQLException {
        try (Statement st = maintenance.createStatement()) {
            st.execute("select pg_catalog.pg_advisory_lock(" + LOCK_KEY + ")");
            try (PreparedStatement ps = maintenance.prepareStatement("select 1 from pg_roles where rolname = ?")) {
                ps.setString(1, role);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        st.execute("create role " + role + " nologin nosuperuser nocreatedb nocreaterole noinherit "
                                + "noreplication nobypassrls");
                    }
                }
            }
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            managedPassword = true;
            maintenance.unwrap(PGConnection.class).alterUserPassword(role, secret.toCharArray(), "scram-sha-256");
            st.execute("alter role " + role + " login connection limit 2 valid until '"
                    + Instant.now().plus(Duration.ofHours(1)) + "'");
            return secret;
        }
    }

    /** Why the role must not run checks, or null. */
    private String unsafe() throws SQLException {
        StringBuilder sql = new StringBuilder("select rolsuper, rolcreaterole, rolcreatedb, rolreplication, "
                + "rolbypassrls, (select pg_catalog.string_agg(b.rolname, ', ') from pg_auth_members m "
                + "join pg_roles b on b.oid = m.roleid where m.member = r.oid)");
        for (String p : PRIVILEGED_ROLES) {
            sql.append(", pg_catalog.pg_has_role(r.oid, '").append(p).append("', 'MEMBER')");
        }
        sql.append(" from pg_roles r where r.rolname = ?");
        try (PreparedStatement ps = owner.prepareStatement(sql.toString())) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return "checker role '" + role + "' does not exist";
                }
                List<String> why = new ArrayList<>();
                String[] attributes = {"SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS"};
                for (int i = 0; i < attributes.length; i++) {
                    if (rs.getBoolean(i + 1)) {
                        why.add(attributes[i]);
                    }
                }
                for (int i = 0; i < PRIVILEGED_ROLES.size(); i++) {
                    if (rs.getBoolean(7 + i)) {
                        why.add("member of " + PRIVILEGED_ROLES.get(i));
                    }
                }
                if (rs.getString(6) != null) {
                    why.add("member of " + rs.getString(6));
                }
                return why.isEmpty() ? null : "checker role '" + role + "' is " + String.join(", ", why)
                        + "; a role that runs plan-written SQL must have none of this";
            }
        }
    }

    /** Why this database must not see plan-written SQL, or null. */
    private String dangerousDatabase() throws SQLException {
        try (Statement st = owner.createStatement();
             ResultSet rs = st.executeQuery("select 1 from pg_extension where extname = 'dblink'")) {
            if (rs.next()) {
                return "the database has the dblink extension, whose functions anyone may call to reach other "
                        + "servers; use declarative checks (ROW_COUNT_AT_LEAST, TABLE_MATCHES_SOURCE) here";
            }
        }
        try (PreparedStatement ps = owner.prepareStatement("select p.oid::regprocedure::text from pg_proc p "
                + "join pg_namespace n on n.oid = p.pronamespace join pg_roles o on o.oid = p.proowner "
                + "where p.prosecdef and " + OUTSIDE_SYSTEM + " and pg_catalog.has_function_privilege(?, p.oid, "
                + "'EXECUTE') and (o.rolsuper or pg_catalog.pg_has_role(o.oid, 'pg_execute_server_program', 'MEMBER') "
                + "or pg_catalog.pg_has_role(o.oid, 'pg_read_server_files', 'MEMBER') "
                + "or pg_catalog.pg_has_role(o.oid, 'pg_write_server_files', 'MEMBER')) limit 1")) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    return "the database has SECURITY DEFINER function " + rs.getString(1) + " owned by a privileged "
                            + "role and executable by everyone; a query check could act with that role's rights. "
                            + "Use declarative checks, or revoke EXECUTE on it from PUBLIC in the source";
                }
            }
        }
        return null;
    }

    private void grant(String database) throws SQLException {
        owner.setAutoCommit(true);
        List<String> schemas = names("select pg_catalog.format('%I', n.nspname) from pg_namespace n where "
                + OUTSIDE_SYSTEM);
        List<String> relations = names("select pg_catalog.format('%I.%I', n.nspname, c.relname) from pg_class c "
                + "join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p', 'v', 'm') and "
                + OUTSIDE_SYSTEM);
        grants.add("on database " + TargetServers.quote(database));
        if (!schemas.isEmpty()) {
            grants.add("on schema " + String.join(", ", schemas));
        }
        if (!relations.isEmpty()) {
            grants.add("on table " + String.join(", ", relations));
        }
        try (Statement st = owner.createStatement()) {
            st.execute("grant connect " + grants.get(0) + " to " + role);
            if (!schemas.isEmpty()) {
                st.execute("grant usage " + grants.get(1) + " to " + role);
            }
            if (!relations.isEmpty()) {
                st.execute("grant select " + grants.get(grants.size() - 1) + " to " + role);
            }
        }
    }

    private List<String> names(String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = owner.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static Connection login(DatabaseTarget target, String database, String role, String password,
                                    Duration timeout, int connectTimeoutSeconds) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", role);
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("connectTimeout", String.valueOf(connectTimeoutSeconds));
        // every statement ends at statement_timeout; a read waiting past it means the server stopped answering
        p.setProperty("socketTimeout", String.valueOf(Math.max(1, timeout.toSeconds()) + 10));
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("ApplicationName", "lifeboat-check");
        p.setProperty("preferQueryMode", "extended");
        p.setProperty("options", "-c default_transaction_read_only=on -c statement_timeout="
                + Math.max(1, timeout.toMillis()));
        Connection c = DriverManager.getConnection(TargetServers.url(target, database, p), p);
        c.setAutoCommit(false);
        return c;
    }

    /** Runs one check query; the first column of its first row as text, or why it failed. */
    Result query(String sql) {
        if (refusal != null) {
            return new Result(false, null, "refused: " + refusal);
        }
        String wrapped = "select * from (\n" + SqlCheckRules.withoutFinalSemicolon(sql) + "\n) as lifeboat_check";
        try {
            try (Statement st = session.createStatement()) {
                st.execute("set transaction read only");
            }
            try (PreparedStatement ps = session.prepareStatement(wrapped)) {
                ps.setMaxRows(1);
                ps.setQueryTimeout((int) Math.max(1, timeout.toSeconds() + 5));
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? new Result(true, rs.getString(1), null) : new Result(false, null, null);
                }
            }
        } catch (SQLException e) {
            return new Result(false, null, reason(e, timeout));
        } finally {
            try {
                session.rollback();
            } catch (SQLException e) {
                LOG.debugf("rollback after a check: %s", e.getMessage());
            }
        }
    }

    /** A reason a person can act on, from the server's error. */
    static String reason(SQLException e, Duration timeout) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
        return switch (state) {
            case "25006" -> "refused: checks run in a read-only transaction and this one tried to write (" + msg + ")";
            case "42501" -> "refused: the restricted checker role may not do this (" + msg + ")";
            case "57014" -> "stopped at the statement timeout of " + timeout + " (" + msg + ")";
            case "0A000" -> "refused: " + msg;
            case "42601" -> "refused: not a single query (" + msg + "); COPY, DO, SET and data-modifying "
                    + "statements are not checks";
            default -> "error: " + msg;
        };
    }

    @Override
    public void close() {
        close(session);
        if (owner != null && !grants.isEmpty()) {
            try (Statement st = owner.createStatement()) {
                for (String on : grants) {
                    st.execute("revoke all " + on + " from " + role);
                }
            } catch (SQLException e) {
                LOG.warnf("cannot revoke the checker role's grants: %s", e.getMessage());
            }
        }
        close(owner);
        if (maintenance != null) {
            try (Statement st = maintenance.createStatement()) {
                if (managedPassword) {
                    st.execute("alter role " + role + " nologin password null");
                }
                st.execute("select pg_catalog.pg_advisory_unlock(" + LOCK_KEY + ")");
            } catch (SQLException e) {
                LOG.warnf("cannot lock the checker role again: %s", e.getMessage());
            }
            close(maintenance);
        }
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                LOG.debugf("closing a checker connection: %s", e.getMessage());
            }
        }
    }
}
