package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.domain.BackupQuery;
import dev.lifeboat.catalog.domain.BackupStatus;
import dev.lifeboat.catalog.domain.ListCursor;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.kit.rest.ProblemException;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Turns the query string of GET /backups into a {@link BackupQuery}. Every parameter arrives as text so that
 * a bad value is answered with a 400 that names the parameter (JAX-RS would answer 404 for an enum or number
 * it cannot convert). All problems are reported at once.
 */
public final class BackupQueryParams {
    private final List<String> errors = new ArrayList<>();

    private BackupQueryParams() {
    }

    public static BackupQuery parse(String sourceId, String status, String type, String from, String to, String page,
                             String cursor, String size) {
        BackupQueryParams p = new BackupQueryParams();
        BackupStatus st = p.oneOf("status", status, BackupStatus.class);
        BackupType ty = p.oneOf("type", type, BackupType.class);
        Instant fromTime = p.instant("from", from);
        Instant toTime = p.instant("to", to);
        if (page != null && !page.isBlank()) {
            p.errors.add(PAGE_REMOVED);
        }
        int pageSize = p.integer("size", size, BackupQuery.DEFAULT_SIZE, 1, BackupQuery.MAX_SIZE);
        if (fromTime != null && toTime != null && !fromTime.isBefore(toTime)) {
            p.errors.add("query parameter 'to' must be after 'from'");
        }
        if (!p.errors.isEmpty()) {
            throw ProblemException.badRequest(String.join("; ", p.errors));
        }
        BackupQuery filters = new BackupQuery(blankToNull(sourceId), st, ty, fromTime, toTime, null, pageSize);
        return new BackupQuery(filters.sourceId(), st, ty, fromTime, toTime,
                ListCursor.decode(LIST, filters(filters), cursor), pageSize);
    }

    /** Lists page by cursor: an offset costs the rows it skips, which a deep page of a large catalog cannot afford. */
    static final String PAGE_REMOVED = "query parameter 'page' is not supported: pages follow each other by cursor "
            + "(pass the previous page's nextCursor as 'cursor')";

    static final String LIST = "backups";

    /** The filters a cursor is bound to. */
    static String filters(BackupQuery q) {
        return q.sourceId() + "|" + q.status() + "|" + q.type() + "|" + q.from() + "|" + q.to();
    }

    private <E extends Enum<E>> E oneOf(String name, String value, Class<E> type) {
        return parse(name, value, v -> Enum.valueOf(type, v.trim().toUpperCase(Locale.ROOT)),
                "must be one of " + Arrays.toString(type.getEnumConstants()));
    }

    private Instant instant(String name, String value) {
        return parse(name, value, v -> Instant.parse(v.trim()),
                "must be an ISO-8601 instant such as 2025-01-31T23:00:00Z");
    }

    private int integer(String name, String value, int absent, int min, int max) {
        Integer n = parse(name, value, v -> Integer.valueOf(v.trim()), "must be an integer");
        if (n == null) {
            return absent;
        }
        if (n < min || n > max) {
            errors.add("query parameter '" + name + "' must be between " + min + " and " + max + ", got " + n);
            return absent;
        }
        return n;
    }

    private <T> T parse(String name, String value, Function<String, T> parser, String expected) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return parser.apply(value);
        } catch (IllegalArgumentException | DateTimeParseException e) {
            errors.add("query parameter '" + name + "' " + expected + ", got '" + value + "'");
            return null;
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
