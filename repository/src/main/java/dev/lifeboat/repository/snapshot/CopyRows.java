package dev.lifeboat.repository.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.function.Consumer;

import net.jpountz.xxhash.StreamingXXHash64;
import net.jpountz.xxhash.XXHash64;
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
        for (int i = off; i < end && !ended; i++) {
            if (b[i] == '\n') {
                if (lineLength == 0) {
                    // the whole line is here (most are): hashed in one call, no streaming state
                    int n = i - start;
                    lineLength = n;
                    first = n > 0 ? b[start] : 0;
                    second = n > 1 ? b[start + 1] : 0;
                    lineDone(line.whole(b, start, n));
                } else {
                    take(b, start, i - start);
                    lineDone(line.finish());
                }
                start = i + 1;
            }
        }
        if (!ended && start < end) {
            take(b, start, end - start);
        }
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
        private final StreamingXXHash64 hash = XXHASH.newStreamingHash64(0);
        private final XXHash64 oneShot = XXHASH.hash64();

        @Override
        public long whole(byte[] b, int off, int len) {
            return oneShot.hash(b, off, len, 0);
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
