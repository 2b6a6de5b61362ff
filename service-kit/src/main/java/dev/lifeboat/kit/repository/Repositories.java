package dev.lifeboat.kit.repository;

import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.RetryingObjectStore;
import dev.lifeboat.repository.content.ContentCodec;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.Layout;
import dev.lifeboat.repository.snapshot.Repository;
import io.quarkus.arc.properties.IfBuildProperty;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The backup repositories of a service, one per (bucket, prefix), opened with the master key and cached. The key
 * is resolved on first use and then kept (a missing key is not cached: fixing the configuration needs no restart).
 * The key itself is never logged, only its id (first 8 hex digits of its SHA-256).
 */
@ApplicationScoped
@IfBuildProperty(name = "lifeboat.object-store.enabled", stringValue = "true")
public class Repositories {
    private static final Logger LOG = Logger.getLogger(Repositories.class);

    private final ObjectStore store;
    private final RepositoryConfig config;
    private final Map<String, Repository> open = new ConcurrentHashMap<>();
    private volatile MasterKey masterKey;

    public Repositories(ObjectStore store, RepositoryConfig config) {
        this.store = new RetryingObjectStore(store);
        this.config = config;
    }

    /**
     * A service that encodes or decodes chunks starts compiling that path at once, in the background, so that its
     * first backup or restore does not run AES-GCM at the speed of a cold JVM.
     */
    void onStart(@Observes StartupEvent event) {
        int rounds = config.codecWarmUpRounds();
        if (rounds > 0 && !ContentCodec.optimisingCompilerAvailable()) {
            LOG.info("chunk codec warm-up skipped: " + ContentCodec.NO_OPTIMISING_COMPILER);
        } else {
            ContentCodec.warmUpInBackground(rounds);
        }
    }

    /** The master key; {@link MissingMasterKeyException} naming both options when neither is set. */
    public MasterKey masterKey() {
        MasterKey key = masterKey;
        if (key != null) {
            return key;
        }
        synchronized (this) {
            if (masterKey == null) {
                masterKey = resolve();
                LOG.infof("repository master key %s loaded", masterKey.id());
            }
            return masterKey;
        }
    }

    private MasterKey resolve() {
        String env = config.masterKeyEnv();
        Optional<java.nio.file.Path> file = config.masterKeyFile();
        try {
            if (file.isPresent()) {
                return MasterKey.fromFile(file.get());
            }
            String value = System.getenv(env);
            if (value == null || value.isBlank()) {
                throw new MissingMasterKeyException("no repository master key: set the environment variable " + env
                        + " to base64 of 32 random bytes, or point LIFEBOAT_MASTER_KEY_FILE "
                        + "(lifeboat.repository.master-key-file) at a file holding it");
            }
            return MasterKey.fromEnv(env);
        } catch (MissingMasterKeyException e) {
            throw e;
        } catch (RuntimeException e) {
            // the messages of MasterKey never contain the key
            throw new MissingMasterKeyException("repository master key unusable (" + e.getMessage() + "); check "
                    + file.map(p -> "LIFEBOAT_MASTER_KEY_FILE (lifeboat.repository.master-key-file) = " + p)
                    .orElse("the environment variable " + env), e);
        }
    }

    /** The repository at bucket/prefix, created on first use (what a writer calls). */
    public Repository openOrInit(String bucket, String prefix) {
        MasterKey key = masterKey();
        return open.computeIfAbsent(id(bucket, prefix), k -> Repository.openOrInit(store, bucket, prefix, key)
                .withMaxManifestBytes(config.maxManifestBytes()));
    }

    /** The existing repository at bucket/prefix; empty when there is none (no key file). */
    public Optional<Repository> open(String bucket, String prefix) {
        Repository cached = open.get(id(bucket, prefix));
        if (cached != null) {
            return Optional.of(cached);
        }
        MasterKey key = masterKey();
        if (store.size(bucket, new Layout(prefix).keyFile()).isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(open.computeIfAbsent(id(bucket, prefix), k -> Repository.open(store, bucket, prefix, key)
                .withMaxManifestBytes(config.maxManifestBytes())));
    }

    /** The largest manifest the repositories read or write ({@link RepositoryConfig#maxManifestBytes}). */
    public long maxManifestBytes() {
        return config.maxManifestBytes();
    }

    /** The object store the repositories use (with retries of transient failures). */
    public ObjectStore store() {
        return store;
    }

    private static String id(String bucket, String prefix) {
        return bucket + "\n" + new Layout(prefix).prefix();
    }

    /** Neither a master key file nor the environment variable gives a usable key. */
    public static final class MissingMasterKeyException extends IllegalStateException {
        public MissingMasterKeyException(String message) {
            super(message);
        }

        public MissingMasterKeyException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
