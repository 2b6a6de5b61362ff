package dev.lifeboat.repository.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.function.Consumer;

import net.jpountz.xxhash.StreamingXXHash64;
import net.jpountz.xxhash.XXHashFactory;

/**
 * Row count and content hash of a table's data in PostgreSQL's COPY text, fed in pieces of any size: one line per
 * row, ended by a newline (COPY escapes newlines inside values); a {@code \.} line ends the data and nothing after it
 * is a row. The hash is the sum over rows of a 64-bit hash of the row's line (without its newline) as a signed long,
 * summed without overflow and printed in decimal: independent of row order. The line hash is XXH64 (seed 0) for
 * {@link #METHOD}, the first 64 bits of its MD5 for {@link #MD5_METHOD} (what earlier backups recorded; XXH64 costs a
 * fifth of the CPU per row). Either only has to tell content apart, not resist a forger: the fingerprints are sealed
 * under the repository's key. Memory stays flat: a line is hashed as its bytes come.
 */
public final class CopyRows {
    /** The {@link TableFingerprints#method()} of hashes computed this way (XXH64 of each line). */
    public static final String METHOD = "copy-xxh64-sum64-v3";
    /** The same with the first 64 bits of each line's MD5, as backups recorded before {@link #METHOD}. */
    public static final String MD5_METHOD = "copy-md5-sum64-v2";
    private static final XXHashFactory XXHASH = XXHashFactory.safeInstance();
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;
    /** XXH64's primes. */
    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;
    private static final long P5 = 0x27D4EB2F165667C5L;

    private final LineHash line;
    private long rows;
    /** The sum, 128 bits wide: a signed long per row cannot carry it past either end. */
    private long low;
    private long high;
    /** Bytes of the current line so far, and its first two (to recognise {@code \.}). */
    private long lineLength;
    private byte first;
    private byte second;
    private boolean ended;

    /** Rows hashed the current way ({@link #METHOD}). */
    public CopyRows() {
        this(new Xxh64());
    }

    private CopyRows(LineHash line) {
        this.line = line;
    }

    /** Rows counted only, not hashed: {@link #hash()} is not to be asked. */
    public static CopyRows counting() {
        return new CopyRows(new NoHash());
    }

    /** Rows hashed as {@code method} says: {@link #METHOD} or {@link #MD5_METHOD}. */
    public static CopyRows of(String method) {
        return switch (method) {
            case METHOD -> new CopyRows();
            case MD5_METHOD -> new CopyRows(new Md5());
            default -> throw new IllegalArgumentException("no such row hash method: " + method);
        };
    }

    /** Whether {@link #of} computes {@code method}. */
    public static boolean computes(String method) {
        return METHOD.equals(method) || MD5_METHOD.equals(method);
    }

    public void update(byte[] b, int off, int len) {
        int end = off + len;
        int start = off;
        while (!ended) {
            int newline = newline(b, start, end);
            if (newline < 0) {
                break;
            }
            if (lineLength == 0) {
                // the whole line is here (most are): hashed in one call, no streaming state
                int n = newline - start;
                lineLength = n;
                first = n > 0 ? b[start] : 0;
                second = n > 1 ? b[start + 1] : 0;
                lineDone(line.whole(b, start, n));
            } else {
                take(b, start, newline - start);
                lineDone(line.finish());
            }
            start = newline + 1;
        }
        if (!ended && start < end) {
            take(b, start, end - start);
        }
    }

