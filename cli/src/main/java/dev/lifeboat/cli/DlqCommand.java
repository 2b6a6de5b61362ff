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
 * ({@code /api/v1/admin/parked}): where each came from and why, when and by whom it was replayed, never its payload;
 * replayed one at a time or all that match a filter.
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
                    "REPLAYED FROM", "REPLAY", "REPLAYED", "REPLAYED BY");
            for (JsonNode h : held) {
                t.row(text(h, "/partition"), text(h, "/offset"), Output.time(h, "/heldAt"), text(h, "/eventType"),
                        text(h, "/originTopic") + (h.hasNonNull("originPartition") ? "[" + text(h, "/originPartition")
                                + "]@" + text(h, "/originOffset") : ""),
                        text(h, "/attempts"), text(h, "/reason"), text(h, "/replayedFrom"), replay(h),
                        Output.time(h, "/replayedAt"), h.hasNonNull("replayUnknown") && !h.hasNonNull("replayState")
                                ? "?" : text(h, "/replayedBy"));
            }
            t.print(out().out);
            if (t.isEmpty()) {
                out().err.println("no " + from + " records");
                out().err.flush();
            }
            return ExitCodes.OK;
        }

        /**
         * Where the last replay stands: its copy's place, in flight (a replay is sending it), or unconfirmed (claimed
         * long ago, its copy never recorded, and not found out yet: {@code replayUnknown} says why).
         */
        private static String replay(JsonNode h) {
            String state = text(h, "/replayState");
            if (state == null) {
                return null;
            }
            return switch (state) {
                case "REPLAYED" -> "to " + text(h, "/replayedTo");
                case "IN_FLIGHT" -> "in flight";
                case "UNCONFIRMED" -> "unconfirmed: " + text(h, "/replayUnknown");
                default -> state.toLowerCase(java.util.Locale.ROOT);
            };
        }
    }

    @Command(name = "replay", description = {
            "Sends held records back to their origin topic (admin), once their cause is fixed: one (--partition,"
                    + " --offset) or all that match (--all, with filters). A record replayed before is refused"
                    + " (--force replays one again) and skipped by --all."})
    static final class Replay extends Cmd {
        @Option(names = "--from", description = "parked (default) or dead-letter")
        String from = "parked";
        @Option(names = "--partition", description = "the held record's partition (with --offset)")
        Integer partition;
        @Option(names = "--offset", description = "the held record's offset (with --partition)")
        Long offset;
        @Option(names = "--force", description = "replay the one record even if it was replayed before")
        boolean force;
        @Option(names = "--all", description = "every matching record not replayed yet, oldest first (up to --limit)")
        boolean all;
        @Option(names = "--origin-topic", description = "with --all: only records that came from this topic")
        String originTopic;
        @Option(names = "--reason-contains", description = "with --all: only records whose reason contains this"
                + " (ignoring case)")
        String reasonContains;
        @Option(names = "--held-after", description = "with --all: only records held at or after this instant"
                + " (ISO-8601, e.g. 2026-12-06T09:00:00Z)")
        String heldAfter;
        @Option(names = "--held-before", description = "with --all: only records held before this instant")
        String heldBefore;
        @Option(names = "--limit", description = "with --all: at most this many (default 100, at most 1000)")
        Integer limit;
        @Option(names = "--dry-run", description = "with --all: show what would be replayed, send nothing (what"
                + " --all does without --yes)")
        boolean dryRun;
        @Option(names = "--yes", description = "with --all: replay the matching records (without it, --all only shows"
                + " what would be replayed)")
        boolean yes;

        @Override
        public Integer call() {
            if (!from.equals("parked") && !from.equals("dead-letter")) {
                throw usage("--from: parked or dead-letter");
            }
            return all ? replayAll() : replayOne();
        }

        private Integer replayOne() {
            if (originTopic != null || reasonContains != null || heldAfter != null || heldBefore != null
                    || limit != null || dryRun || yes) {
                throw usage("--origin-topic, --reason-contains, --held-after, --held-before, --limit, --dry-run and"
                        + " --yes go with --all");
            }
            if (partition == null || offset == null) {
                throw usage("give --partition and --offset (one record) or --all (every matching record)");
            }
            if (partition < 0 || offset < 0) {
                throw usage("--partition and --offset: 0 or more");
            }
            com.fasterxml.jackson.databind.node.ObjectNode order = Api.JSON.createObjectNode()
                    .put("from", from).put("partition", partition).put("offset", offset);
            if (force) {
                order.put("force", true);
            }
            JsonNode r = api().post(Service.SCHEDULER, "/api/v1/admin/parked/replay", order);
            if (!out().structured(r)) {
                out().out.println("replayed " + text(r, "/eventType") + " (key " + text(r, "/key") + ") to "
                        + text(r, "/topic") + "[" + text(r, "/partition") + "]@" + text(r, "/offset"));
            }
            return ExitCodes.OK;
        }

        private Integer replayAll() {
            if (partition != null || offset != null || force) {
                throw usage("--all replays every matching record: --partition, --offset and --force are for one record");
            }
            if (limit != null && (limit < 1 || limit > 1000)) {
                throw usage("--limit: 1 to 1000");
            }
            if (dryRun && yes) {
                throw usage("--dry-run sends nothing, --yes replays: give one of them");
            }
            // a bulk replay is shown before it is done: only --yes sends anything
            boolean dry = !yes;
            com.fasterxml.jackson.databind.node.ObjectNode order = Api.JSON.createObjectNode().put("from", from);
            if (originTopic != null) {
                order.put("originTopic", originTopic);
            }
            if (reasonContains != null) {
                order.put("reasonContains", reasonContains);
            }
            if (heldAfter != null) {
                order.put("heldAfter", instant("--held-after", heldAfter));
            }
            if (heldBefore != null) {
                order.put("heldBefore", instant("--held-before", heldBefore));
            }
            if (limit != null) {
                order.put("limit", limit);
            }
            order.put("dryRun", dry);
            // one send per record, each within the service's replay deadline: a thousand take a while
            Api.Response r = api().postSlowUnchecked(Service.SCHEDULER, "/api/v1/admin/parked/replay-all", order,
                    java.time.Duration.ofMinutes(10));
            boolean stopped = r.status() == 503 && r.json().has("replayed");
            if (!stopped) {
                api().checked(Service.SCHEDULER, r);
            }
            JsonNode done = r.json();
            if (!out().structured(done)) {
                Output.Table t = new Output.Table("PARTITION", "OFFSET", "HELD", "EVENT", "ORIGIN", "COPY");
                for (JsonNode e : done.path("replayed")) {
                    JsonNode c = e.path("copy");
                    t.row(text(e, "/held/partition"), text(e, "/held/offset"), Output.time(e, "/held/heldAt"),
                            text(e, "/held/eventType"), text(e, "/held/originTopic"), c.isObject()
                                    ? text(c, "/topic") + "[" + text(c, "/partition") + "]@" + text(c, "/offset")
                                    : "(dry run)");
                }
                t.print(out().out);
                Output.Table s = new Output.Table("PARTITION", "OFFSET", "SKIPPED", "WHY");
                for (JsonNode k : done.path("skipped")) {
                    s.row(text(k, "/held/partition"), text(k, "/held/offset"), text(k, "/code"), text(k, "/reason"));
                }
                if (!s.isEmpty()) {
                    out().out.println();
                    s.print(out().out);
                }
                String left = done.path("remaining").asInt() == 0 || stopped ? ""
                        : done.hasNonNull("remainingBecause") ? " (" + text(done, "/remainingBecause") + ": run again)"
                        : " (past --limit: run again)";
                out().out.println((dry ? "would replay " : "replayed ") + done.path("replayed").size()
                        + ", skipped " + done.path("skippedCount").asInt() + ", " + done.path("remaining").asInt()
                        + " more matching" + left + (dry ? "; add --yes to replay them" : ""));
                out().out.flush();
            }
            if (stopped) {
                throw new CliException(ExitCodes.UNREACHABLE, Service.SCHEDULER.key + " answered 503: "
                        + Api.problemText(r));
            }
            return ExitCodes.OK;
        }

        private String instant(String option, String value) {
            try {
                return java.time.Instant.parse(value).toString();
            } catch (java.time.format.DateTimeParseException e) {
                throw usage(option + ": an ISO-8601 instant such as 2026-12-06T09:00:00Z, not '" + value + "'");
            }
        }
    }
}
