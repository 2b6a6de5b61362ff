package dev.lifeboat.kit.fault;

import io.smallrye.config.ConfigMapping;

import java.util.Optional;

/** Fault injection for crash tests and soaks; unset in production. */
@ConfigMapping(prefix = "lifeboat.fault")
public interface FaultConfig {
    /**
     * The {@link CrashPoint} (by its key, e.g. {@code after-manifest}) where this process halts as kill -9 would:
     * no shutdown hooks, no offset commit, no cleanup. Empty: never.
     */
    Optional<String> haltAt();
}
