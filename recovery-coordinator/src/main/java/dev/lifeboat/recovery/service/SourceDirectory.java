package dev.lifeboat.recovery.service;

import dev.lifeboat.kit.security.ServiceCredentials;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.recovery.config.CoordinatorConfig;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;

/** The sources registered in scheduler-service (GET /api/v1/sources/{id}); it owns them, we only ask. */
@ApplicationScoped
public class SourceDirectory {
    public record Source(String id, String host, int port, String database) {
    }

    private final CoordinatorConfig config;
    private final ServiceCredentials credentials;
    private final HttpClient http;

    public SourceDirectory(CoordinatorConfig config, ServiceCredentials credentials) {
        this.config = config;
        this.credentials = credentials;
        this.http = HttpClient.newBuilder().connectTimeout(config.schedulerTimeout()).build();
    }

    public Optional<Source> find(String sourceId) {
        String url = config.schedulerUrl().replaceAll("/+$", "") + "/api/v1/sources/"
                + java.net.URLEncoder.encode(sourceId, java.nio.charset.StandardCharsets.UTF_8);
        HttpResponse<String> response;
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(config.schedulerTimeout())
                    .header("Accept", "application/json").GET();
            credentials.authorization().ifPresent(h -> request.header("Authorization", h));
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new ProblemException(503, "Service Unavailable",
                    "cannot check source '" + sourceId + "': scheduler-service at " + config.schedulerUrl()
                            + " is unreachable (" + e + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProblemException(503, "Service Unavailable", "interrupted while asking scheduler-service");
        }
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() == 401 || response.statusCode() == 403) {
            throw new ProblemException(503, "Service Unavailable", "cannot check source '" + sourceId
                    + "': scheduler-service refused recovery-coordinator's own credentials (" + response.statusCode()
                    + "); check the token in lifeboat.service-auth.token-file and that it holds lifeboat-viewer");
        }
        if (response.statusCode() != 200) {
            throw new ProblemException(503, "Service Unavailable", "cannot check source '" + sourceId
                    + "': scheduler-service answered " + response.statusCode());
        }
        try {
            JsonNode n = EventCodec.mapper().readTree(response.body());
            return Optional.of(new Source(n.path("id").asText(sourceId), n.path("host").asText(null),
                    n.path("port").asInt(0), n.path("database").asText(null)));
        } catch (IOException e) {
            throw new ProblemException(503, "Service Unavailable", "scheduler-service answered unreadable JSON for "
                    + "source '" + sourceId + "'");
        }
    }
}