    /**
     * Index of the first newline in {@code b[from..to)}, or -1: eight bytes at a time (a word's bytes equal to
     * {@code '\n'} become zero bytes, and the lowest zero byte of a word is found exactly by the usual bit trick),
     * then the last few one by one. Scanning byte by byte took as much CPU as hashing the rows.
     */
    static int newline(byte[] b, int from, int to) {
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long w = (long) LONG_LE.get(b, i) ^ NEWLINES;
            long zero = (w - 0x0101010101010101L) & ~w & 0x8080808080808080L;
            if (zero != 0) {
                return i + (Long.numberOfTrailingZeros(zero) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    /**
     * XXH64 with seed 0 of {@code b[off..off+len)}, the same value as lz4-java's {@code XXHash64} gives: the
     * algorithm as published, reading its words through a little-endian view of the array (one load each, where
     * lz4-java's safe version assembles every word from eight bytes and its fast one needs {@code sun.misc.Unsafe}).
     */
    static long xxh64(byte[] b, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        int p = off;
        int end = off + len;
        long h;
        if (len >= 32) {
            long v1 = P1 + P2;
            long v2 = P2;
            long v3 = 0;
            long v4 = -P1;
            int limit = end - 32;
            do {
                v1 = round(v1, (long) LONG_LE.get(b, p));
                v2 = round(v2, (long) LONG_LE.get(b, p + 8));
                v3 = round(v3, (long) LONG_LE.get(b, p + 16));
                v4 = round(v4, (long) LONG_LE.get(b, p + 24));
                p += 32;
            } while (p <= limit);
            h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
            h = merge(h, v1);
            h = merge(h, v2);
            h = merge(h, v3);
            h = merge(h, v4);
        } else {
            h = P5;
        }
        h += len;
        for (; p + 8 <= end; p += 8) {
            h ^= round(0, (long) LONG_LE.get(b, p));
            h = Long.rotateLeft(h, 27) * P1 + P4;
        }
        if (p + 4 <= end) {
            h ^= ((int) INT_LE.get(b, p) & 0xFFFFFFFFL) * P1;
            h = Long.rotateLeft(h, 23) * P2 + P3;
            p += 4;
        }
        for (; p < end; p++) {
            h ^= (b[p] & 0xFF) * P5;
            h = Long.rotateLeft(h, 11) * P1;
        }
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        return h ^ (h >>> 32);
    }

    private static long round(long acc, long input) {
        return Long.rotateLeft(acc + input * P2, 31) * P1;
    }

    private static long merge(long acc, long v) {
        return (acc ^ round(0, v)) * P1 + P4;
    }

    private void take(byte[] b, int off, int len) {
        if (len == 0) {
            return;
        }
        if (lineLength == 0) {
            first = b[off];
            second = len > 1 ? b[off + 1] : 0;
        } else if (lineLength == 1) {
            second = b[off];
        }
        lineLength += len;
        line.update(b, off, len);
    }

    private void lineDone(long v) {
        if (lineLength == 2 && first == '\\' && second == '.') {
            ended = true;
            return;
        }
        long sum = low + v;
        // unsigned carry out of the low half, plus the sign of v extended into the high half
        high += (Long.compareUnsigned(sum, low) < 0 ? 1 : 0) + (v < 0 ? -1 : 0);
        low = sum;
        rows++;
        lineLength = 0;
    }

    /** The data is complete: a last line without its newline still counts as a row. */
    public void end() {
        if (!ended && lineLength > 0) {
            lineDone(line.finish());
        }
        ended = true;
    }

    public long count() {
        return rows;
    }

    /** The sum in decimal. */
    public String hash() {
        if (line instanceof NoHash) {
            throw new IllegalStateException("these rows were counted, not hashed");
        }
        return BigInteger.valueOf(high).shiftLeft(64).add(new BigInteger(Long.toUnsignedString(low))).toString();
    }

    /** An output stream feeding these rows (what a COPY TO STDOUT client writes into). */
    public OutputStream sink() {
        return new OutputStream() {
            @Override
            public void write(int b) {
                update(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                update(b, off, len);
            }
        };
    }

    /**
     * {@code in} as read, its bytes counted and hashed as rows on the way; {@code done} receives the rows once
     * {@code in} has been read to its end (not when it is closed before: then the rows are unknown).
     */
    public static InputStream hashing(InputStream in, Consumer<CopyRows> done) {
        CopyRows rows = new CopyRows();
        return new InputStream() {
            private boolean finished;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = in.read(b, off, len);
                if (n > 0) {
                    rows.update(b, off, n);
                } else if (n < 0 && !finished) {
                    finished = true;
                    rows.end();
                    done.accept(rows);
                }
                return n;
            }

            @Override
            public int available() throws IOException {
                return in.available();
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    /** A 64-bit hash of one line, fed in pieces; {@link #finish} returns it and starts the next line. */
    private interface LineHash {
        void update(byte[] b, int off, int len);

        long finish();

        /** The hash of a line given whole, as {@link #update} of its bytes and then {@link #finish} give. */
        default long whole(byte[] b, int off, int len) {
            update(b, off, len);
            return finish();
        }
    }

    private static final class NoHash implements LineHash {
        @Override
        public void update(byte[] b, int off, int len) {
        }

        @Override
        public long finish() {
            return 0;
        }
    }

    private static final class Xxh64 implements LineHash {
        /** For the few lines split between two reads; a line read whole is hashed by {@link #xxh64}. */
        private final StreamingXXHash64 hash = XXHASH.newStreamingHash64(0);

        @Override
        public long whole(byte[] b, int off, int len) {
            return xxh64(b, off, len);
        }

        @Override
        public void update(byte[] b, int off, int len) {
            hash.update(b, off, len);
        }

        @Override
        public long finish() {
            long v = hash.getValue();
            hash.reset();
            return v;
        }
    }

    private static final class Md5 implements LineHash {
        private final MessageDigest md5;
        private final byte[] digest = new byte[16];

        Md5() {
            try {
                md5 = MessageDigest.getInstance("MD5");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("this JVM has no MD5", e);
            }
        }

        @Override
        public void update(byte[] b, int off, int len) {
            md5.update(b, off, len);
        }

        @Override
        public long finish() {
            try {
                md5.digest(digest, 0, digest.length);
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (digest[i] & 0xff);
            }
            return v;
        }
    }
}
