package dev.lifeboat.snapshot.service;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Passes a tar stream through unchanged while reading its headers as they go by, and keeps the content of a few
 * small members it is asked for ({@code backup_label}, {@code global/pg_control}): what a base backup says about
 * itself is learnt from the one pass that uploads it, with nothing spooled.
 * <p>
 * The headers are ustar as pg_basebackup writes them (name, prefix, octal or base-256 size, typeflag); pax and GNU
 * long-name members are passed over like any other member.
 */
final class TarWatch extends FilterInputStream {
    private static final int BLOCK = 512;
    private static final int MAX_KEPT = 64 * 1024;

    private final Set<String> wanted;
    private final Map<String, byte[]> kept = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();

    private final byte[] header = new byte[BLOCK];
    private int headerFill;
    /** Data bytes left of the current member, then its padding up to the next block. */
    private long dataLeft;
    private long paddingLeft;
    private String member;
    private java.io.ByteArrayOutputStream keeping;
    private boolean ended;

    TarWatch(InputStream in, Set<String> wanted) {
        super(in);
        this.wanted = Set.copyOf(wanted);
    }

    /** The content of a wanted member once it has passed in full. */
    Optional<byte[]> member(String name) {
        return Optional.ofNullable(kept.get(name));
    }

    /** Bytes passed so far. */
    long bytes() {
        return bytes.get();
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) {
            observe(b, off, n);
            bytes.addAndGet(n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // every byte must be seen: skipping reads through the watch
        byte[] buf = new byte[(int) Math.min(8192, Math.max(1, n))];
        long done = 0;
        while (done < n) {
            int r = read(buf, 0, (int) Math.min(buf.length, n - done));
            if (r < 0) {
                break;
            }
            done += r;
        }
        return done;
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    private void observe(byte[] b, int off, int len) {
        int i = off;
        int end = off + len;
        while (i < end && !ended) {
            if (dataLeft > 0) {
                int take = (int) Math.min(dataLeft, end - i);
                if (keeping != null) {
                    keeping.write(b, i, take);
                }
                dataLeft -= take;
                i += take;
                if (dataLeft == 0 && keeping != null) {
                    kept.put(member, keeping.toByteArray());
                    keeping = null;
                }
            } else if (paddingLeft > 0) {
                int take = (int) Math.min(paddingLeft, end - i);
                paddingLeft -= take;
                i += take;
            } else {
                int take = Math.min(BLOCK - headerFill, end - i);
                System.arraycopy(b, i, header, headerFill, take);
                headerFill += take;
                i += take;
                if (headerFill == BLOCK) {
                    headerFill = 0;
                    onHeader();
                }
            }
        }
    }

    private void onHeader() {
        boolean zero = true;
        for (byte x : header) {
            if (x != 0) {
                zero = false;
                break;
            }
        }
        if (zero) {
            // an end-of-archive block; a second one may follow, and nothing after counts
            return;
        }
        String name = text(0, 100);
        String prefix = text(345, 155);
        if (!prefix.isEmpty() && "ustar".equals(text(257, 5))) {
            name = prefix + "/" + name;
        }
        if (name.startsWith("./")) {
            name = name.substring(2);
        }
        long size = size();
        char type = (char) header[156];
        member = name;
        dataLeft = size;
        paddingLeft = size % BLOCK == 0 ? 0 : BLOCK - size % BLOCK;
        keeping = (type == '0' || type == 0) && size > 0 && size <= MAX_KEPT && wanted.contains(name)
                ? new java.io.ByteArrayOutputStream((int) size) : null;
        if (size < 0) {
            ended = true;
        }
    }

    private String text(int off, int len) {
        int end = off;
        while (end < off + len && header[end] != 0) {
            end++;
        }
        return new String(header, off, end - off, StandardCharsets.UTF_8).strip();
    }

    /** The size field: octal digits, or base-256 (high bit of the first byte set) for members of 8 GB or more. */
    private long size() {
        if ((header[124] & 0x80) != 0) {
            long v = header[124] & 0x7f;
            for (int k = 125; k < 136; k++) {
                v = (v << 8) | (header[k] & 0xff);
            }
            return v;
        }
        String octal = text(124, 12);
        if (octal.isEmpty()) {
            return 0;
        }
        try {
            return Long.parseLong(octal, 8);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
