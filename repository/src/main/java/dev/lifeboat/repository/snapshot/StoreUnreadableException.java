package dev.lifeboat.repository.snapshot;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A verification could not read some chunks from the object store now (see {@link VerificationReport#unreadable}):
 * transient by nature, so callers that must reach a verdict retry instead of calling the backup corrupt.
 */
public class StoreUnreadableException extends UncheckedIOException {
    public StoreUnreadableException(String message) {
        super(new IOException(message));
    }

    @Override
    public String getMessage() {
        return getCause().getMessage();
    }
}
