package dev.lifeboat.kit.secrets;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import jakarta.validation.constraints.Pattern;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where secret references may point. Every service that registers or resolves references must be configured alike:
 * scheduler-service checks a reference when a source is registered, the workers check it again before they use it.
 */
@ConfigMapping(prefix = "lifeboat.secrets")
public interface SecretsConfig {
    /**
     * {@code env:NAME} must start with this. It cannot be empty or short: a prefix is what keeps the platform's own
     * variables (the master key, the database password, object-store keys) out of reach.
     */
    @WithDefault(SecretPolicy.DEFAULT_ENV_PREFIX)
    @Pattern(regexp = SecretPolicy.ENV_PREFIX_PATTERN, message = SecretPolicy.ENV_PREFIX_RULE)
    String envPrefix();

    /** {@code file:/path} must be a regular file inside one of these directories. */
    @WithDefault("/run/secrets,/etc/lifeboat/secrets")
    List<Path> directories();

    /** More files that hold the platform's own secrets and must never be read as a source's secret. */
    Optional<List<Path>> platformFiles();

    /**
     * Configuration properties whose values name files of the platform's own secrets (the master key, the token
     * signing key, the service token, TLS keys): those files are refused too, wherever they are.
     */
    @WithDefault("lifeboat.repository.master-key-file,smallrye.jwt.sign.key.location,smallrye.jwt.sign.key-location,"
            + "mp.jwt.decrypt.key.location,lifeboat.service-auth.token-file,quarkus.http.ssl.certificate.key-files,"
            + "kafka.ssl.keystore.location,kafka.ssl.key.location")
    List<String> platformFileProperties();

    /**
     * Environment variables of the platform's own secrets, refused even if a prefix were chosen that covers them;
     * each may also name a file ({@code *_FILE}) that is refused as a platform file.
     */
    @WithDefault("LIFEBOAT_MASTER_KEY,LIFEBOAT_MASTER_KEY_FILE,LIFEBOAT_DB_PASSWORD,S3_ACCESS_KEY,S3_SECRET_KEY,"
            + "LIFEBOAT_SERVICE_TOKEN_FILE,LIFEBOAT_JWT_SIGN_KEY_FILE,KAFKA_PASSWORD,KAFKA_PASSWORD_FILE,KAFKA_SASL_PASSWORD")
    List<String> platformEnv();
}
