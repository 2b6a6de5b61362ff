package dev.lifeboat.kit.objectstore;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.net.URI;
import java.util.Optional;

/** Object storage of the services that read or write backups. Credentials come from the environment in production. */
@ConfigMapping(prefix = "lifeboat.object-store")
public interface ObjectStoreConfig {
    /** Build-time switch: only services built with it true get the object-store bean and readiness check. */
    @WithDefault("false")
    boolean enabled();

    /** S3 endpoint; empty means AWS itself. */
    Optional<URI> endpoint();

    @WithDefault("us-east-1")
    String region();

    @WithDefault("true")
    boolean pathStyle();

    /** Empty: the AWS default credentials chain (environment, profile, instance role). */
    Optional<String> accessKey();

    Optional<String> secretKey();

    /** Multipart part size; also the most memory one upload holds. */
    @WithDefault("16777216")
    int partSizeBytes();

    /** Bucket used when a backup's policy names none. */
    @WithDefault("lifeboat-backups")
    String defaultBucket();
}
