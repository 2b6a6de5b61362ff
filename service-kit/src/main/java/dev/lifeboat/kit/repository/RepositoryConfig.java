package dev.lifeboat.kit.repository;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the master key of the backup repositories comes from. A key file wins over the environment variable.
 * Services map {@code master-key-file} from the environment variable {@code LIFEBOAT_MASTER_KEY_FILE}.
 */
@ConfigMapping(prefix = "lifeboat.repository")
public interface RepositoryConfig {
    /** A file holding the 32-byte master key, raw or as base64 text. */
    Optional<Path> masterKeyFile();

    /** Name of the environment variable holding the master key as base64 of 32 bytes (used without a key file). */
    @WithDefault("LIFEBOAT_MASTER_KEY")
    String masterKeyEnv();
}
