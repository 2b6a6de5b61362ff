package dev.lifeboat.repository.content;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Turns a chunk's plaintext into what is stored, and back.
 *
 * <pre>
 * id     = hex(HMAC-SHA256(idKey, plaintext))           ids reveal nothing without the key
 * stored = version(1) || nonce(12) || AES-256-GCM(dataKey, nonce, aad = id, zstd(plaintext)) with its 16-byte tag
 * </pre>
 *
 * A fresh random nonce per chunk; the id as associated data binds the ciphertext to its name, so a chunk stored
 * under another chunk's key fails authentication. Decoding checks the tag, then recomputes the HMAC of the
 * plaintext. Thread-safe.
 */
public final class ContentCodec {
    public static final byte VERSION = 1;
    public static final int NONCE_BYTES = 12;
    public static final int TAG_BITS = 128;
    /** Upper bound accepted for a decompressed chunk, so a damaged header cannot make us allocate gigabytes. */
    public static final int MAX_PLAINTEXT = 64 * 1024 * 1024;
    /**
     * Upper bound of a stored chunk: version, nonce and tag around zstd's worst case for {@link #MAX_PLAINTEXT}. A
     * manifest naming a larger stored size names no chunk this codec wrote.
     */
    public static final int MAX_STORED = 1 + NONCE_BYTES + TAG_BITS / 8 + scratchLength(MAX_PLAINTEXT);
    /**
     * zstd's fastest level: compressing is the largest part of a backup's CPU. The logical benchmark's dump (174 MB)
     * cut in 512 KiB pieces took 0.36 s of CPU at level 1 and 0.83 s at level 3, for 27.7 MB and 31.9 MB: level 3
     * bought nothing on dumps. Decoding reads any level, so chunks written at another stay readable.
     */
    private static final int ZSTD_LEVEL = 1;

    /** Rounds of {@link #warmUp}: enough calls for the JIT to compile the AES-GCM and SHA-256 paths. */
    public static final int WARM_UP_ROUNDS = 6000;
    private static final AtomicBoolean WARM_UP_STARTED = new AtomicBoolean();

    private final SecretKeySpec dataKey;
    private final SecretKeySpec idKey;
    private final SecureRandom random = new SecureRandom();

    public ContentCodec(byte[] dataKey, byte[] idKey) {
        if (dataKey.length != 32 || idKey.length != 32) {
            throw new IllegalArgumentException("data and id keys must be 32 bytes");
        }
        this.dataKey = new SecretKeySpec(dataKey, "AES");
        this.idKey = new SecretKeySpec(idKey, "HmacSHA256");
    }

    public String id(byte[] plaintext) {
        return id(plaintext, plaintext.length);
    }

