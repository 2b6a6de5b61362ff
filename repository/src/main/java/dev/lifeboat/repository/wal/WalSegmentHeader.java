package dev.lifeboat.repository.wal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * The system identifier in the first page header of a WAL segment. Every segment starts with PostgreSQL's long page
 * header (XLogLongPageHeaderData): the short header (xlp_magic, xlp_info, xlp_tli, xlp_pageaddr, xlp_rem_len, padded
 * to 24 bytes), then xlp_sysid (8 bytes), xlp_seg_size and xlp_xlog_blcksz (4 each), in the byte order of the server
 * that wrote it (little-endian on every platform PostgreSQL ships builds for, and on this one).
 */
public final class WalSegmentHeader {
    /** Bytes a segment needs for its system identifier to be read. */
    public static final int LENGTH = 40;
    private static final int XLP_LONG_HEADER = 0x0002;

    private WalSegmentHeader() {
    }

    /**
     * The system identifier (unsigned decimal, as IDENTIFY_SYSTEM and pg_controldata print it) of the segment whose
     * first {@code length} bytes are {@code segment}; empty when those bytes hold no long page header of a segment of
     * {@code segmentSize} bytes (too short, zeros, not a segment start).
     */
    public static Optional<String> systemIdentifier(byte[] segment, int length, int segmentSize) {
        if (segment == null || Math.min(length, segment.length) < LENGTH) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.wrap(segment, 0, LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        int info = Short.toUnsignedInt(b.getShort(2));
        long pageAddress = b.getLong(8);
        long sysid = b.getLong(24);
        int segSize = b.getInt(32);
        if ((info & XLP_LONG_HEADER) == 0 || segSize != segmentSize || sysid == 0
                || Long.remainderUnsigned(pageAddress, segmentSize) != 0) {
            return Optional.empty();
        }
        return Optional.of(Long.toUnsignedString(sysid));
    }
}
