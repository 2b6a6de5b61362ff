package dev.lifeboat.catalog.client;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import dev.lifeboat.kit.security.ServiceBearerToken;
import org.eclipse.microprofile.rest.client.annotation.RegisterProvider;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.WebApplicationException;
import dev.lifeboat.kit.retry.Transience;
import io.smallrye.faulttolerance.api.RetryWhen;
import org.eclipse.microprofile.faulttolerance.Retry;
import org.eclipse.microprofile.faulttolerance.Timeout;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

import java.util.List;

/**
 * Sources and policies (and so the RPO a source must meet) are owned by scheduler-service; the catalog asks for
 * them when a caller asks for RPO compliance instead of keeping a copy that could be stale. A 4xx answer is final; a
 * timeout, a refused connection or a 5xx (transient in service-kit's {@link Transience}) is retried a little.
 */
@RegisterRestClient(configKey = "scheduler")
@RegisterProvider(ServiceBearerToken.class)
@Path("/api/v1")
public interface SchedulerClient {

    @GET
    @Path("sources/{id}")
    @Timeout(3000)
    @Retry(maxRetries = 2, delay = 200, jitter = 100)
    @RetryWhen(exception = Transience.IsTransient.class)
    Uni<SourceInfo> source(@PathParam("id") String id);

    @GET
    @Path("policies")
    @Timeout(3000)
    @Retry(maxRetries = 2, delay = 200, jitter = 100)
    @RetryWhen(exception = Transience.IsTransient.class)
    Uni<List<PolicyInfo>> policies(@QueryParam("sourceId") String sourceId);

    /** Every policy of the first {@code sources} source ids after {@code afterSourceId} (null: from the first). */
    @GET
    @Path("policies")
    @Timeout(3000)
    @Retry(maxRetries = 2, delay = 200, jitter = 100)
    @RetryWhen(exception = Transience.IsTransient.class)
    Uni<List<PolicyInfo>> policyPage(@QueryParam("afterSourceId") String afterSourceId,
                                     @QueryParam("sources") int sources);

    /**
     * The part of scheduler-service's SourceView the catalog needs; {@code method} logical or physical (absent from
     * older scheduler-service versions: logical).
     */
    record SourceInfo(String id, String name, String method) {
    }

    /**
     * The part of scheduler-service's PolicyView the catalog needs; {@code rpo} is an ISO-8601 duration or null;
     * {@code nextRunAt}: when its schedule fires next (null when disabled or absent from older versions).
     */
    @JsonIgnoreProperties(ignoreUnknown = true)   // skipped, not buffered: the policies' other fields
    record PolicyInfo(String id, String sourceId, String type, String rpo, boolean enabled,
                      @JsonDeserialize(using = UtcInstantDeserializer.class) java.time.Instant nextRunAt) {
    }
}
