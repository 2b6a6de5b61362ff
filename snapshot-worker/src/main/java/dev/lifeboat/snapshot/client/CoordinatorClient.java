package dev.lifeboat.snapshot.client;

import dev.lifeboat.kit.security.ServiceBearerToken;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import org.eclipse.microprofile.rest.client.annotation.RegisterProvider;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

/**
 * The target servers admins registered in recovery-coordinator, which owns them: a recovery command names one, and
 * the worker takes host, port, user, password reference and database pattern from here, never from the command
 * alone. Read with the worker's service token (role lifeboat-viewer); its caller retries and sets the deadline
 * ({@code quarkus.rest-client.coordinator.*}).
 */
@RegisterRestClient(configKey = "coordinator")
@RegisterProvider(ServiceBearerToken.class)
@Path("/api/v1")
public interface CoordinatorClient {

    @GET
    @Path("targets/{name}")
    RegisteredTarget target(@PathParam("name") String name);

    /**
     * A registered target as recovery-coordinator shows it: kind {@code database} (host, port, user, passwordRef and
     * the anchored pattern of the database names restores may create, replace or drop there, and the TLS of the
     * connections to it: {@code sslmode}, {@code sslRootCertRef}) or {@code cluster}.
     */
    record RegisteredTarget(String name, String kind, String host, Integer port, String user, String passwordRef,
                            String databasePattern, String sslmode, String sslRootCertRef) {
    }
}
