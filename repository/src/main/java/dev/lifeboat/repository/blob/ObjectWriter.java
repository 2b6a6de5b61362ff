package dev.lifeboat.repository.blob;

import java.io.IOException;
import java.io.OutputStream;

/** A streamed object write. Exactly one of commit or abort ends it; closing without commit aborts. */
public abstract class ObjectWriter extends OutputStream {

    /** Writers work on byte ranges; a single byte is a range of one. */
    @Override
    public void write(int b) throws IOException {
        write(new byte[]{(byte) b}, 0, 1);
    }

    @Override
    public abstract void write(byte[] b, int off, int len) throws IOException;

    /** Makes the object visible and returns what was stored. */
    public abstract StoredObject commit();

    /** Discards everything written so far, including parts already uploaded. */
    public abstract void abort();
}
