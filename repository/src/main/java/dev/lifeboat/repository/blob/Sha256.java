package dev.lifeboat.repository.blob;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers: every stored object is identified by its size and this digest. */
public final class Sha256 {
    private Sha256() {
    }

    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JVM without SHA-256", e);
        }
    }

    public static String hex(MessageDigest digest) {
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Reads the stream to its end; returns size and digest. The stream is closed. */
    public static Digest of(InputStream in) throws IOException {
        MessageDigest md = newDigest();
        long size = 0;
        byte[] buf = new byte[64 * 1024];
        try (in) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
                size += n;
            }
        }
        return new Digest(size, hex(md));
    }

    /** The hex digest of {@code bytes}. */
    public static String of(byte[] bytes) {
        MessageDigest md = newDigest();
        md.update(bytes);
        return hex(md);
    }

    public record Digest(long sizeBytes, String sha256) {
    }
}
