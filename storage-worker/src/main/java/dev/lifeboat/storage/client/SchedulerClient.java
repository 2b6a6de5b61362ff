package dev.lifeboat.storage.client;

import dev.lifeboat.kit.security.ServiceBearerToken;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import org.eclipse.microprofile.rest.client.annotation.RegisterProvider;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

/**
 * Policies come from scheduler-service, which owns them. storage-worker reads a policy's source and retention counts
 * before it deletes anything a BackupsExpired names, so that it recomputes the keep set itself instead of trusting
 * the event, and its destination and offsite destination before it reads or copies a backup a SnapshotCreated names
 * ({@link dev.lifeboat.storage.service.DestinationGuard}).
 */
@RegisterRestClient(configKey = "scheduler")
@RegisterProvider(ServiceBearerToken.class)
@Path("/api/v1")
public interface SchedulerClient {

    @GET
    @Path("policies/{id}")
    PolicyInfo policy(@PathParam("id") String id);

    /** {@code destination} and {@code offsite}: bucket and prefix, either null where the policy leaves it out. */
    record PolicyInfo(String id, String sourceId, Retention retention, Destination destination,
                      Destination offsite) {
        public record Retention(Integer daily, Integer weekly, Integer monthly) {
        }

        public record Destination(String bucket, String prefix) {
        }
    }
}
