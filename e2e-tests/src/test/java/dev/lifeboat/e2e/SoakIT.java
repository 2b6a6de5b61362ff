package dev.lifeboat.e2e;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The fault-injection soak (see {@link Soak}). In the test run it is the short variant (about a minute and a half of
 * faults, every kind at least once); {@code deploy/bench/soak.sh} runs it long. The seed is printed first;
 * {@code -Dlifeboat.soak.seed=} or {@code SOAK_SEED=} replays the same schedule.
 *
 * <p>Every finding fails the test. {@code -Dlifeboat.soak.enforce=false} (or {@code SOAK_ENFORCE=false}) reports a
 * run with findings as aborted instead, with the whole report as the reason, for exploring a new fault. A broken
 * harness (platform that does not start, a fault that cannot be injected) fails either way.
 */
class SoakIT {

    @Test
    void faultsInjectedOnASeededScheduleLeaveNothingStuckLostOrFalselyCompleted() throws Exception {
        SoakSettings settings = SoakSettings.fromEnvironment();
        Soak.log("seed " + settings.seed() + " (replay with -Dlifeboat.soak.seed=" + settings.seed() + " or SOAK_SEED="
                + settings.seed() + "); " + settings.replayLine());
        String report;
        SoakChecks checks;
        try (Platform platform = Platform.start(2, settings.serviceEnv(), settings.ready())) {
            Soak soak = new Soak(settings, platform);
            try {
                soak.prepare();
                soak.runWindow();
                checks = new SoakChecks(soak);
                checks.drain();
                checks.check();
                report = checks.report();
            } finally {
                soak.cleanUp();
            }
            System.out.println(report);
            Path file = Path.of("target", "soak-report-" + settings.seed() + ".txt");
            Files.createDirectories(file.getParent());
            Files.writeString(file, report, StandardCharsets.UTF_8);
            Soak.log("report written to " + file.toAbsolutePath());
            if (!soak.harnessErrors.isEmpty()) {
                Assertions.fail("the soak harness could not do its work (seed " + settings.seed() + "):\n" + report);
            }
        }
        if (!checks.findings.isEmpty()) {
            String message = checks.findings.size() + " findings, seed " + settings.seed() + ":\n" + report;
            if (settings.enforce()) {
                Assertions.fail(message);
            }
            Assumptions.abort("not enforced until -Dlifeboat.soak.enforce=true; " + message);
        }
    }
}
