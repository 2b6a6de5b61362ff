package dev.lifeboat.kit.secrets;

import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.Config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The one {@link SecretPolicy} of a service, built from {@link SecretsConfig}. The platform's own secret files are
 * gathered from the configuration properties and environment variables that name them, so that a new deployment
 * cannot forget one. Built at startup: a bad prefix stops the service instead of weakening it.
 */
@ApplicationScoped
public class SecretPolicyProducer {

    @Produces
    @Singleton
    @Startup
    SecretPolicy secretPolicy(SecretsConfig config, Config all) {
        List<Path> platformFiles = new ArrayList<>(config.platformFiles().orElse(List.of()));
        for (String property : config.platformFileProperties()) {
            all.getOptionalValue(property, String.class).ifPresent(v -> {
                for (String part : v.split(",")) {
                    SecretPolicy.pathOf(part).ifPresent(platformFiles::add);
                }
            });
        }
        for (String name : config.platformEnv()) {
            if (name.endsWith("_FILE")) {
                SecretPolicy.pathOf(System.getenv(name)).ifPresent(platformFiles::add);
            }
        }
        return new SecretPolicy(config.envPrefix(), config.directories(), platformFiles, config.platformEnv(),
                System::getenv);
    }
}
