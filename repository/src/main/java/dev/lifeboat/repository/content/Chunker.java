package dev.lifeboat.repository.content;

import java.io.IOException;
import java.io.InputStream;
import java.util.SplittableRandom;

/**
 * Content-defined chunking with a gear rolling hash and normalized cut conditions (the FastCDC idea): a cut is
 * made where the top bits of the hash are all zero. Before the average size a stricter condition (more bits) is
 * used, after it a looser one, which pulls chunk sizes towards the average. Because a cut depends only on the
 * bytes just before it, inserting or removing bytes moves the cuts near the edit only: the chunks after it repeat.
 *
 * <p>Streaming: one buffer of twice {@code maxSize} bytes whatever the input size. Not thread-safe; one per stream.
 */
public final class Chunker {

    /** Chunk size bounds in bytes: {@code min <= avg <= max}, avg a power of two. */
    public record Sizes(int min, int avg, int max) {
        public static final Sizes DEFAULT = new Sizes(128 * 1024, 512 * 1024, 2 * 1024 * 1024);
        /**
         * For physical base backups: a quarter as many objects as {@link #DEFAULT}. A cluster is mostly large
         * relation files, whose pages change scattered (so a changed file rarely keeps smaller chunks either), and
         * each object costs a request of its own. Measured on a 1.1 GB cluster (PhysicalBackupBench, warm JVM): 1817
         * objects and 9.9 s with {@link #DEFAULT}, 452 and 8.2-8.5 s with 512 KiB / 2 MiB / 8 MiB. The maximum here is
         * 4 MiB, which bounds a restore's memory (two chunks per chunk in flight).
         */
        public static final Sizes BASE_BACKUP = new Sizes(512 * 1024, 2 * 1024 * 1024, 4 * 1024 * 1024);
        /**
         * For logical dumps: half as many objects as {@link #DEFAULT}. Each chunk costs a request of its own to
         * upload and to fetch, and smaller chunks save nothing when changes are scattered: an update moves the row to
         * another place in the table's COPY output, so 1 % of the rows changed at random touches nearly every chunk of
         * the table whatever its size. Larger chunks do cost on a change confined to one range of keys: the
         * end-to-end chain test's INCREMENTAL after such a change uploaded 1.7 % of the FULL with {@link #DEFAULT} and
         * 6.1 % with the sizes of {@link #BASE_BACKUP}.
         */
        public static final Sizes DUMP = new Sizes(256 * 1024, 1024 * 1024, 4 * 1024 * 1024);

        public Sizes {
            if (min < 64 || min > avg || avg > max || Integer.bitCount(avg) != 1) {
                throw new IllegalArgumentException("need 64 <= min <= avg <= max and avg a power of two: "
                        + min + "/" + avg + "/" + max);
            }
        }
    }

    /** 256 fixed pseudo-random 64-bit values; fixed forever, since they decide where every chunk boundary falls. */
    private static final long[] GEAR = new long[256];

    static {
        SplittableRandom r = new SplittableRandom(0x4c69666562_6f6174L);
        for (int i = 0; i < GEAR.length; i++) {
            GEAR[i] = r.nextLong();
        }
    }

    private final InputStream in;
    private final Sizes sizes;
    private final long maskStrict;
    private final long maskLoose;
    /**
     * Twice the largest chunk: chunks are cut where they lie ({@code [start, end)} holds the bytes read and not cut
     * yet), and what is left is moved to the front only once less than a whole largest chunk fits behind it, so
     * each byte is moved at most about once instead of after every chunk.
     */
    private final byte[] buffer;
    private int start;
    /** The length of the chunk at {@code start} once {@link #peek} measured it, until it is taken; else 0. */
    private int pending;
    private int end;
    private boolean eof;

    public Chunker(InputStream in, Sizes sizes) {
        this.in = in;
        this.sizes = sizes;
        int bits = Integer.numberOfTrailingZeros(sizes.avg());
        this.maskStrict = topBits(Math.min(63, bits + 2));
        this.maskLoose = topBits(Math.max(1, bits - 2));
        this.buffer = new byte[2 * sizes.max()];
    }

    public Chunker(InputStream in) {
        this(in, Sizes.DEFAULT);
    }

    private static long topBits(int n) {
        return -1L << (64 - n);
    }

    /** The next chunk (a fresh array), or null at the end of the stream. */
    public byte[] next() throws IOException {
        int length = peek();
        if (length == 0) {
            return null;
        }
        byte[] chunk = new byte[length];
        take(chunk);
        return chunk;
    }

    /**
     * The length of the next chunk, reading ahead as far as it needs; 0 at the end of the stream. {@link #take} then
     * copies that chunk: for a caller that reuses its arrays, and so must know how large an array the chunk needs. A
     * fresh array of megabytes per chunk costs more than the copy: the heap must be cleared for it and collected after.
     */
    public int peek() throws IOException {
        if (pending == 0) {
            fill();
            pending = end == start ? 0 : cutPoint(buffer, start, end - start);
        }
        return pending;
    }

    /** Copies the chunk {@link #peek} measured to the start of {@code into} and moves past it; returns its length. */
    public int take(byte[] into) throws IOException {
        int length = peek();
        if (into.length < length) {
            throw new IllegalArgumentException("the next chunk has " + length + " bytes, the array " + into.length);
        }
        System.arraycopy(buffer, start, into, 0, length);
        start += length;
        pending = 0;
        return length;
    }

    /** Makes at least one largest chunk available from {@code start}, unless the stream ends first. */
    private void fill() throws IOException {
        if (eof || end - start >= sizes.max()) {
            return;
        }
        if (buffer.length - start < sizes.max()) {
            System.arraycopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
        }
        while (!eof && end < buffer.length) {
            int n = in.read(buffer, end, buffer.length - end);
            if (n < 0) {
                eof = true;
            } else {
                end += n;
            }
        }
    }

    /**
     * Length of the chunk that starts at {@code offset} in {@code data[offset..offset+length)}; {@code length} is at
     * least the largest chunk unless the stream has ended.
     */
    int cutPoint(byte[] data, int offset, int length) {
        if (length <= sizes.min()) {
            return length;
        }
        int normal = Math.min(sizes.avg(), length);
        int limit = Math.min(sizes.max(), length);
        long hash = 0;
        int i = sizes.min();
        for (; i < normal; i++) {
            hash = (hash << 1) + GEAR[data[offset + i] & 0xff];
            if ((hash & maskStrict) == 0) {
                return i + 1;
            }
        }
        for (; i < limit; i++) {
            hash = (hash << 1) + GEAR[data[offset + i] & 0xff];
            if ((hash & maskLoose) == 0) {
                return i + 1;
            }
        }
        return limit;
    }
}
