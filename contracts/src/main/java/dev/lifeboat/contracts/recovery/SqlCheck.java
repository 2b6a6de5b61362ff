package dev.lifeboat.contracts.recovery;

/**
 * One check on a restored database. {@code ROW_COUNT_AT_LEAST}: {@code table} has at least {@code minRows} rows.
 * {@code QUERY_EQUALS}: {@code sql} returns one value whose text equals {@code expected}.
 */
public record SqlCheck(String name, Kind kind, String table, Long minRows, String sql, String expected) {
    public enum Kind { ROW_COUNT_AT_LEAST, QUERY_EQUALS }
}
