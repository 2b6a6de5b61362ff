package dev.lifeboat.testsupport;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Row count and content hash of one table: the oracle restore tests compare source and restored databases with.
 *
 * <p>{@code contentHash = md5(coalesce(string_agg(h, '' ORDER BY h), ''))} over {@code h = md5(t::text)} of every
 * row {@code t}, so it does not depend on physical row order. Text forms are made session-independent first
 * (TimeZone UTC, DateStyle ISO, full float precision, IntervalStyle postgres).
 */
public record TableFingerprint(long rowCount, String contentHash) {

    private static final String TABLES = """
            SELECT n.nspname, c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r'
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast%'
            ORDER BY 1, 2""";

    /** Fingerprints of every ordinary table outside pg_catalog/information_schema, keyed {@code schema.table}. */
    public static Map<String, TableFingerprint> of(String jdbcUrl, String user, String password) {
        try (Connection c = DriverManager.getConnection(jdbcUrl, user, password); Statement st = c.createStatement()) {
            st.execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3; "
                    + "SET IntervalStyle = 'postgres'; SET bytea_output = 'hex'");
            List<String[]> tables = new ArrayList<>();
            try (ResultSet rs = st.executeQuery(TABLES)) {
                while (rs.next()) {
                    tables.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
            Map<String, TableFingerprint> result = new TreeMap<>();
            for (String[] t : tables) {
                String rel = Databases.quoteIdent(t[0]) + "." + Databases.quoteIdent(t[1]);
                String sql = "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
                        + "FROM (SELECT md5(t::text) AS h FROM ONLY " + rel + " AS t) AS s";
                try (ResultSet rs = st.executeQuery(sql)) {
                    rs.next();
                    result.put(t[0] + "." + t[1], new TableFingerprint(rs.getLong(1), rs.getString(2)));
                }
            }
            return result;
        } catch (SQLException e) {
            throw new IllegalStateException("fingerprinting " + jdbcUrl + " failed: " + e.getMessage(), e);
        }
    }

    /** Fingerprints of {@code database} on the local stack, read as the superuser. */
    public static Map<String, TableFingerprint> of(String database) {
        LocalStack stack = LocalStack.ensureStarted();
        return of(stack.jdbcUrl(database), stack.pgSuperUser(), stack.pgSuperPassword());
    }
}
