package dev.lifeboat.repository.blob;

import java.net.URI;
import java.util.Optional;

/**
 * How to reach an S3-compatible store. Credentials come from the process environment or configuration,
 * never from events or the catalog.
 */
public record S3Settings(Optional<URI> endpoint, String region, boolean pathStyle, String accessKey, String secretKey,
                         int partSizeBytes) {
    public static final int MIN_PART_SIZE = 5 * 1024 * 1024;

    public S3Settings {
        if (partSizeBytes < MIN_PART_SIZE) {
            throw new IllegalArgumentException("S3 multipart part size must be at least 5 MiB, got " + partSizeBytes);
        }
    }
}
