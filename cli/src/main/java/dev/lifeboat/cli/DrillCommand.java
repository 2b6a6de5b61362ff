package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;

import static dev.lifeboat.cli.Output.text;

/** {@code lifeboat drill run <plan> [--watch]}: a drill restores into scratch databases and measures the RTO. */
@Command(name = "drill", description = "Disaster-recovery drills: run", subcommands = DrillCommand.Run.class)
final class DrillCommand {

    @Command(name = "run", description = "Starts a drill of a plan (operator; admin for plans with RestartServices). "
            + "With --watch: shows its steps live and exits 1 unless it succeeds within its RTO.")
    static final class Run extends Cmd {
        @Parameters(paramLabel = "PLAN")
        String plan;
        @Option(names = {"-w", "--watch"}, description = "follow the drill until it ends")
        boolean watch;
        @Option(names = "--wait-timeout", paramLabel = "SECONDS", description = "how long --watch follows (default 21600)")
        long waitTimeout = 21600;

        @Override
        public Integer call() {
            JsonNode started = api().post(Service.RECOVERY, "/api/v1/plans/" + checkId("plan id", plan, SLUG) + "/runs",
                    Api.JSON.createObjectNode().put("mode", "drill"));
            String runId = text(started, "/runId");
            if (!watch) {
                if (!out().structured(started)) {
                    out().out.println("drill " + runId + " started: lifeboat run show " + runId);
                }
                return ExitCodes.OK;
            }
            JsonNode run = new RunWatch(api(), out()).await(runId, Duration.ofSeconds(waitTimeout));
            if (!out().structured(run)) {
                out().out.println(RunWatch.summary(out(), run));
                out().out.flush();
            }
            boolean ok = "SUCCEEDED".equals(text(run, "/status")) && run.at("/result/rtoMet").asBoolean(true);
            return ok ? ExitCodes.OK : ExitCodes.FAILED;
        }
    }
}
