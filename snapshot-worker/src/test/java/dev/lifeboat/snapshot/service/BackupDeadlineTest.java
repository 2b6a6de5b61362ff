package dev.lifeboat.snapshot.service;

import dev.lifeboat.snapshot.client.SchedulerClient;
import dev.lifeboat.snapshot.domain.BackupFailure;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackupDeadlineTest {
    static final Instant START = Instant.parse("2026-01-01T02:00:00Z");

    @Test
    void thePolicysMaxDurationSetsTheDeadlineAndNamesWhereItComesFrom() {
        Deadline d = SnapshotService.deadlineOf(policy("PT90M"), START, Duration.ofHours(6));
        assertThat(d.at()).isEqualTo(Instant.parse("2026-01-01T03:30:00Z"));
        assertThat(d.describe()).isEqualTo("the maximum backup duration PT1H30M (maxDuration of policy 'nightly')");
    }

    @Test
    void aPolicyWithoutMaxDurationGetsTheWorkersDefault() {
        Deadline d = SnapshotService.deadlineOf(policy(null), START, Duration.ofHours(6));
        assertThat(d.at()).isEqualTo(Instant.parse("2026-01-01T08:00:00Z"));
        assertThat(d.describe()).contains("lifeboat.snapshot.max-duration");
    }

    @Test
    void anUnusableMaxDurationFailsTheLookupWithTheReason() {
        for (String bad : new String[] {"six hours", "PT0S", "-PT1H"}) {
            assertThatThrownBy(() -> SnapshotService.deadlineOf(policy(bad), START, Duration.ofHours(6)))
                    .isInstanceOf(BackupFailure.class).hasMessageContaining("maxDuration '" + bad + "'")
                    .satisfies(e -> assertThat(((BackupFailure) e).stage()).isEqualTo("LOOKUP"));
        }
    }

    private static SchedulerClient.PolicyInfo policy(String maxDuration) {
        return new SchedulerClient.PolicyInfo("nightly", "shop", null, null, maxDuration);
    }
}
