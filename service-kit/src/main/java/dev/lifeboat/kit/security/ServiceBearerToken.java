package dev.lifeboat.kit.security;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.client.ClientRequestContext;
import jakarta.ws.rs.client.ClientRequestFilter;
import jakarta.ws.rs.core.HttpHeaders;

/** Adds this service's own bearer token to a REST client's calls: {@code @RegisterProvider(ServiceBearerToken.class)}. */
@ApplicationScoped
public class ServiceBearerToken implements ClientRequestFilter {
    @Inject
    ServiceCredentials credentials;

    @Override
    public void filter(ClientRequestContext request) {
        credentials.authorization().ifPresent(h -> request.getHeaders().putSingle(HttpHeaders.AUTHORIZATION, h));
    }
}