    /** {@link #id(byte[])} of the first {@code length} bytes of {@code plaintext}. */
    public String id(byte[] plaintext, int length) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(idKey);
            mac.update(plaintext, 0, length);
            return HexFormat.of().formatHex(mac.doFinal());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 unavailable", e);
        }
    }

    /** Compresses and encrypts; {@code id} must be {@link #id(byte[])} of the plaintext. */
    public EncodedChunk encode(String id, byte[] plaintext) {
        return encode(id, plaintext, plaintext.length, new byte[scratchLength(plaintext.length)]);
    }

    /** How long the {@code scratch} of {@link #encode(String, byte[], int, byte[])} must be for a chunk of {@code length}. */
    public static int scratchLength(int length) {
        return Math.toIntExact(Zstd.compressBound(length));
    }

    /**
     * As {@link #encode(String, byte[])}, of the first {@code length} bytes of {@code plaintext}, compressed into
     * {@code scratch} (at least {@link #scratchLength} long) instead of a new array: for a writer that reuses its
     * arrays chunk after chunk, so that the stored bytes are the only array a chunk allocates.
     */
    public EncodedChunk encode(String id, byte[] plaintext, int length, byte[] scratch) {
        // throws ZstdException on a zstd error, as Zstd.compress does
        int compressed = (int) Zstd.compressByteArray(scratch, 0, scratch.length, plaintext, 0, length, ZSTD_LEVEL);
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, dataKey, new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(id.getBytes(StandardCharsets.US_ASCII));
            byte[] out = new byte[1 + NONCE_BYTES + c.getOutputSize(compressed)];
            out[0] = VERSION;
            System.arraycopy(nonce, 0, out, 1, NONCE_BYTES);
            int n = c.doFinal(scratch, 0, compressed, out, 1 + NONCE_BYTES);
            if (n != out.length - 1 - NONCE_BYTES) {
                throw new IllegalStateException("unexpected GCM output length");
            }
            return new EncodedChunk(id, length, out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
    }

    public EncodedChunk encode(byte[] plaintext) {
        return encode(id(plaintext), plaintext);
    }

    /**
     * Encrypts a small repository record (not a chunk) under the data key, bound to {@code context} as associated
     * data: the sealed bytes open only under the same context, so a record copied to another backup fails. Format:
     * version(1) || nonce(12) || AES-256-GCM(dataKey, nonce, aad = "record:" + context, plaintext) with its tag.
     */
    public byte[] seal(String context, byte[] plaintext) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, dataKey, new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(recordAad(context));
            byte[] sealed = c.doFinal(plaintext);
            byte[] out = new byte[1 + NONCE_BYTES + sealed.length];
            out[0] = VERSION;
            System.arraycopy(nonce, 0, out, 1, NONCE_BYTES);
            System.arraycopy(sealed, 0, out, 1 + NONCE_BYTES, sealed.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
    }

    /** The plaintext of {@link #seal}; {@link SecurityException} naming {@code context} if it does not open. */
    public byte[] open(String context, byte[] sealed) {
        if (sealed.length < 1 + NONCE_BYTES + TAG_BITS / 8 || sealed[0] != VERSION) {
            throw new SecurityException("sealed record " + context + " is truncated or of an unknown version");
        }
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, dataKey, new GCMParameterSpec(TAG_BITS, sealed, 1, NONCE_BYTES));
            c.updateAAD(recordAad(context));
            return c.doFinal(sealed, 1 + NONCE_BYTES, sealed.length - 1 - NONCE_BYTES);
        } catch (AEADBadTagException e) {
            throw new SecurityException("sealed record " + context + ": authentication tag mismatch (altered, "
                    + "moved from another backup, or not sealed with this repository's key)", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
    }

    // chunk ids are 64 hex digits: a record's associated data can never equal a chunk's
    private static byte[] recordAad(String context) {
        return ("record:" + context).getBytes(StandardCharsets.UTF_8);
    }

    /** Authenticates, decrypts, decompresses and checks the plaintext's keyed hash against {@code id}. */
    public byte[] decode(String id, byte[] stored) {
        if (stored.length < 1 + NONCE_BYTES + TAG_BITS / 8) {
            throw new ChunkIntegrityException(id, "stored chunk is truncated (" + stored.length + " bytes)");
        }
        if (stored[0] != VERSION) {
            throw new ChunkIntegrityException(id, "unknown chunk format version " + stored[0]);
        }
        byte[] compressed;
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, dataKey, new GCMParameterSpec(TAG_BITS, stored, 1, NONCE_BYTES));
            c.updateAAD(id.getBytes(StandardCharsets.US_ASCII));
            compressed = c.doFinal(stored, 1 + NONCE_BYTES, stored.length - 1 - NONCE_BYTES);
        } catch (AEADBadTagException e) {
            throw new ChunkIntegrityException(id, "authentication tag mismatch (chunk damaged, or not written "
                    + "under this id with this repository's key)", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
        byte[] plain;
        try {
            long size = Zstd.getFrameContentSize(compressed);
            if (size < 0 || size > MAX_PLAINTEXT) {
                throw new ChunkIntegrityException(id, "bad compressed frame (content size " + size + ")");
            }
            plain = Zstd.decompress(compressed, (int) size);
        } catch (ZstdException | IllegalArgumentException e) {
            throw new ChunkIntegrityException(id, "cannot decompress: " + e.getMessage(), e);
        }
        String actual = id(plain);
        if (!MessageDigest.isEqual(actual.getBytes(StandardCharsets.US_ASCII), id.getBytes(StandardCharsets.US_ASCII))) {
            throw new ChunkIntegrityException(id, "plaintext hash mismatch (got " + actual + ")");
        }
        return plain;
    }

    /**
     * Runs {@link #encode} and {@link #decode} on throwaway chunks under a throwaway key until the JIT has compiled
     * them. The JDK's AES-GCM runs at its vectorised speed only once the code calling it is compiled, and a worker
     * encodes a chunk of up to a few MiB per call: left to warm up on real chunks, a fresh JVM ran AES-GCM at about
     * 20 MB/s through its first several hundred MiB, against well over 1 GB/s once warm (one run, 1 MiB chunks). The
     * plaintexts are random, so that zstd leaves them as large as they are: AES-GCM takes its bulk path only from 512
     * bytes, and its widest one from 64 KiB, which every 16th round reaches (a compressible 1 KiB, as this warm-up
     * once used, left both cold: it reached AES-GCM as a few dozen bytes); every 64th round is larger than the 1 MiB
     * AES-GCM splits its work at, as a real chunk can be: without it the first real chunks threw the compiled code
     * away (an uncommon trap in GCTR.update) and 1 MiB chunks encoded at a third of the speed for a while (50 of them
     * in 195-295 ms after the warm-up, 71-77 ms with it; one JVM, this machine). Nothing is stored; {@code rounds}
     * calls take a few seconds of one core.
     */
    public static void warmUp(int rounds) {
        SecureRandom random = new SecureRandom();
        byte[] dataKey = new byte[32];
        byte[] idKey = new byte[32];
        random.nextBytes(dataKey);
        random.nextBytes(idKey);
        ContentCodec codec = new ContentCodec(dataKey, idKey);
        java.util.SplittableRandom noise = new java.util.SplittableRandom(random.nextLong());
        byte[] small = new byte[1024];
        byte[] large = new byte[80 * 1024];
        byte[] largest = new byte[1536 * 1024];
        noise.nextBytes(small);
        noise.nextBytes(large);
        noise.nextBytes(largest);
        for (int i = 0; i < rounds; i++) {
            byte[] plaintext = i % 64 == 63 ? largest : i % 16 == 15 ? large : small;
            plaintext[i % plaintext.length] = (byte) i;
            EncodedChunk chunk = codec.encode(plaintext);
            codec.decode(chunk.id(), chunk.stored());
        }
    }

    /**
     * {@link #warmUp} of {@code rounds} once per JVM, on a daemon thread of low priority, when this JVM has the optimising
     * compiler the warm-up is for; later calls do nothing. Returns false when nothing was started: a JVM limited to its
     * first compiler ({@code -XX:TieredStopAtLevel} below 4, or {@code -Xint}) runs AES-GCM and SHA-256 as plain Java
     * whatever it has seen, so there the warm-up would only burn CPU (measured: 6000 rounds took 10.4 s of one core at
     * {@code TieredStopAtLevel=1}, 1.9 s with both compilers).
     */
    public static boolean warmUpInBackground(int rounds) {
        if (rounds <= 0 || !optimisingCompilerAvailable() || !WARM_UP_STARTED.compareAndSet(false, true)) {
            return false;
        }
        Thread thread = new Thread(() -> warmUp(rounds), "content-codec-warm-up");
        thread.setDaemon(true);
        thread.setPriority(Thread.MIN_PRIORITY);
        thread.start();
        return true;
    }

    /** Why a warm-up (this codec's, a worker's data path warm-up) is skipped when {@link #optimisingCompilerAvailable} is false. */
    public static final String NO_OPTIMISING_COMPILER = "this JVM runs without its optimising compiler "
            + "(-XX:TieredStopAtLevel below 4 or -Xint), which the warm-up is for";

    /** Whether this JVM compiles hot code with its optimising compiler (HotSpot's C2), whose intrinsics the warm-up is for. */
    public static boolean optimisingCompilerAvailable() {
        String info = System.getProperty("java.vm.info", "");
        if (info.contains("interpreted mode")) {
            return false;
        }
        try {
            var hotspot = java.lang.management.ManagementFactory.getPlatformMXBean(
                    com.sun.management.HotSpotDiagnosticMXBean.class);
            if (hotspot == null) {
                return true;
            }
            boolean tiered = Boolean.parseBoolean(hotspot.getVMOption("TieredCompilation").getValue());
            return !tiered || Integer.parseInt(hotspot.getVMOption("TieredStopAtLevel").getValue()) >= 4;
        } catch (RuntimeException | LinkageError e) {
            // not HotSpot, an option it does not know, or a runtime without jdk.management: warm up as before
            return true;
        }
    }
}
