package dev.lifeboat.catalog.ui;

import dev.lifeboat.catalog.domain.RecoveryStatus;
import dev.lifeboat.catalog.rest.RecoveryView;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The dashboard's plot layout and run timeline: pure arithmetic, no server. */
class PlotTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    void pointsSpanTheWidthOldestFirstAndTheLargestValueReachesTheTop() {
        Plot plot = Plot.of("Size", List.of(new Plot.Sample(T0.plusSeconds(3600), 2048),
                new Plot.Sample(T0, 1024), new Plot.Sample(T0.plusSeconds(1800), 0)), Formats::bytes);
        assertThat(plot.points()).extracting(Plot.Point::x).containsExactly(8.0, 300.0, 592.0);
        assertThat(plot.points()).extracting(Plot.Point::y).containsExactly(80.0, 152.0, 8.0);
        assertThat(plot.line()).isEqualTo("8.0,80.0 300.0,152.0 592.0,8.0");
        assertThat(plot.yMax()).isEqualTo("2.0 KiB");
        assertThat(plot.points().getFirst().label()).isEqualTo("2026-01-01 00:00:00 UTC: 1.0 KiB");
    }

    @Test
    void noSampleIsAnEmptyPlotAndOneSampleSitsInTheMiddle() {
        assertThat(Plot.of("Duration", List.of(), Formats::millis).isEmpty()).isTrue();
        Plot one = Plot.of("Duration", List.of(new Plot.Sample(T0, 5)), Formats::millis);
        assertThat(one.points()).singleElement().satisfies(p -> assertThat(p.x()).isEqualTo(300.0));
    }

    @Test
    void stepBarsArePlacedInPercentOfTheRun() {
        RecoveryView run = new RecoveryView("r", "p", "plan", null, "manual", RecoveryStatus.SUCCEEDED, true, null,
                T0, T0.plusSeconds(100), 100_000L, 600_000L, true, 3600L, true, "s", "b", 10L, null, T0,
                List.of(new RecoveryView.Step(0, "RestoreDatabase", "SUCCEEDED", T0, T0.plusSeconds(60), 60_000L, null),
                        new RecoveryView.Step(1, "VerifyIntegrity", "SUCCEEDED", T0.plusSeconds(60),
                                T0.plusSeconds(100), 40_000L, null)));
        List<Pages.StepBar> bars = DashboardResource.bars(run);
        assertThat(bars).extracting(Pages.StepBar::left).containsExactly(0.0, 60.0);
        assertThat(bars).extracting(Pages.StepBar::width).containsExactly(60.0, 40.0);
    }
}
