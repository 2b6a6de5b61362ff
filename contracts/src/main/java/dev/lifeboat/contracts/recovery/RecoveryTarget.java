package dev.lifeboat.contracts.recovery;

import java.time.Instant;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How far a point-in-time restore replays the archived WAL: {@code LATEST} (everything archived), or stops at a
 * {@code TIME} (ISO-8601 instant), an {@code LSN} ({@code 0/1A2B3C4D}), a transaction id ({@code XID}) or a restore
 * point created with pg_create_restore_point ({@code NAME}). {@code value} is null for LATEST.
 */
public record RecoveryTarget(Kind kind, String value) {
    public enum Kind { LATEST, TIME, LSN, XID, NAME }

    private static final Pattern LSN = Pattern.compile("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}");
    private static final Pattern XID = Pattern.compile("[1-9][0-9]{0,19}");
    /** Restore point names travel into postgresql.auto.conf: no quote, backslash or control character. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.:-]{1,63}");

    public static RecoveryTarget latest() {
        return new RecoveryTarget(Kind.LATEST, null);
    }

    public static RecoveryTarget time(Instant at) {
        return new RecoveryTarget(Kind.TIME, at.toString());
    }

    /** Why this target cannot be used, or empty when it can. */
    public Optional<String> problem() {
        if (kind == null) {
            return Optional.of("recovery target kind missing; one of LATEST, TIME, LSN, XID, NAME");
        }
        return switch (kind) {
            case LATEST -> value == null || value.isBlank() ? Optional.empty()
                    : Optional.of("a LATEST recovery target takes no value");
            case TIME -> {
                try {
                    Instant.parse(value == null ? "" : value);
                    yield Optional.empty();
                } catch (RuntimeException e) {
                    yield Optional.of("'" + clip(value) + "' is not an ISO-8601 instant (e.g. 2026-12-03T22:15:00Z)");
                }
            }
            case LSN -> value != null && LSN.matcher(value).matches() ? Optional.empty()
                    : Optional.of("'" + clip(value) + "' is not an LSN (e.g. 0/1A2B3C4D)");
            case XID -> value != null && XID.matcher(value).matches() ? Optional.empty()
                    : Optional.of("'" + clip(value) + "' is not a transaction id (a positive number)");
            case NAME -> value != null && NAME.matcher(value).matches() ? Optional.empty()
                    : Optional.of("'" + clip(value) + "' is not a restore point name (1-63 of A-Z a-z 0-9 _ . : -)");
        };
    }

    /** "latest", or kind and value, for messages. */
    public String describe() {
        return kind == Kind.LATEST ? "latest" : kind.name().toLowerCase() + " " + value;
    }

    private static String clip(String s) {
        return s == null ? "null" : s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
