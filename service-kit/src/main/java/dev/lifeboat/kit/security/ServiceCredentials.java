package dev.lifeboat.kit.security;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Optional;

/**
 * This service's own bearer token for the calls it makes to other Lifeboat services (snapshot-worker, storage-worker,
 * catalog-service and recovery-coordinator read sources and policies from scheduler-service). The token, holding only
 * the role the caller needs (lifeboat-viewer), is read from {@code lifeboat.service-auth.token-file}; the file is read
 * again when it changes, so a token can be rotated (by an OIDC client-credentials sidecar, a Kubernetes projected
 * secret, or {@code ./lifeboat}) without a restart.
 */
@ApplicationScoped
public class ServiceCredentials {
    private static final Logger LOG = Logger.getLogger(ServiceCredentials.class);

    @ConfigMapping(prefix = "lifeboat.service-auth")
    public interface Config {
        @WithName("token-file")
        Optional<Path> tokenFile();
    }

    private final Optional<Path> tokenFile;
    private FileTime readAt;
    private String token;

    public ServiceCredentials(Config config) {
        this.tokenFile = config.tokenFile();
    }

    /** {@code Bearer <token>}, or empty when no token file is configured (the callee will answer 401). */
    public synchronized Optional<String> authorization() {
        if (tokenFile.isEmpty()) {
            return Optional.empty();
        }
        Path file = tokenFile.get();
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            if (token == null || !modified.equals(readAt)) {
                String read = Files.readString(file, StandardCharsets.US_ASCII).strip();
                if (read.isEmpty() || read.length() > 16384) {
                    throw new IllegalStateException("service token file " + file + " is empty or too large");
                }
                token = read;
                readAt = modified;
            }
            return Optional.of("Bearer " + token);
        } catch (IOException e) {
            LOG.errorf("cannot read this service's token file %s (lifeboat.service-auth.token-file): %s", file,
                    e.getClass().getSimpleName());
            return Optional.empty();
        }
    }
}
