package dev.lifeboat.kit.fault;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

import java.util.Optional;

/**
 * Halts the process at the crash point named by {@code lifeboat.fault.halt-at}, so crash tests and soaks can kill a
 * worker at an exact place instead of at a random time. {@link Runtime#halt} is what kill -9 does to a JVM: shutdown
 * hooks, Kafka offset commits, database rollbacks and spool cleanup do not run. The supervisor (or the test) starts
 * the process again without the setting.
 */
@ApplicationScoped
public class CrashPoints {
    /** The exit status of a process killed by SIGKILL, so a supervisor sees the crash it would see after kill -9. */
    public static final int HALT_STATUS = 137;
    private static final Logger LOG = Logger.getLogger(CrashPoints.class);

    private final Optional<CrashPoint> armed;

    public CrashPoints(FaultConfig config) {
        this.armed = config.haltAt().filter(s -> !s.isBlank()).map(key -> CrashPoint.byKey(key)
                .orElseThrow(() -> new IllegalArgumentException("lifeboat.fault.halt-at (LIFEBOAT_FAULT_HALT_AT) is '"
                        + key + "', which is not a crash point; known points: " + CrashPoint.known()
                        + ". Leave it unset outside crash tests")));
    }

    void announce(@Observes StartupEvent start) {
        armed.ifPresent(p -> LOG.warnf("fault injection is on: this process halts (as kill -9 would) when it reaches "
                + "crash point '%s' (lifeboat.fault.halt-at). For crash tests and soaks only: unset "
                + "LIFEBOAT_FAULT_HALT_AT in production", p.key()));
    }

    /**
     * Halts the process when {@code point} is the armed one; does nothing otherwise. {@code subject} (e.g. "backup
     * &lt;id&gt;") is logged, so a test can tell which piece of work the crash hit.
     */
    public void reached(CrashPoint point, String subject) {
        if (armed.isPresent() && armed.get() == point) {
            LOG.errorf("halting at crash point '%s' in %s (lifeboat.fault.halt-at), as kill -9 would", point.key(),
                    subject);
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(HALT_STATUS);
        }
    }
}
