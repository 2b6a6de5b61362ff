package dev.lifeboat.repository.blob;

/**
 * An object is larger than its kind may be, so it was not read: a reader that holds an object in memory bounds it,
 * or anyone who can write to the bucket could make it allocate without limit.
 */
public class ObjectTooLargeException extends RuntimeException {
    private final long size;
    private final long max;

    public ObjectTooLargeException(String bucket, String key, String what, long size, long max) {
        super(what + " s3://" + bucket + "/" + key + " is " + (size < 0 ? "larger than " + max : size)
                + " bytes, over the " + max + " bytes such an object may have; not read");
        this.size = size;
        this.max = max;
    }

    /** {@code e} with {@code advice} (how to read it anyway, say) after its message. */
    public ObjectTooLargeException(ObjectTooLargeException e, String advice) {
        super(e.getMessage() + "; " + advice, e);
        this.size = e.size;
        this.max = e.max;
    }

    /** The object's size, or -1 when only known to be larger than {@link #max()}. */
    public long size() {
        return size;
    }

    public long max() {
        return max;
    }
}
