package dev.lifeboat.repository.wal;

import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * PostgreSQL's WAL file names: segments {@code TTTTTTTTXXXXXXXXYYYYYYYY} (timeline, then the segment number split
 * into a "log" and a "seg" part), timeline history files {@code TTTTTTTT.history} and backup history files
 * {@code TTTTTTTTXXXXXXXXYYYYYYYY.XXXXXXXX.backup}. Everything the archive accepts as a name is checked here, so a
 * name read from a record or a listing can never address another key.
 */
public final class WalNames {
    public static final int DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;

    private static final Pattern SEGMENT = Pattern.compile("^[0-9A-F]{24}$");
    private static final Pattern HISTORY = Pattern.compile("^[0-9A-F]{8}\\.history$");
    private static final Pattern BACKUP_HISTORY = Pattern.compile("^[0-9A-F]{24}\\.[0-9A-F]{8}\\.backup$");

    private WalNames() {
    }

    /**
     * Why a cluster whose WAL segments are {@code bytes} long is not archived or backed up physically, or empty when
     * it is: restores, retention and the recovery window read segments of the default 16 MiB only.
     */
    public static Optional<String> unsupportedSegmentSize(long bytes) {
        if (bytes == DEFAULT_SEGMENT_SIZE) {
            return Optional.empty();
        }
        String size = bytes > 0 && bytes % (1024 * 1024) == 0 ? bytes / (1024 * 1024) + " MiB" : bytes + " bytes";
        return Optional.of("its WAL segments are " + size + " (initdb --wal-segsize), and Lifeboat archives and "
                + "restores clusters with the default 16 MiB segments only");
    }

    public static boolean isSegment(String name) {
        return name != null && SEGMENT.matcher(name).matches();
    }

    public static boolean isHistory(String name) {
        return name != null && HISTORY.matcher(name).matches();
    }

    public static boolean isBackupHistory(String name) {
        return name != null && BACKUP_HISTORY.matcher(name).matches();
    }

    /** A name the archive stores: a segment, a timeline history file or a backup history file. */
    public static boolean isArchivable(String name) {
        return isSegment(name) || isHistory(name) || isBackupHistory(name);
    }

    public static String requireSegment(String name) {
        if (!isSegment(name)) {
            throw new IllegalArgumentException("not a WAL segment name (24 upper-case hex digits): " + printable(name));
        }
        return name;
    }

    public static int timeline(String segment) {
        return Integer.parseUnsignedInt(requireSegment(segment).substring(0, 8), 16);
    }

    /** The segment's number counted from the start of WAL, whatever its timeline. */
    public static long segmentNumber(String segment, int segmentSize) {
        requireSegment(segment);
        long log = Long.parseLong(segment.substring(8, 16), 16);
        long seg = Long.parseLong(segment.substring(16, 24), 16);
        return log * segmentsPerLog(segmentSize) + seg;
    }

    /**
     * Where {@code segment} sits in the WAL, whatever its timeline, as a number that orders segments the same way
     * for every segment size: the "log" part above the "seg" part, which is always below the segments per log. What
     * retention compares when it does not know the size the cluster was built with.
     */
    public static long position(String segment) {
        requireSegment(segment);
        return (Long.parseLong(segment.substring(8, 16), 16) << 32) | Long.parseLong(segment.substring(16, 24), 16);
    }

    public static String segmentName(int timeline, long segmentNumber, int segmentSize) {
        long perLog = segmentsPerLog(segmentSize);
        return String.format(Locale.ROOT, "%08X%08X%08X", timeline, segmentNumber / perLog, segmentNumber % perLog);
    }

    /** The segment holding {@code lsn} on {@code timeline}. */
    public static String segmentOf(int timeline, long lsn, int segmentSize) {
        return segmentName(timeline, Long.divideUnsigned(lsn, segmentSize), segmentSize);
    }

    /** The LSN at which {@code segment} starts. */
    public static long startLsn(String segment, int segmentSize) {
        return segmentNumber(segment, segmentSize) * segmentSize;
    }

    /** {@code 16/B374D848} as PostgreSQL writes an LSN; {@link IllegalArgumentException} for anything else. */
    public static long parseLsn(String text) {
        int slash = text == null ? -1 : text.indexOf('/');
        if (slash < 1 || slash > 8 || text.length() - slash - 1 < 1 || text.length() - slash - 1 > 8) {
            throw new IllegalArgumentException("not an LSN (hex/hex): " + printable(text));
        }
        try {
            return (Long.parseLong(text.substring(0, slash), 16) << 32) | Long.parseLong(text.substring(slash + 1), 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an LSN (hex/hex): " + printable(text), e);
        }
    }

    public static String formatLsn(long lsn) {
        return String.format(Locale.ROOT, "%X/%X", lsn >>> 32, lsn & 0xFFFFFFFFL);
    }

    private static long segmentsPerLog(int segmentSize) {
        if (segmentSize <= 0 || Integer.bitCount(segmentSize) != 1) {
            throw new IllegalArgumentException("WAL segment size must be a power of two: " + segmentSize);
        }
        return 0x100000000L / segmentSize;
    }

    private static String printable(String s) {
        if (s == null) {
            return "null";
        }
        String cut = s.length() > 64 ? s.substring(0, 64) + "..." : s;
        return "'" + cut.replaceAll("[^\\x20-\\x7e]", "?") + "'";
    }

    static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
