package dev.lifeboat.snapshot.client;

import dev.lifeboat.kit.security.ServiceBearerToken;
import org.eclipse.microprofile.rest.client.annotation.RegisterProvider;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import java.util.List;
import dev.lifeboat.kit.retry.Transience;
import io.smallrye.faulttolerance.api.RetryWhen;
import org.eclipse.microprofile.faulttolerance.Retry;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

/**
 * Source and policy details come from scheduler-service, which owns them: BackupRequested carries only ids
 * so any system can publish it.
 */
@RegisterRestClient(configKey = "scheduler")
@RegisterProvider(ServiceBearerToken.class)
@Path("/api/v1")
public interface SchedulerClient {

    @GET
    @Path("sources/{id}")
    @Retry(maxRetries = 4, delay = 500, jitter = 200)
    @RetryWhen(exception = Transience.IsTransient.class)
    SourceInfo source(@PathParam("id") String id);

    /** Every source, in id order; the WAL archiver picks the physical ones. Its caller sets the deadline. */
    @GET
    @Path("sources")
    List<SourceSummary> sources();

    @GET
    @Path("policies/{id}")
    @Retry(maxRetries = 4, delay = 500, jitter = 200)
    @RetryWhen(exception = Transience.IsTransient.class)
    PolicyInfo policy(@PathParam("id") String id);

    /** The policies of a source; the WAL archiver archives into their destination. */
    @GET
    @Path("policies")
    @Retry(maxRetries = 4, delay = 500, jitter = 200)
    @RetryWhen(exception = Transience.IsTransient.class)
    List<PolicySummary> policies(@QueryParam("sourceId") String sourceId);

    /**
     * {@code sslmode} and {@code sslRootCertRef}: TLS to the source (null sslmode: the default, require).
     * {@code method}: {@code logical} (pg_dump of {@code database}) or {@code physical} (base backup of the whole
     * cluster); null from scheduler-service versions before physical backups, which means logical.
     */
    record SourceInfo(String id, String kind, String host, int port, String database, String username,
                      String passwordRef, String sslmode, String sslRootCertRef, String method) {

        public SourceInfo(String id, String kind, String host, int port, String database, String username,
                          String passwordRef, String sslmode, String sslRootCertRef) {
            this(id, kind, host, port, database, username, passwordRef, sslmode, sslRootCertRef, null);
        }

        public boolean physical() {
            return "physical".equals(method);
        }
    }

    /** The part of a listed source the archiver chooses by: {@code method} logical (pg_dump) or physical. */
    record SourceSummary(String id, String kind, String method) {
    }

    /** The part of a listed policy the WAL archiver chooses its destination by; null {@code enabled} means enabled. */
    record PolicySummary(String id, String sourceId, PolicyInfo.Destination destination, Boolean enabled) {
        public boolean active() {
            return enabled == null || enabled;
        }
    }

    /**
     * {@code offsite}: the policy's optional second destination, copied to by storage-worker. {@code maxDuration}:
     * ISO-8601, the longest one backup may run (absent from older scheduler-service versions).
     */
    record PolicyInfo(String id, String sourceId, Destination destination, Destination offsite, String maxDuration) {
        public record Destination(String bucket, String prefix) {
        }
    }
}
