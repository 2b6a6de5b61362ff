package dev.lifeboat.kit.fault;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Halting itself is proven with real processes by e2e-tests' CrashPointsEndToEndIT; here, what arms it. */
class CrashPointsTest {

    @Test
    void anUnknownCrashPointStopsTheStartNamingTheKnownOnes() {
        assertThatThrownBy(() -> new CrashPoints(() -> Optional.of("after-manfest")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'after-manfest'")
                .hasMessageContaining("before-manifest, after-manifest, after-snapshot-created, while-sealing");
    }

    @Test
    void unsetOrBlankOrAnotherPointNeverHalts() {
        // reaching a point that is not armed returns: this JVM would end here otherwise
        new CrashPoints(Optional::empty).reached(CrashPoint.AFTER_MANIFEST, "backup b1");
        new CrashPoints(() -> Optional.of(" ")).reached(CrashPoint.AFTER_MANIFEST, "backup b1");
        new CrashPoints(() -> Optional.of("while-sealing")).reached(CrashPoint.AFTER_MANIFEST, "backup b1");
        assertThat(CrashPoint.byKey(" while-sealing ")).contains(CrashPoint.WHILE_SEALING);
    }
}
