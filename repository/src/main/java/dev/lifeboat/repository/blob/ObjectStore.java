package dev.lifeboat.repository.blob;

import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * Immutable objects in a bucket-like namespace. Writers stream: memory stays bounded by one upload part
 * whatever the object size. Implementations: {@link S3ObjectStore} and {@link LocalDirectoryObjectStore}.
 */
public interface ObjectStore {

    /** Starts a streamed write of {@code key}; nothing is visible under the key until {@link ObjectWriter#commit()}. */
    ObjectWriter create(String bucket, String key);

    void put(String bucket, String key, byte[] content);

    /**
     * Creates {@code key} only if no object has that key: true when this call created it (or the object already
     * holds exactly these bytes, as when a client repeated a request whose answer was lost), false when an object
     * with other content already existed (left as it was). Of writers racing on one key with different contents
     * exactly one gets true, so a file that must be written once (a repository's key file) never has two versions.
     */
    boolean putIfAbsent(String bucket, String key, byte[] content);

    /** Reads the whole object as a stream; throws {@link ObjectNotFoundException} when it is absent. */
    InputStream open(String bucket, String key);

    /** An object's content with its length. */
    record Sized(InputStream content, long length) {
    }

    /**
     * Opens an object and tells its length; {@link ObjectNotFoundException} when it does not exist. Here a
     * {@link #size} and then an {@link #open}: a store that learns the length from the read itself answers both with
     * one request.
     */
    default Sized openSized(String bucket, String key) {
        long length = size(bucket, key).orElseThrow(() -> new ObjectNotFoundException(bucket, key));
        return new Sized(open(bucket, key), length);
    }

    /** Size of the object, empty when it does not exist. */
    Optional<Long> size(String bucket, String key);

    /**
     * Size and last-modified time of the object, empty when it does not exist. Garbage collection uses the time to
     * notice a chunk that was written again after it was marked unreferenced.
     */
    Optional<ObjectInfo> stat(String bucket, String key);

    List<String> list(String bucket, String prefix);

    /**
     * Hands every object under {@code prefix} with its size to {@code each}, listing them (a thousand objects per
     * request on S3) instead of asking one object at a time. A listing that is retried may hand an object twice.
     * Here a {@link #list} and a {@link #size} per object: stores whose listing tells sizes answer it with the listing.
     */
    default void listSizes(String bucket, String prefix, java.util.function.BiConsumer<String, Long> each) {
        for (String key : list(bucket, prefix)) {
            size(bucket, key).ifPresent(size -> each.accept(key, size));
        }
    }

    void delete(String bucket, String key);

    void ensureBucket(String bucket);

    /** A cheap round trip that proves the store answers (used by readiness checks). */
    void ping();
}
