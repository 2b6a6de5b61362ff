package dev.lifeboat.snapshot.service;

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
import java.util.Properties;
import java.util.regex.Pattern;

import org.jboss.logging.Logger;

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
 *
 * <p>On a cluster this worker restored, the role is prepared otherwise and runs every check, declarative ones too:
 * see {@link #onRestoredCluster}.
 */
final class CheckerRole implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CheckerRole.class);
    private static final Pattern ROLE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final long LOCK_KEY = 0x6c69666562L; // "lifeb": one lock per server for checker passwords
    private static final List<String> PRIVILEGED_ROLES = List.of("pg_execute_server_program", "pg_read_server_files",
            "pg_write_server_files");
    private static final String OUTSIDE_SYSTEM = "n.nspname !~ '^pg_' and n.nspname <> 'information_schema'";
    /** pg_read_all_data came with PostgreSQL 14. */
    private static final int FIRST_WITH_READ_ALL_DATA = 14;
    /** REVOKE role ... GRANTED BY someone else (PostgreSQL 16: a membership is one per grantor). */
    private static final int FIRST_WITH_GRANTED_BY = 16;
    /** Login event triggers and the event_triggers setting came with PostgreSQL 17. */
    private static final int FIRST_WITH_LOGIN_TRIGGERS = 17;

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
    /** On a restored cluster: the checker's second session, for declarative checks, under the pinned search_path. */
    private Connection declarative;
    /** On a restored cluster: why QUERY_EQUALS (only) is refused there, or null. */
    private String queryRefusal;
    private String restoredDatabase;
    private int restoredMajor;

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
                r.refusal = r.dangerousDatabase(r.owner, false);
            }
            if (r.refusal == null) {
                r.grant(database);
                r.session = login(target, database, r.role, checkerPassword, config.statementTimeout(),
                        connectTimeoutSeconds, "-c default_transaction_read_only=on -c statement_timeout="
                                + Math.max(1, config.statementTimeout().toMillis()));
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

    /**
     * Prepares the checker role on a cluster this worker restored and logs in as it twice over the private socket
     * (peer authentication): one session for declarative checks, under the pinned search_path, one for QUERY_EQUALS
     * under the database's own settings. Every check on a restored cluster runs as this role, never as the check
     * user: the cluster is a copy of the source, whose superuser may have left event triggers, functions (in
     * pg_catalog too), role settings and a role of the checker's name for whoever runs SQL as a superuser there.
     *
     * <p>The check user's session (the only superuser one) runs nothing anything in the cluster can hook: role
     * commands (CREATE / ALTER / GRANT / REVOKE of roles, GRANT on the database and, on PostgreSQL 17+, on a
     * parameter: event triggers never fire for shared objects) and reads of base catalog tables with exact-typed
     * literals, no function but the advisory lock. It starts with event triggers off (PostgreSQL 17+), no
     * session_preload_libraries, replica replication role and the pinned search_path as startup options, which
     * outrank the cluster's database and role settings.
     *
     * <p>The role: created, or, when the cluster already has one of that name (the source's), forced to NOSUPERUSER
     * NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS without a password and stripped of every role membership;
     * its role settings (all, and those in the checked database) are reset; then it is made a member of
     * pg_read_all_data (PostgreSQL 14+; older majors are refused), which must be the only role it belongs to,
     * directly or not. It bypasses row-level security and its sessions run with {@code row_security=off}, so a
     * table's policies (code the source wrote) never run and its rows are counted all the same. Afterwards: NOLOGIN, no longer a member
     * of pg_read_all_data, CONNECT revoked. A problem here is not thrown: every check then fails with it as reason.
     */
    static CheckerRole onRestoredCluster(DatabaseTarget target, String database, int major, RecoveryConfig config,
                                         int connectTimeoutSeconds) {
        CheckerRole r = new CheckerRole(config.checkerRole(), config.statementTimeout());
        r.restoredDatabase = database;
        r.restoredMajor = major;
        if (!ROLE_NAME.matcher(r.role).matches()) {
            r.refusal = "checker role '" + r.role + "' (lifeboat.recovery.checker-role) is not a plain lowercase name";
        } else if (major < FIRST_WITH_READ_ALL_DATA) {
            r.refusal = "the restored cluster runs PostgreSQL " + major + ", which has no pg_read_all_data role: "
                    + "checks on a restored cluster run only as a non-superuser member of it (PostgreSQL 14 and "
                    + "later), never as a superuser of the source's copy";
        }
        if (r.refusal != null) {
            LOG.warnf("checks on %s refused: %s", target.describe(), r.refusal);
            return r;
        }
        try {
            r.maintenance = checkUserSession(target, database, major, config.statementTimeout(),
                    connectTimeoutSeconds);
            r.refusal = r.restrictOnRestored();
            if (r.refusal == null) {
                String readOnly = (major >= FIRST_WITH_LOGIN_TRIGGERS ? "-c event_triggers=off " : "")
                        + "-c row_security=off -c default_transaction_read_only=on -c statement_timeout="
                        + Math.max(1, config.statementTimeout().toMillis());
                r.declarative = login(target, database, r.role, null, config.statementTimeout(),
                        connectTimeoutSeconds, SearchPath.PINNED + " " + readOnly);
                r.session = login(target, database, r.role, null, config.statementTimeout(), connectTimeoutSeconds,
                        readOnly);
                try {
                    r.queryRefusal = r.dangerousDatabase(r.declarative, true);
                } finally {
                    r.declarative.rollback();
                }
            }
        } catch (SQLException | RuntimeException e) {
            r.refusal = "the restricted checker role '" + r.role + "' is not available on the restored cluster ("
                    + target.describe() + "): " + e.getMessage();
        }
        if (r.refusal != null) {
            LOG.warnf("checks on %s refused: %s", target.describe(), r.refusal);
        } else if (r.queryRefusal != null) {
            LOG.warnf("query checks on %s refused: %s", target.describe(), r.queryRefusal);
        }
        return r;
    }

    /** The check user's session on a restored cluster: superuser, so it starts with nothing the cluster set. */
    private static Connection checkUserSession(DatabaseTarget target, String database, int major, Duration timeout,
                                               int connectTimeoutSeconds) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", target.user());
        p.setProperty("connectTimeout", String.valueOf(connectTimeoutSeconds));
        p.setProperty("socketTimeout", String.valueOf(Math.max(1, timeout.toSeconds()) + 10));
        p.setProperty("ApplicationName", "lifeboat-check-setup");
        p.setProperty("preferQueryMode", "extended");
        // startup options outrank ALTER DATABASE / ALTER ROLE ... SET of the source: no library it names is loaded,
        // no event trigger fires (17+: login ones included), replica role as a second layer for the rest
        p.setProperty("options", SearchPath.PINNED + (major >= FIRST_WITH_LOGIN_TRIGGERS ? " -c event_triggers=off"
                : "") + " -c session_preload_libraries= -c session_replication_role=replica"
                + " -c default_transaction_read_only=off -c statement_timeout=" + Math.max(1, timeout.toMillis()));
        Connection c = DriverManager.getConnection(TargetServers.url(target, database, p), p);
        c.setAutoCommit(true);
        return c;
    }

    /**
     * The role commands on a restored cluster; why the role must not run checks there, or null. Only role commands
     * and reads of base catalog tables (pg_authid, pg_auth_members) with exact-typed literals: nothing an event
     * trigger, a rule, a policy or a look-alike function could hook.
     */
    private String restrictOnRestored() throws SQLException {
        try (Statement st = maintenance.createStatement()) {
            st.execute("select pg_catalog.pg_advisory_lock(" + LOCK_KEY + "::pg_catalog.int8)");
            // BYPASSRLS: a table's policies (the source's code) are neither run nor in the way of a count
            String attributes = " login nosuperuser nocreatedb nocreaterole noreplication bypassrls inherit "
                    + "password null connection limit 4";
            if (roleAttributes(role) == null) {
                st.execute("create role " + role + attributes);
            } else {
                LOG.warnf("the restored cluster has a role '%s' of its own (from the source): it is made NOSUPERUSER "
                        + "NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS without a password and stripped of its "
                        + "role memberships before checks run as it", role);
                st.execute("alter role " + role + attributes + " valid until 'infinity'");
            }
            managedPassword = true;
            for (String[] m : memberships(role)) {
                st.execute("revoke " + TargetServers.quote(m[0]) + " from " + role
                        + (restoredMajor >= FIRST_WITH_GRANTED_BY && m[1] != null
                        ? " granted by " + TargetServers.quote(m[1]) : ""));
            }
            st.execute("alter role " + role + " reset all");
            st.execute("alter role " + role + " in database " + TargetServers.quote(restoredDatabase) + " reset all");
            st.execute("grant pg_read_all_data to " + role);
            grants.add("pg_read_all_data");
            st.execute("grant connect on database " + TargetServers.quote(restoredDatabase) + " to " + role);
            grants.add("connect");
            if (restoredMajor >= FIRST_WITH_LOGIN_TRIGGERS) {
                st.execute("grant set on parameter event_triggers to " + role);
                grants.add("event_triggers");
            }
        }
        boolean[] attrs = roleAttributes(role);
        if (attrs == null) {
            return "checker role '" + role + "' could not be created on the restored cluster";
        }
        List<String> why = new ArrayList<>();
        String[] names = {"SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION"};
        for (int i = 0; i < names.length; i++) {
            if (attrs[i]) {
                why.add(names[i]);
            }
        }
        List<String> belongs = transitiveMemberships(role);
        if (!belongs.equals(List.of("pg_read_all_data"))) {
            why.add("a member of " + (belongs.isEmpty() ? "no role (pg_read_all_data expected)"
                    : String.join(", ", belongs)));
        }
        return why.isEmpty() ? null : "checker role '" + role + "' is " + String.join(", ", why) + " on the restored "
                + "cluster after the worker restricted it (memberships granted there, e.g. of pg_read_all_data, "
                + "come from the source's catalog); checks on a restored cluster run only as a non-superuser role "
                + "whose only membership is pg_read_all_data";
    }

    /** rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls of {@code name}, or null: no such role. */
    private boolean[] roleAttributes(String name) throws SQLException {
        try (Statement st = maintenance.createStatement();
             ResultSet rs = st.executeQuery("select a.rolsuper, a.rolcreaterole, a.rolcreatedb, a.rolreplication, "
                     + "a.rolbypassrls from pg_catalog.pg_authid a where a.rolname = " + nameLiteral(name))) {
            if (!rs.next()) {
                return null;
            }
            boolean[] out = new boolean[5];
            for (int i = 0; i < 5; i++) {
                out[i] = rs.getBoolean(i + 1);
            }
            return out;
        }
    }

    /** The roles {@code name} is a direct member of, each with its grantor (null when unknown). */
    private List<String[]> memberships(String name) throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (Statement st = maintenance.createStatement();
             ResultSet rs = st.executeQuery("select b.rolname, g.rolname from pg_catalog.pg_auth_members m "
                     + "join pg_catalog.pg_authid b on b.oid = m.roleid join pg_catalog.pg_authid a on a.oid = m.member "
                     + "left join pg_catalog.pg_authid g on g.oid = m.grantor where a.rolname = " + nameLiteral(name))) {
            while (rs.next()) {
                out.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        return out;
    }

    /** Every role {@code name} belongs to, directly or through others (pg_read_all_data may have been granted some). */
    private List<String> transitiveMemberships(String name) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = maintenance.createStatement();
             ResultSet rs = st.executeQuery("with recursive up(oid) as (select m.roleid from pg_catalog.pg_auth_members m "
                     + "join pg_catalog.pg_authid a on a.oid = m.member where a.rolname = " + nameLiteral(name)
                     + " union select m.roleid from pg_catalog.pg_auth_members m join up on m.member = up.oid) "
                     + "select b.rolname from up join pg_catalog.pg_authid b on b.oid = up.oid")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        out.sort(null);
        return out;
    }

    /** A role name (plain, checked against {@link #ROLE_NAME} or a predefined role's) as a literal of type name. */
    private static String nameLiteral(String name) {
        return "'" + name.replace("'", "''") + "'::pg_catalog.name";
    }

    /** Creates the role if needed and gives it a fresh password until {@link #close()}. */
    private String managePassword() throws SQLException {
        try (Statement st = maintenance.createStatement()) {
            st.execute("select pg_catalog.pg_advisory_lock(" + LOCK_KEY + ")");
            if (!TargetServers.roleExists(maintenance, role)) {
                st.execute("create role " + role + " nologin nosuperuser nocreatedb nocreaterole noinherit "
                        + "noreplication nobypassrls");
            }
            managedPassword = true;
            String secret = TargetServers.freshPassword(maintenance, role);
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

    /**
     * Why this database must not see plan-written SQL, or null. On a restored cluster (asked as the checker itself) a
     * function the source created in pg_catalog counts too: its superuser could put one anywhere.
     */
    private String dangerousDatabase(Connection on, boolean restored) throws SQLException {
        try (Statement st = on.createStatement();
             ResultSet rs = st.executeQuery("select 1 from pg_extension where extname = 'dblink'")) {
            if (rs.next()) {
                return "the database has the dblink extension, whose functions anyone may call to reach other "
                        + "servers; use declarative checks (ROW_COUNT_AT_LEAST, TABLE_MATCHES_SOURCE) here";
            }
        }
        try (PreparedStatement ps = on.prepareStatement("select p.oid::regprocedure::text from pg_proc p "
                + "join pg_namespace n on n.oid = p.pronamespace join pg_roles o on o.oid = p.proowner "
                + "where p.prosecdef and " + (restored ? "p.oid >= 16384::pg_catalog.oid" : OUTSIDE_SYSTEM)
                + " and pg_catalog.has_function_privilege(?, p.oid, "
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
                                    Duration timeout, int connectTimeoutSeconds, String options) throws SQLException {
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
        p.setProperty("options", options);
        Connection c = DriverManager.getConnection(TargetServers.url(target, database, p), p);
        c.setAutoCommit(false);
        return c;
    }

    /** Runs one check query; the first column of its first row as text, or why it failed. */
    Result query(String sql) {
        if (refusal != null) {
            return new Result(false, null, "refused: " + refusal);
        }
        if (queryRefusal != null) {
            return new Result(false, null, "refused: " + queryRefusal);
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

    /** Why no check may run (the role could not be prepared), or null. */
    String refusal() {
        return refusal;
    }

    /** The checker's session for declarative checks on a restored cluster (pinned search_path, READ ONLY). */
    Connection declarative() {
        return declarative;
    }

    @Override
    public void close() {
        close(session);
        close(declarative);
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
                if (restoredDatabase != null) {
                    // role and database commands again: nothing in the restored cluster fires on them
                    if (grants.contains("pg_read_all_data")) {
                        st.execute("revoke pg_read_all_data from " + role);
                    }
                    if (grants.contains("connect")) {
                        st.execute("revoke connect on database " + TargetServers.quote(restoredDatabase) + " from "
                                + role);
                    }
                    if (grants.contains("event_triggers")) {
                        st.execute("revoke set on parameter event_triggers from " + role);
                    }
                }
                st.execute("select pg_catalog.pg_advisory_unlock(" + LOCK_KEY + "::pg_catalog.int8)");
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
