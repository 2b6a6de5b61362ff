package dev.lifeboat.snapshot.service;

import dev.lifeboat.repository.snapshot.ChainContext;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** Which chains a FULL is looked for in, from its first attempt and how far this worker's clock is off. */
class ChainOfTest {
    private static final Instant FIRST = Instant.parse("2026-12-06T10:00:00Z");

    @Test
    void aFullIsLookedForInChainsSinceItsFirstAttemptLessTheMarginWhileTheClocksAgree() {
        for (Duration skew : new Duration[] {Duration.ZERO, Duration.ofMinutes(5), Duration.ofMinutes(-5),
                Duration.ofMillis(40)}) {
            ChainContext chain = SnapshotService.chainOf("b-1", FIRST, skew);
            assertThat(chain.backupId()).isEqualTo("b-1");
            assertThat(chain.chainId()).isEmpty();
            assertThat(chain.firstAttempt()).as("skew %s", skew).contains(Instant.parse("2026-12-06T09:45:00Z"));
        }
    }

    @Test
    void aWorkerWhoseClockIsFarOffLooksInEveryChain() {
        for (Duration skew : new Duration[] {Duration.ofMinutes(5).plusMillis(1), Duration.ofMinutes(-6),
                Duration.ofHours(3)}) {
            ChainContext chain = SnapshotService.chainOf("b-1", FIRST, skew);
            assertThat(chain.firstAttempt()).as("skew %s", skew).isEmpty();
            assertThat(chain.chainId()).isEmpty();
        }
    }
}
