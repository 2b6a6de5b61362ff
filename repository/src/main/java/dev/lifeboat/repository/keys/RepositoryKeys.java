package dev.lifeboat.repository.keys;

import java.security.SecureRandom;
import java.util.Arrays;

/**
 * A repository's key set, random at repository init and never changed: the data key (AES-256-GCM of chunks) and
 * the id key (HMAC-SHA256 chunk ids). Rotating the master key re-wraps this set; the chunks stay as they are.
 */
public final class RepositoryKeys {
    public static final int KEY_BYTES = 32;

    private final byte[] dataKey;
    private final byte[] idKey;

    RepositoryKeys(byte[] dataKey, byte[] idKey) {
        if (dataKey.length != KEY_BYTES || idKey.length != KEY_BYTES) {
            throw new IllegalArgumentException("repository keys are " + KEY_BYTES + " bytes each");
        }
        this.dataKey = dataKey.clone();
        this.idKey = idKey.clone();
    }

    public static RepositoryKeys generate() {
        SecureRandom r = new SecureRandom();
        byte[] d = new byte[KEY_BYTES];
        byte[] i = new byte[KEY_BYTES];
        r.nextBytes(d);
        r.nextBytes(i);
        return new RepositoryKeys(d, i);
    }

    public byte[] dataKey() {
        return dataKey.clone();
    }

    public byte[] idKey() {
        return idKey.clone();
    }

    byte[] concatenated() {
        byte[] both = Arrays.copyOf(dataKey, 2 * KEY_BYTES);
        System.arraycopy(idKey, 0, both, KEY_BYTES, KEY_BYTES);
        return both;
    }

    static RepositoryKeys split(byte[] both) {
        return new RepositoryKeys(Arrays.copyOfRange(both, 0, KEY_BYTES), Arrays.copyOfRange(both, KEY_BYTES, 2 * KEY_BYTES));
    }

    @Override
    public String toString() {
        return "RepositoryKeys[redacted]";
    }
}
