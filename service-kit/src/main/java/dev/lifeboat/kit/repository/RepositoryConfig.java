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

    /**
     * The largest manifest read or written, in bytes ({@code Repository.MAX_MANIFEST_BYTES} by default, 256 MiB: some
     * 1.8 million chunk references, about 0.9 TiB of logical dump). Each reader holds a manifest whole in memory, so
     * the cap keeps an object planted in the bucket from exhausting it. A source larger than that needs a higher
     * cap, the same on snapshot-worker (which stops a backup that would pass it) and storage-worker (which
     * answers a manifest over it as unreadable, never as damaged). Environment: LIFEBOAT_MAX_MANIFEST_BYTES.
     */
    @WithDefault("268435456")
    long maxManifestBytes();

    /**
     * Rounds of the chunk codec's warm-up right after start ({@code ContentCodec.warmUp}: about 2 s of one core for
     * the default, so that the first backup or restore does not run AES-GCM and SHA-256 cold); 0: none. Skipped in a
     * JVM without its optimising compiler. Environment: LIFEBOAT_CODEC_WARMUP_ROUNDS.
     */
    @WithDefault("6000")
    int codecWarmUpRounds();
}
