package dev.lifeboat.kit.objectstore;

import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import io.quarkus.arc.properties.IfBuildProperty;
import jakarta.inject.Singleton;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;

/** Only services built with {@code lifeboat.object-store.enabled=true} hold an object-store connection. */
@IfBuildProperty(name = "lifeboat.object-store.enabled", stringValue = "true")
public class ObjectStoreProducer {

    @Produces
    @Singleton
    S3ObjectStore objectStore(ObjectStoreConfig config) {
        return S3ObjectStore.connect(new S3Settings(config.endpoint(), config.region(), config.pathStyle(),
                config.accessKey().orElse(null), config.secretKey().orElse(null), config.partSizeBytes()));
    }

    void close(@Disposes S3ObjectStore store) {
        store.close();
    }
}
