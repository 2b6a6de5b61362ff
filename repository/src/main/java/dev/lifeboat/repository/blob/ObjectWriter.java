package dev.lifeboat.repository.blob;

import java.io.OutputStream;

/** A streamed object write. Exactly one of commit or abort ends it; closing without commit aborts. */
public abstract class ObjectWriter extends OutputStream {

    /** Makes the object visible and returns what was stored. */
    public abstract StoredObject commit();

    /** Discards everything written so far, including parts already uploaded. */
    public abstract void abort();
}
