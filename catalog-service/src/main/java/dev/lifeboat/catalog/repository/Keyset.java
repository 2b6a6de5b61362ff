package dev.lifeboat.catalog.repository;

import dev.lifeboat.catalog.domain.ListCursor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One page of a list newest first by (time, id), as SQL the indexes of the list serve: the sort key is
 * {@code coalesce(time, '-infinity')} (rows without a time last, as in the index definitions of migration V9), and
 * the page after a cursor is a row comparison with it, which PostgreSQL answers as an index range.
 */
final class Keyset {
    private final String table;
    private final String key;
    private final String idColumn;
    private final List<String> conditions = new ArrayList<>();
    final Map<String, Object> params = new HashMap<>();

    Keyset(String table, String timeColumn, String idColumn) {
        this.table = table;
        this.key = "coalesce(" + timeColumn + ", cast('-infinity' as timestamptz))";
        this.idColumn = idColumn;
    }

    /** {@code condition} with the parameter {@code name}, when the filter is given. */
    Keyset where(String condition, String name, Object value) {
        if (value != null) {
            conditions.add(condition);
            params.put(name, value);
        }
        return this;
    }

    /** The sort key in a condition: {@code keyAtLeast(":from")} and the like. */
    String key() {
        return key;
    }

    /** Rows after the cursor (none: from the newest). */
    Keyset after(ListCursor cursor) {
        if (cursor == null) {
            return this;
        }
        if (cursor.at() == null) {
            conditions.add("(" + key + ", " + idColumn + ") < (cast('-infinity' as timestamptz), :cursorId)");
        } else {
            conditions.add("(" + key + ", " + idColumn + ") < (:cursorAt, :cursorId)");
            params.put("cursorAt", cursor.at());
        }
        params.put("cursorId", cursor.id());
        return this;
    }

    String sql() {
        return "select * from {h-schema}" + table + (conditions.isEmpty() ? "" : " where " + String.join(" and ", conditions))
                + " order by " + key + " desc, " + idColumn + " desc";
    }
}
