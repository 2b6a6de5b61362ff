package dev.lifeboat.catalog.domain;

import dev.lifeboat.kit.rest.ProblemException;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * Where the next page of a list starts: the sort key ({@code at}, null for rows no event has dated yet, which come
 * last) and the id of the last row of the page before. Lists are newest first by (at, id), so a page is the rows
 * strictly after that pair: constant cost at any depth, and rows inserted meanwhile never shift a page.
 *
 * <p>On the wire it is opaque (base64url of {@code <list>.<at in epoch microseconds or ->.<id>.<filters>}) and is
 * checked strictly when it comes back: the list it was issued for, the filters it was issued with (a CRC of them),
 * a number that fits an instant, an id of the form row ids have. Anything else is a 400.
 */
public record ListCursor(Instant at, String id) {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,199}");
    private static final int MAX_LENGTH = 512;

    /** The cursor of the page after the one ending with this row. */
    public static String encode(String list, String filters, Instant at, String id) {
        String key = at == null ? "-" : Long.toString(ChronoUnit.MICROS.between(Instant.EPOCH, at));
        String text = list + "." + key + "." + id + "." + fingerprint(filters);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Null for no cursor (the first page); a 400 naming the parameter for one that is not this list's. */
    public static ListCursor decode(String list, String filters, String value) {
        return decode(list, filters, value, ID);
    }

    /** As {@link #decode(String, String, String)}, the row id held to {@code ids} (a list's own id rule). */
    public static ListCursor decode(String list, String filters, String value, Pattern ids) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String text;
        try {
            if (value.length() > MAX_LENGTH) {
                throw new IllegalArgumentException("too long");
            }
            text = new String(Base64.getUrlDecoder().decode(value.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw invalid();
        }
        String[] parts = text.split("\\.", -1);
        if (parts.length < 4 || !list.equals(parts[0])) {
            throw invalid();
        }
        // the id may contain dots: it is everything between the key and the fingerprint
        String id = String.join(".", java.util.Arrays.copyOfRange(parts, 2, parts.length - 1));
        if (!ID.matcher(id).matches() || !ids.matcher(id).matches()) {
            throw invalid();
        }
        Instant at = null;
        if (!"-".equals(parts[1])) {
            try {
                long micros = Long.parseLong(parts[1]);
                at = Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
            } catch (RuntimeException e) {
                throw invalid();
            }
        }
        if (!fingerprint(filters).equals(parts[parts.length - 1])) {
            throw ProblemException.badRequest("query parameter 'cursor' was issued for other filters: keep the "
                    + "filters of the first page, or start again without a cursor");
        }
        return new ListCursor(at, id);
    }

    private static ProblemException invalid() {
        return ProblemException.badRequest("query parameter 'cursor' is not a cursor of this list: pass the "
                + "nextCursor of a previous page unchanged");
    }

    private static String fingerprint(String filters) {
        CRC32 crc = new CRC32();
        crc.update(filters.getBytes(StandardCharsets.UTF_8));
        return Long.toHexString(crc.getValue());
    }
}
