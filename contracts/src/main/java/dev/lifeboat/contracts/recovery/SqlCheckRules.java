package dev.lifeboat.contracts.recovery;

import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a check may say, decided the same way where a plan is accepted and where the check runs. A QUERY_EQUALS
 * {@code sql} is one query: no ';' except one at its very end (so never a statement list, whatever the quoting),
 * starting with SELECT, WITH, VALUES or TABLE. The runner additionally wraps it as a subquery, where COPY, DO,
 * SET, data-modifying WITH and every other statement are syntax errors, and runs it read-only as a restricted role.
 */
public final class SqlCheckRules {
    /** schema.table with plain identifiers, as pg_dump and the catalog name them. */
    public static final Pattern TABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]{0,62}\\.[A-Za-z_][A-Za-z0-9_$]{0,62}");
    public static final int MAX_SQL_CHARS = 10_000;
    private static final Set<String> QUERY_STARTS = Set.of("select", "with", "values", "table");
    private static final Pattern LEADING = Pattern.compile("\\A(?:\\s+|--[^\\n]*(?:\\n|\\z)|/\\*.*?\\*/|\\()*",
            Pattern.DOTALL);
    private static final Pattern WORD = Pattern.compile("\\A[A-Za-z_]+");

    private SqlCheckRules() {
    }

    /** Why {@code sql} cannot be a check's query, or empty when it can. */
    public static Optional<String> queryProblem(String sql) {
        if (sql == null || sql.isBlank()) {
            return Optional.of("sql is empty");
        }
        if (sql.length() > MAX_SQL_CHARS) {
            return Optional.of("sql is longer than " + MAX_SQL_CHARS + " characters");
        }
        if (sql.indexOf('\0') >= 0) {
            return Optional.of("sql contains a NUL character");
        }
        String body = withoutFinalSemicolon(sql);
        if (body.indexOf(';') >= 0) {
            return Optional.of("sql must be one statement: a ';' may only end it (statement lists such as "
                    + "'commit; insert ...' are refused; write chr(59) for a literal semicolon)");
        }
        Matcher lead = LEADING.matcher(body);
        String rest = lead.lookingAt() ? body.substring(lead.end()) : body;
        Matcher word = WORD.matcher(rest);
        String first = word.lookingAt() ? word.group().toLowerCase(Locale.ROOT) : "";
        if (!QUERY_STARTS.contains(first)) {
            return Optional.of("sql must be a read-only query starting with SELECT, WITH, VALUES or TABLE, not '"
                    + (first.isEmpty() ? rest.strip().substring(0, Math.min(20, rest.strip().length())) : first)
                    + "' (COPY, DO, INSERT, UPDATE, DELETE, SET and DDL are not checks)");
        }
        return Optional.empty();
    }

    /** {@code sql} without one final ';' (and the blanks around it). */
    public static String withoutFinalSemicolon(String sql) {
        String s = sql.strip();
        return s.endsWith(";") ? s.substring(0, s.length() - 1).strip() : s;
    }

    /** Why {@code table} cannot be the table of a TABLE_MATCHES_SOURCE check, or empty. */
    public static Optional<String> tableProblem(String table) {
        if (table == null || table.isBlank()) {
            return Optional.of("table is required: 'schema.table', or '" + SqlCheck.ALL_TABLES
                    + "' for every table the backup recorded");
        }
        if (SqlCheck.ALL_TABLES.equals(table) || TABLE.matcher(table).matches()) {
            return Optional.empty();
        }
        return Optional.of("table '" + table + "' is not 'schema.table' of plain identifiers (letters, digits, '_', "
                + "'$', at most 63 each) nor '" + SqlCheck.ALL_TABLES + "'");
    }
}
