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
 * the event.
 */
@RegisterRestClient(configKey = "scheduler")
@RegisterProvider(ServiceBearerToken.class)
@Path("/api/v1")
public interface SchedulerClient {

    @GET
    @Path("policies/{id}")
    PolicyInfo policy(@PathParam("id") String id);

    record PolicyInfo(String id, String sourceId, Retention retention) {
        public record Retention(Integer daily, Integer weekly, Integer monthly) {
        }
    }
}
