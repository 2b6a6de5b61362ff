package dev.lifeboat.repository.blob;

import java.time.Instant;

/**
 * What a store says about an object without reading it.
 *
 * @param size         bytes
 * @param lastModified when the object under this key was last (re)written; S3 reports whole seconds
 */
public record ObjectInfo(long size, Instant lastModified) {
}
