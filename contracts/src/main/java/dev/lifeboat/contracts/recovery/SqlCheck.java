package dev.lifeboat.contracts.recovery;

/**
 * One check on a restored database. {@code ROW_COUNT_AT_LEAST}: {@code table} has at least {@code minRows} rows.
 * {@code QUERY_EQUALS}: {@code sql}, one read-only query, returns one value whose text equals {@code expected}.
 * {@code TABLE_MATCHES_SOURCE}: {@code table} ({@code schema.name}, or {@link #ALL_TABLES}) has the row count and
 * content hash the backup recorded for it at backup time. {@code database} (optional): the database a check on a
 * restored cluster runs in; a check on a restored database runs in that database.
 */
public record SqlCheck(String name, Kind kind, String table, Long minRows, String sql, String expected,
                       String database) {

    public SqlCheck(String name, Kind kind, String table, Long minRows, String sql, String expected) {
        this(name, kind, table, minRows, sql, expected, null);
    }

    /** {@code table} of a TABLE_MATCHES_SOURCE check that compares every table the backup recorded. */
    public static final String ALL_TABLES = "*";

    public enum Kind { ROW_COUNT_AT_LEAST, QUERY_EQUALS, TABLE_MATCHES_SOURCE }
}
