package dev.lifeboat.repository.blob;

import java.io.IOException;

/** An object's stream ended before (or ran past) the size the store reported for it. */
public class ShortReadException extends IOException {
    public ShortReadException(String bucket, String key, long got, long expected) {
        super("short read of " + bucket + "/" + key + ": stream ended after " + got + " of " + expected + " bytes");
    }

    public ShortReadException(String message) {
        super(message);
    }
}
