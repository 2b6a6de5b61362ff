package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.lifeboat.cli.Output.text;

/** {@code lifeboat plan ls|show|apply -f plan.yaml}: disaster-recovery plans on recovery-coordinator. */
@Command(name = "plan", description = "Disaster-recovery plans: ls, show, apply -f plan.yaml",
        subcommands = {PlanCommand.Ls.class, PlanCommand.Show.class, PlanCommand.Apply.class})
final class PlanCommand {

    @Command(name = "ls", description = "Lists plans")
    static final class Ls extends Cmd {
        @Override
        public Integer call() {
            JsonNode plans = api().get(Service.RECOVERY, "/api/v1/plans");
            if (out().structured(plans)) {
                return ExitCodes.OK;
            }
            Output.Table t = new Output.Table("PLAN", "RTO", "RPO", "STEPS", "DRILL SCHEDULE", "NEXT DRILL", "NAME");
            for (JsonNode p : plans) {
                List<String> kinds = new ArrayList<>();
                p.path("steps").forEach(s -> kinds.add(s.path("kind").asText()));
                t.row(text(p, "/id"), text(p, "/rto"), text(p, "/rpo"), String.join(",", kinds),
                        text(p, "/drillSchedule"), Output.time(p, "/nextDrillAt"), text(p, "/name"));
            }
            t.print(out().out);
            return ExitCodes.OK;
        }
    }

    @Command(name = "show", description = "One plan with its steps (YAML by default: what apply takes)")
    static final class Show extends Cmd {
        @Parameters(paramLabel = "PLAN")
        String id;

        @Override
        public Integer call() {
            JsonNode p = api().get(Service.RECOVERY, "/api/v1/plans/" + checkId("plan id", id, SLUG));
            if (!out().structured(p)) {
                out().out.print(yaml(p));
                out().out.flush();
            }
            return ExitCodes.OK;
        }

        private static String yaml(JsonNode p) {
            try {
                return Settings.yaml().writeValueAsString(p);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                return p.toPrettyString() + "\n";
            }
        }
    }

    @Command(name = "apply", description = "Creates or replaces the plan in a YAML or JSON file (admin); its id "
            + "comes from the file's 'id'")
    static final class Apply extends Cmd {
        @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "plan.yaml (- for stdin)")
        Path file;

        @Override
        public Integer call() {
            ObjectNode plan = (ObjectNode) readDocument(file);
            String id = checkId("plan id", plan.path("id").asText(null), SLUG);
            for (String generated : List.of("createdAt", "updatedAt", "createdBy", "updatedBy", "nextDrillAt")) {
                plan.remove(generated);
            }
            ObjectNode body = plan.deepCopy();
            body.remove("id");
            Api.Response put = api().send(Service.RECOVERY, "PUT", api().uri(Service.RECOVERY, "/api/v1/plans/" + id,
                    null), body);
            String verb = "replaced";
            JsonNode saved;
            if (put.status() == 404) {
                saved = api().post(Service.RECOVERY, "/api/v1/plans", plan);
                verb = "created";
            } else {
                saved = api().checked(Service.RECOVERY, put).json();
            }
            if (!out().structured(saved)) {
                out().out.println("plan " + id + " " + verb + " (" + saved.path("steps").size() + " steps, RTO "
                        + text(saved, "/rto") + ")");
            }
            return ExitCodes.OK;
        }
    }
}
