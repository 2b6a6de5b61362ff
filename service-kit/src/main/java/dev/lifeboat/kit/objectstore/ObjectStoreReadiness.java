package dev.lifeboat.kit.objectstore;

import dev.lifeboat.repository.blob.ObjectStore;
import io.quarkus.arc.properties.IfBuildProperty;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready only while the object store answers a round trip. */
@Readiness
@ApplicationScoped
@IfBuildProperty(name = "lifeboat.object-store.enabled", stringValue = "true")
public class ObjectStoreReadiness implements HealthCheck {
    @Inject
    ObjectStore store;

    @Override
    public HealthCheckResponse call() {
        try {
            store.ping();
            return HealthCheckResponse.up("object-store");
        } catch (RuntimeException e) {
            return HealthCheckResponse.builder().name("object-store").down()
                    .withData("error", String.valueOf(e.getMessage())).build();
        }
    }
}
