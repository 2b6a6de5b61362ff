package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;

import static dev.lifeboat.cli.Output.text;

/**
 * {@code lifeboat dlq ls|replay}: records held on the parking topic (valid work an outage held up past the retry
 * window) or the dead-letter topic (records a consumer refused), as scheduler-service offers them
 * ({@code /api/v1/admin/parked}): where each came from and why, never its payload.
 */
@Command(name = "dlq", description = "Parked and dead-lettered records: ls, replay",
        subcommands = {DlqCommand.Ls.class, DlqCommand.Replay.class})
final class DlqCommand {

    @Command(name = "ls", description = "Lists held records: origin, reason, attempts (never their payload)")
    static final class Ls extends Cmd {
        @Option(names = "--from", description = "parked (default) or dead-letter")
        String from = "parked";
        @Option(names = "--limit", description = "at most this many (default 100, at most 1000)")
        int limit = 100;

        @Override
        public Integer call() {
            if (!from.equals("parked") && !from.equals("dead-letter")) {
                throw usage("--from: parked or dead-letter");
            }
            if (limit < 1 || limit > 1000) {
                throw usage("--limit: 1 to 1000");
            }
            Map<String, String> q = new LinkedHashMap<>();
            q.put("from", from);
            q.put("limit", String.valueOf(limit));
            JsonNode held = api().get(Service.SCHEDULER, "/api/v1/admin/parked", q);
            if (out().structured(held)) {
                return ExitCodes.OK;
            }
            Output.Table t = new Output.Table("PARTITION", "OFFSET", "HELD", "EVENT", "ORIGIN", "ATTEMPTS", "REASON",
                    "REPLAYED FROM");
            for (JsonNode h : held) {
                t.row(text(h, "/partition"), text(h, "/offset"), Output.time(h, "/heldAt"), text(h, "/eventType"),
                        text(h, "/originTopic") + (h.hasNonNull("originPartition") ? "[" + text(h, "/originPartition")
                                + "]@" + text(h, "/originOffset") : ""),
                        text(h, "/attempts"), text(h, "/reason"), text(h, "/replayedFrom"));
            }
            t.print(out().out);
            if (t.isEmpty()) {
                out().err.println("no " + from + " records");
                out().err.flush();
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "replay", description = "Sends one held record back to its origin topic (admin), once its cause is fixed")
    static final class Replay extends Cmd {
        @Option(names = "--from", description = "parked (default) or dead-letter")
        String from = "parked";
        @Option(names = "--partition", required = true)
        int partition;
        @Option(names = "--offset", required = true)
        long offset;

        @Override
        public Integer call() {
            if (!from.equals("parked") && !from.equals("dead-letter")) {
                throw usage("--from: parked or dead-letter");
            }
            if (partition < 0 || offset < 0) {
                throw usage("--partition and --offset: 0 or more");
            }
            JsonNode r = api().post(Service.SCHEDULER, "/api/v1/admin/parked/replay", Api.JSON.createObjectNode()
                    .put("from", from).put("partition", partition).put("offset", offset));
            if (!out().structured(r)) {
                out().out.println("replayed " + text(r, "/eventType") + " (key " + text(r, "/key") + ") to "
                        + text(r, "/topic") + "[" + text(r, "/partition") + "]@" + text(r, "/offset"));
            }
            return ExitCodes.OK;
        }
    }
}
