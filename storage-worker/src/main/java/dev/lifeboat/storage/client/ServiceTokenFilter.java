package dev.lifeboat.storage.client;

import jakarta.ws.rs.client.ClientRequestContext;
import jakarta.ws.rs.client.ClientRequestFilter;
import jakarta.ws.rs.core.HttpHeaders;
import org.eclipse.microprofile.config.ConfigProvider;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Sends this service's own bearer token to scheduler-service. The token is read from the file named by
 * {@code lifeboat.service-auth.token-file} on every call, so a rotated token is picked up without a restart; without
 * that setting no header is sent. The token itself never appears in a message.
 */
public class ServiceTokenFilter implements ClientRequestFilter {
    static final String TOKEN_FILE = "lifeboat.service-auth.token-file";

    @Override
    public void filter(ClientRequestContext request) {
        Optional<String> file = ConfigProvider.getConfig().getOptionalValue(TOKEN_FILE, String.class)
                .filter(f -> !f.isBlank());
        if (file.isEmpty()) {
            return;
        }
        String token;
        try {
            token = Files.readString(Path.of(file.get())).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read this service's token from " + file.get() + " (" + TOKEN_FILE
                    + "): " + e.getClass().getSimpleName(), e);
        }
        if (token.isEmpty()) {
            throw new IllegalStateException("this service's token file " + file.get() + " (" + TOKEN_FILE
                    + ") is empty");
        }
        request.getHeaders().putSingle(HttpHeaders.AUTHORIZATION, "Bearer " + token);
    }
}
