package dev.lifeboat.repository.keys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;

/**
 * The operator's 32-byte key that wraps a repository's key set. It never leaves the process and is never stored in
 * the repository; the repository only records its {@link #id()} (first 8 hex digits of its SHA-256), which names the
 * key in error messages without revealing it.
 */
public final class MasterKey {
    public static final int BYTES = 32;

    private final byte[] key;
    private final String id;

    private MasterKey(byte[] key) {
        if (key.length != BYTES) {
            throw new IllegalArgumentException("a master key is " + BYTES + " bytes, got " + key.length);
        }
        this.key = key.clone();
        try {
            this.id = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key)).substring(0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static MasterKey of(byte[] key) {
        return new MasterKey(key);
    }

    public static MasterKey generate() {
        byte[] k = new byte[BYTES];
        new SecureRandom().nextBytes(k);
        return new MasterKey(k);
    }

    /** From base64 text of 32 bytes (surrounding whitespace ignored). */
    public static MasterKey fromBase64(String text) {
        byte[] k;
        try {
            k = Base64.getDecoder().decode(text.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("master key is not valid base64", e);
        }
        if (k.length != BYTES) {
            throw new IllegalArgumentException("master key must be base64 of " + BYTES + " bytes, decodes to " + k.length);
        }
        return new MasterKey(k);
    }

    /** From the environment variable {@code name}, holding base64 of 32 bytes. */
    public static MasterKey fromEnv(String name) {
        return fromEnv(name, System.getenv());
    }

    static MasterKey fromEnv(String name, Map<String, String> env) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("environment variable " + name + " with the master key is not set");
        }
        try {
            return fromBase64(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("environment variable " + name + ": " + e.getMessage(), e);
        }
    }

    /** From a key file: either exactly 32 raw bytes, or base64 text of 32 bytes. */
    public static MasterKey fromFile(Path path) {
        byte[] content;
        try {
            content = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read master key file " + path, e);
        }
        if (content.length == BYTES) {
            return new MasterKey(content);
        }
        try {
            return fromBase64(new String(content, StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("master key file " + path + ": " + e.getMessage(), e);
        }
    }

    /** First 8 hex digits of SHA-256 of the key. */
    public String id() {
        return id;
    }

    byte[] bytes() {
        return key.clone();
    }

    public String toBase64() {
        return Base64.getEncoder().encodeToString(key);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MasterKey m && MessageDigest.isEqual(key, m.key);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(key);
    }

    @Override
    public String toString() {
        return "MasterKey[id=" + id + "]";
    }
}
