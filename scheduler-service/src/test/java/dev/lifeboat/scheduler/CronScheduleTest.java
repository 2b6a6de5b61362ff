package dev.lifeboat.scheduler;

import dev.lifeboat.scheduler.service.CronSchedule;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class CronScheduleTest {

    @Test
    void fiveFieldUnixExpressionsAreAccepted() {
        assertThat(CronSchedule.problem("0 2 * * *")).isEmpty();
        assertThat(CronSchedule.problem("*/15 * * * 1-5")).isEmpty();
    }

    @Test
    void malformedExpressionsAreExplained() {
        assertThat(CronSchedule.problem("every night")).get().asString().contains("5-field Unix cron");
        assertThat(CronSchedule.problem("0 0 2 * * ?")).isPresent();
        assertThat(CronSchedule.problem("61 * * * *")).isPresent();
        assertThat(CronSchedule.problem(" ")).contains("schedule is empty");
    }

    @Test
    void nextRunIsComputedInUtc() {
        Instant after = Instant.parse("2026-11-24T10:15:00Z");
        assertThat(CronSchedule.nextAfter("0 2 * * *", after)).contains(Instant.parse("2026-11-25T02:00:00Z"));
        assertThat(CronSchedule.nextAfter("30 * * * *", after)).contains(Instant.parse("2026-11-24T10:30:00Z"));
        // Sunday 03:00 after Tuesday 2026-11-24
        assertThat(CronSchedule.nextAfter("0 3 * * 0", after)).contains(Instant.parse("2026-11-29T03:00:00Z"));
    }
}
