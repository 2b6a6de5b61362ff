package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.snapshot.CopyRows;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The end of a soak: waits for the work to drain, then checks what the issue asks for and writes the report.
 * Every finding names the item, what was expected and what was seen.
 * <ul>
 *   <li>every BackupRequested published during the window (read from the topic, so cron fires count too) ended
 *       COMPLETED or FAILED with a reason, in the catalog and in the scheduler alike; none stayed open and none was
 *       only dead-lettered;</li>
 *   <li>every COMPLETED backup passes full verification; one per source and type (seeded choice) restores, and its
 *       tables equal the fingerprints the backup took at backup time;</li>
 *   <li>the bucket holds a manifest for every COMPLETED backup and none for anything else, and every chunk a
 *       manifest names;</li>
 *   <li>the newest verified backup of each source (and the newest fully verified one) was not expired; every cron
 *       minute was fired or caught up;</li>
 *   <li>every drill ended with a result.</li>
 * </ul>
 */
final class SoakChecks {
    private static final Set<String> TERMINAL_BACKUP = Set.of("COMPLETED", "FAILED", "DELETED");
    private static final Set<String> TERMINAL_RUN = Set.of("SUCCEEDED", "FAILED", "COMPENSATED");
    /** A missed cron minute must have been caught up within this, plus the outages that followed it. */
    private static final Duration CATCH_UP = Duration.ofMinutes(4);
    /** How long the catalog may trail the scheduler before a disagreement counts. */
    private static final Duration SETTLE = Duration.ofSeconds(60);

    private final Soak soak;
    private final Platform platform;
    final Set<String> findings = new LinkedHashSet<>();
    /** backupId -> the BackupRequested's data (and the record's time) */
    private final Map<String, Request> requests = new LinkedHashMap<>();
    private final Map<String, JsonNode> backups = new HashMap<>();
    private final Map<String, JsonNode> runs = new HashMap<>();
    private final List<String> deadLetters = new ArrayList<>();
    private int verified;
    private int restored;
    private int manifestsChecked;
    /** Backups that retention expired while the checks ran (the policies keep firing): not judged. */
    private int expiredDuringChecks;
    private long chunksChecked;
    private String longestItem = "-";
    private Duration longest = Duration.ZERO;

    record Request(String backupId, String sourceId, String policyId, String type, Instant publishedAt) {
    }

    SoakChecks(Soak soak) {
        this.soak = soak;
        this.platform = soak.platform;
    }

    /** Current end offsets of the topics the checks read, by partition. */
    static Map<String, Map<Integer, Long>> endOffsets(LocalStack stack) {
        Map<String, Map<Integer, Long>> out = new HashMap<>();
        try (KafkaConsumer<String, String> c = consumer(stack)) {
            for (String topic : List.of(Topics.BACKUP_REQUESTED, Topics.DLQ)) {
                List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                        .map(p -> new TopicPartition(topic, p.partition())).toList();
                Map<Integer, Long> ends = new HashMap<>();
                c.endOffsets(parts, Duration.ofSeconds(30)).forEach((tp, o) -> ends.put(tp.partition(), o));
                out.put(topic, ends);
            }
        }
        return out;
    }

    private static KafkaConsumer<String, String> consumer(LocalStack stack) {
        Map<String, Object> config = new HashMap<>(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN));
        config.put("enable.auto.commit", "false");
        config.put("request.timeout.ms", "20000");
        config.put("default.api.timeout.ms", "30000");
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }

    /** Every record of {@code topic} from the soak's start offsets to the current end. */
    private List<ConsumerRecord<String, String>> read(String topic) {
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = consumer(platform.stack)) {
            Map<Integer, Long> from = soak.startOffsets.get(topic);
            List<TopicPartition> parts = from.keySet().stream().map(p -> new TopicPartition(topic, p)).toList();
            c.assign(parts);
            Map<TopicPartition, Long> ends = c.endOffsets(parts, Duration.ofSeconds(30));
            parts.forEach(tp -> c.seek(tp, from.get(tp.partition())));
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < ends.get(tp)) && System.nanoTime() < deadline) {
                c.poll(Duration.ofSeconds(1)).forEach(out::add);
            }
        }
        return out;
    }

    private void collectRequests() {
        for (ConsumerRecord<String, String> r : read(Topics.BACKUP_REQUESTED)) {
            try {
                JsonNode data = Platform.JSON.readTree(r.value());
                String source = data.path("sourceId").asText("");
                if (!soak.sourceIds.contains(source) || !data.hasNonNull("backupId")) {
                    continue;
                }
                Instant at = Instant.ofEpochMilli(r.timestamp());
                if (at.isAfter(soak.cutoff)) {
                    continue;   // requested after the window: not this soak's to judge
                }
                String id = data.get("backupId").asText();
                requests.putIfAbsent(id, new Request(id, source, data.path("policyId").asText(null),
                        data.path("type").asText(), at));
            } catch (Exception e) {
                // not JSON: not a request of this soak
            }
        }
    }

    /**
     * Judged once, after the drain: a backup accepted at the end of the window may have its request published after
     * the cutoff (the scheduler's outbox waits out a broker outage), and then only the catalog knows it.
     */
    private void checkAcceptedWerePublished() {
        for (var a : soak.accepted.entrySet()) {
            if (!requests.containsKey(a.getKey()) && refreshBackup(a.getKey()) == null) {
                findings.add("LOST backup " + a.getKey() + ": accepted over HTTP at " + a.getValue()
                        + " but no BackupRequested was ever published for it");
            }
        }
    }

    /** Polls until every request and every drill ended, or the drain time is over. */
    void drain() {
        Instant deadline = Instant.now().plus(soak.settings.drain());
        while (true) {
            collectRequests();
            long open = requests.keySet().stream().filter(id -> !terminal(refreshBackup(id))).count();
            long openRuns = soak.drills.keySet().stream().filter(id -> !terminalRun(refreshRun(id))).count();
            Soak.log("draining: " + open + " of " + requests.size() + " backups and " + openRuns + " of "
                    + soak.drills.size() + " drills still open");
            if ((open == 0 && openRuns == 0) || Instant.now().isAfter(deadline)) {
                checkAcceptedWerePublished();
                settleLateRequests();
                return;
            }
            Soak.pause(Duration.ofSeconds(5));
        }
    }

    private JsonNode refreshBackup(String id) {
        JsonNode known = backups.get(id);
        if (terminal(known)) {
            return known;
        }
        try {
            Platform.Response r = Platform.send("GET", platform.catalogUrl("/api/v1/backups/" + id), null);
            if (r.status() == 200) {
                backups.put(id, r.json());
            }
        } catch (RuntimeException e) {
            // catalog briefly away: asked again on the next round
        }
        return backups.get(id);
    }

    private JsonNode refreshRun(String id) {
        JsonNode known = runs.get(id);
        if (terminalRun(known)) {
            return known;
        }
        try {
            Platform.Response r = Platform.send("GET", platform.coordinatorUrl("/api/v1/runs/" + id), null);
            if (r.status() == 200) {
                runs.put(id, r.json());
            }
        } catch (RuntimeException e) {
            // coordinator briefly away
        }
        return runs.get(id);
    }

    private static boolean terminal(JsonNode b) {
        return b != null && TERMINAL_BACKUP.contains(b.path("status").asText());
    }

    private static boolean terminalRun(JsonNode r) {
        return r != null && TERMINAL_RUN.contains(r.path("status").asText());
    }

    void check() {
        Instant now = Instant.now();
        checkOutcomes(now);
        checkDeadLetters();
        checkSchedulerAgrees();
        checkDrills(now);
        checkCronFires();
        checkRetention();
        checkVerificationAndRestores();
        checkBucket();
    }

    private void checkOutcomes(Instant now) {
        for (Request q : requests.values()) {
            JsonNode b = backups.get(q.backupId());
            Instant requestedAt = b != null && b.hasNonNull("requestedAt") ? Instant.parse(b.get("requestedAt").asText())
                    : q.publishedAt();
            Instant endedAt = b != null && b.hasNonNull("completedAt") ? Instant.parse(b.get("completedAt").asText()) : now;
            unresolved("backup " + q.backupId() + " (" + q.sourceId() + ", " + q.type() + ")", requestedAt, endedAt);
            if (b == null) {
                findings.add("LOST backup " + q.backupId() + " of " + q.sourceId() + " (" + q.type()
                        + ", published " + q.publishedAt() + "): the catalog has never heard of it");
            } else if (!terminal(b)) {
                findings.add("STUCK backup " + q.backupId() + " of " + q.sourceId() + " (" + q.type() + "): "
                        + b.path("status").asText() + " " + Duration.between(requestedAt, now).toSeconds()
                        + " s after it was requested" + (b.hasNonNull("progress") ? ", progress " + b.get("progress") : "")
                        + (b.hasNonNull("workerId") ? ", worker " + b.get("workerId").asText() : ""));
            } else if ("FAILED".equals(b.path("status").asText()) && b.at("/failure/reason").asText("").isBlank()) {
                findings.add("FAILED without a reason: backup " + q.backupId() + " " + b.get("failure"));
            }
        }
    }

    private void unresolved(String what, Instant from, Instant to) {
        Duration d = Duration.between(from, to);
        if (d.compareTo(longest) > 0) {
            longest = d;
            longestItem = what;
        }
    }

    /** Every record here is valid work: none belongs in the dead-letter topic. */
    private void checkDeadLetters() {
        for (ConsumerRecord<String, String> r : read(Topics.DLQ)) {
            String value = r.value() == null ? "" : r.value();
            StringBuilder headers = new StringBuilder();
            for (Header h : r.headers()) {
                String v = h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
                headers.append(h.key()).append('=').append(Soak.firstLine(v)).append("; ");
            }
            boolean ours = soak.sourceIds.stream().anyMatch(s -> value.contains(s) || headers.toString().contains(s))
                    || requests.keySet().stream().anyMatch(value::contains)
                    || soak.drills.keySet().stream().anyMatch(value::contains)
                    || soak.planIds.stream().anyMatch(value::contains);
            if (ours) {
                String id = requests.keySet().stream().filter(value::contains).findFirst().orElse(null);
                String outcome = id == null ? "" : ", backup " + id + " ended "
                        + (backups.get(id) == null ? "nowhere" : backups.get(id).path("status").asText());
                deadLetters.add(r.topic() + "-" + r.partition() + "@" + r.offset() + " " + headers + outcome);
                findings.add("DEAD-LETTERED valid work: record " + r.partition() + "@" + r.offset() + " (" + headers
                        + ")" + outcome);
            }
        }
    }

    /**
     * Catalog and scheduler tell the same story. The catalog follows the lifecycle topic, so it may be a moment behind
     * (an expiry the scheduler just decided): a disagreement is asked again until {@link #SETTLE} has passed.
     */
    private void checkSchedulerAgrees() {
        Map<String, String> disagreements = new LinkedHashMap<>();
        Instant settleBy = Instant.now().plus(SETTLE);
        for (Request q : requests.values()) {
            if (terminal(backups.get(q.backupId()))) {
                disagreement(q.backupId()).ifPresent(d -> disagreements.put(q.backupId(), d));
            }
        }
        while (!disagreements.isEmpty() && Instant.now().isBefore(settleBy)) {
            Soak.pause(Duration.ofSeconds(5));
            for (String id : List.copyOf(disagreements.keySet())) {
                backups.remove(id);
                refreshBackup(id);
                disagreement(id).ifPresentOrElse(d -> disagreements.put(id, d), () -> disagreements.remove(id));
            }
        }
        disagreements.forEach((id, d) -> findings.add("DISAGREE on backup " + id + ": " + d + " (still after "
                + SETTLE.toSeconds() + " s)"));
    }

    private Optional<String> disagreement(String id) {
        JsonNode b = backups.get(id);
        String catalog = b == null ? "nothing" : b.path("status").asText();
        String scheduler;
        try {
            Platform.Response r = Platform.send("GET", platform.schedulerUrl("/api/v1/backups/" + id), null);
            scheduler = r.status() == 200 ? r.json().path("status").asText() : "HTTP " + r.status();
        } catch (RuntimeException e) {
            scheduler = "unreachable (" + Soak.firstLine(e.getMessage()) + ")";
        }
        boolean agree = switch (catalog) {
            case "COMPLETED" -> scheduler.equals("COMPLETED") || scheduler.equals("EXPIRED") && b.hasNonNull("expiredAt");
            case "DELETED" -> scheduler.equals("EXPIRED");
            default -> scheduler.equals(catalog);
        };
        return agree ? Optional.empty() : Optional.of("catalog " + catalog + ", scheduler " + scheduler);
    }

    private void checkDrills(Instant now) {
        for (var d : soak.drills.entrySet()) {
            JsonNode run = runs.get(d.getKey());
            Instant ended = run != null && run.hasNonNull("finishedAt") ? Instant.parse(run.get("finishedAt").asText()) : now;
            unresolved("drill " + d.getKey(), d.getValue(), ended);
            if (run == null) {
                findings.add("LOST drill " + d.getKey() + ": accepted at " + d.getValue() + ", unknown to the coordinator");
            } else if (!terminalRun(run)) {
                findings.add("STUCK drill " + d.getKey() + ": " + run.path("status").asText() + " in phase "
                        + run.path("phase").asText() + ", pending " + run.path("pending"));
            } else if (!"SUCCEEDED".equals(run.path("status").asText()) && run.path("reason").asText("").isBlank()) {
                findings.add("drill " + d.getKey() + " ended " + run.path("status").asText() + " without a reason");
            } else if ("SUCCEEDED".equals(run.path("status").asText()) && run.path("result").isMissingNode()) {
                findings.add("drill " + d.getKey() + " SUCCEEDED without a result");
            }
        }
    }

    /** Every minute boundary of the window fired its policies, or a fire caught it up within {@link #CATCH_UP}. */
    private void checkCronFires() {
        Instant first = soak.windowStart.plusSeconds(60).truncatedTo(java.time.temporal.ChronoUnit.MINUTES);
        for (String policy : soak.policyIds) {
            List<Instant> fires = requests.values().stream()
                    .filter(q -> policy.equals(q.policyId()) && "scheduler".equalsIgnoreCase(requestedBy(q)))
                    .map(Request::publishedAt).sorted().toList();
            for (Instant m = first; m.plus(CATCH_UP).isBefore(soak.cutoff); m = m.plusSeconds(60)) {
                Instant boundary = m;
                Instant by = catchUpDeadline(boundary);
                boolean covered = fires.stream().anyMatch(f -> !f.isBefore(boundary.minusSeconds(5)) && f.isBefore(by));
                if (!covered) {
                    findings.add("CRON fire of " + policy + " at " + boundary + " neither fired nor caught up within "
                            + CATCH_UP.toMinutes() + " min");
                }
            }
        }
    }

    /**
     * When a fire for {@code boundary} must have happened: {@link #CATCH_UP} after it, moved on by every outage that
     * keeps the scheduler from firing (its database or the broker stopped, the scheduler killed) and starts before
     * that time, since such outages may follow each other.
     */
    private Instant catchUpDeadline(Instant boundary) {
        Instant by = boundary.plus(CATCH_UP);
        Set<SoakPlan.Fault> counted = new java.util.HashSet<>();
        boolean moved = true;
        while (moved) {
            moved = false;
            for (SoakPlan.Fault f : soak.plan.faults()) {
                boolean blocksFires = f.kind() == SoakPlan.FaultKind.STOP_POSTGRES
                        || f.kind() == SoakPlan.FaultKind.STOP_BROKER
                        || f.kind() == SoakPlan.FaultKind.KILL_INSTANCE && "scheduler-service".equals(f.target());
                Instant start = soak.windowStart.plus(f.at());
                Instant end = soak.windowStart.plus(f.end());
                if (blocksFires && !counted.contains(f) && end.isAfter(boundary) && start.isBefore(by)) {
                    counted.add(f);
                    by = by.plus(f.length());
                    moved = true;
                }
            }
        }
        return by;
    }

    private String requestedBy(Request q) {
        JsonNode b = backups.get(q.backupId());
        String by = b == null ? "" : b.path("requestedBy").asText("");
        // the on-demand ones are those the harness had accepted over HTTP
        return soak.accepted.containsKey(q.backupId()) ? "http:" + by : "scheduler";
    }

    /**
     * The newest backup of each source that passed verification (at sealing or in full) must still be there, and so
     * must the newest that passed a full verification. The policies keep firing while the checks run, so this is
     * judged on every backup of the source the catalog knows now, those requested after the window included.
     */
    private void checkRetention() {
        for (String source : soak.sourceIds) {
            List<JsonNode> all;
            try {
                all = allBackupsOf(source);
            } catch (RuntimeException e) {
                findings.add("RETENTION: cannot list the backups of " + source + ": " + Soak.firstLine(e.getMessage()));
                continue;
            }
            List<JsonNode> newestFirst = all.stream().filter(b -> b.hasNonNull("completedAt"))
                    .filter(b -> !"FAILED".equals(b.path("status").asText()))
                    .sorted(Comparator.comparing((JsonNode b) -> Instant.parse(b.get("completedAt").asText())).reversed())
                    .toList();
            Optional<JsonNode> newestVerified = newestFirst.stream()
                    .filter(b -> Set.of("QUICK_OK", "FULL_OK").contains(b.at("/verification/state").asText())).findFirst();
            if (newestVerified.isEmpty()) {
                findings.add("RETENTION: " + source + " has no verified backup at all");
                continue;
            }
            expiredByRetention(newestVerified.get(), "newest verified", source);
            newestFirst.stream().filter(b -> "FULL_OK".equals(b.at("/verification/state").asText())).findFirst()
                    .ifPresent(b -> expiredByRetention(b, "newest fully verified", source));
        }
    }

    private void expiredByRetention(JsonNode b, String which, String source) {
        if ("DELETED".equals(b.path("status").asText()) || b.hasNonNull("expiredAt")) {
            findings.add("RETENTION expired the " + which + " backup " + b.get("backupId").asText() + " of " + source
                    + " (status " + b.path("status").asText() + ", expired " + b.path("expiredAt") + ")");
        }
    }

    /** Every backup of {@code source} in the catalog, page by page (each page names the next one's cursor). */
    private List<JsonNode> allBackupsOf(String source) {
        List<JsonNode> out = new ArrayList<>();
        String cursor = null;
        do {
            Platform.Response r = Platform.send("GET", platform.catalogUrl("/api/v1/backups?sourceId=" + source
                    + "&size=200" + (cursor == null ? "" : "&cursor=" + cursor)), null);
            if (r.status() != 200) {
                throw new IllegalStateException("catalog answered " + r.status() + ": " + Soak.firstLine(r.body()));
            }
            r.json().path("items").forEach(out::add);
            cursor = r.json().path("nextCursor").isTextual() ? r.json().path("nextCursor").asText() : null;
        } while (cursor != null);
        return out;
    }

    /**
     * The soak's backups that are COMPLETED and not expired: those whose requests were published in the window, and
     * those accepted over HTTP in it whose requests the scheduler's outbox published only after the cutoff (a broker
     * outage at the end of the window), which the drain gives {@link #SETTLE} more ({@link #settleLateRequests}).
     */
    private List<JsonNode> liveCompleted() {
        Set<String> ids = new LinkedHashSet<>(requests.keySet());
        ids.addAll(soak.accepted.keySet());
        return ids.stream().map(backups::get)
                .filter(b -> b != null && "COMPLETED".equals(b.path("status").asText()) && !b.hasNonNull("expiredAt"))
                .toList();
    }

    /**
     * Backups accepted in the window whose requests were published after the cutoff get {@link #SETTLE} to end
     * after the drain, before the checks judge what is left to restore: one of them may be the only backup of a
     * (source, type) that retention leaves alone.
     */
    private void settleLateRequests() {
        List<String> late = soak.accepted.keySet().stream().filter(id -> !requests.containsKey(id)).toList();
        Instant deadline = Instant.now().plus(SETTLE);
        while (late.stream().anyMatch(id -> !terminal(refreshBackup(id))) && Instant.now().isBefore(deadline)) {
            Soak.pause(Duration.ofSeconds(2));
        }
    }

    /**
     * Asks the catalog again: a backup that a later backup's retention expired while the checks ran is gone on
     * purpose, not lost.
     */
    private boolean stillLive(String id) {
        try {
            Platform.Response r = Platform.send("GET", platform.catalogUrl("/api/v1/backups/" + id), null);
            if (r.status() == 200 && (r.json().hasNonNull("expiredAt") || "DELETED".equals(r.json().path("status").asText()))) {
                expiredDuringChecks++;
                return false;
            }
        } catch (RuntimeException e) {
            // the catalog not answering is no excuse: judged on what was seen
        }
        return true;
    }

    private void checkVerificationAndRestores() {
        List<String> storage = platform.processes.stream().filter(p -> p.name().startsWith("storage-worker"))
                .map(p -> p.baseUrl()).toList();
        for (JsonNode b : liveCompleted()) {
            String id = b.get("backupId").asText();
            Platform.Response r = Platform.send("POST", storage.get(verified % storage.size())
                    + "/api/v1/backups/" + id + "/verify", null);
            verified++;
            if ((r.status() != 200 || !r.json().path("ok").asBoolean()) && stillLive(id)) {
                findings.add("FALSELY COMPLETED backup " + id + " of " + b.path("sourceId").asText() + " ("
                        + b.path("type").asText() + "): full verification answered " + r.status() + " "
                        + Soak.firstLine(r.body()));
            }
        }
        Random pick = new Random(soak.settings.seed() * 17 + 3);
        for (String source : soak.sourceIds) {
            for (BackupType type : BackupType.values()) {
                List<JsonNode> candidates = liveCompleted().stream()
                        .filter(b -> source.equals(b.path("sourceId").asText()) && type.name().equals(b.path("type").asText()))
                        .sorted(Comparator.comparing(b -> b.get("backupId").asText())).toList();
                if (candidates.isEmpty()) {
                    findings.add("COVERAGE: no COMPLETED " + type + " backup of " + source + " left to restore");
                    continue;
                }
                restoreAndCompare(candidates.get(pick.nextInt(candidates.size())));
            }
        }
    }

    /** Restores through the repository and pg_restore, then compares every table with the manifest's fingerprints. */
    private void restoreAndCompare(JsonNode b) {
        String id = b.get("backupId").asText();
        String db = "soak_chk_" + soak.run + "_" + restored;
        restored++;
        try {
            Repository repo = repository(b);
            Manifest manifest = repo.manifest(b.at("/chain/chainId").asText(), id).orElseThrow(() ->
                    new IllegalStateException("no manifest in the bucket"));
            Optional<TableFingerprints> atBackup = repo.tableFingerprints(manifest);
            if (atBackup.isEmpty()) {
                findings.add("backup " + id + " recorded no table fingerprints: cannot prove it restores its source");
                return;
            }
            if (!CopyRows.METHOD.equals(atBackup.get().method())) {
                findings.add("backup " + id + " recorded fingerprints computed with '" + atBackup.get().method()
                        + "', which this check does not compute");
                return;
            }
            platform.restore(b, db);
            Map<String, TableFingerprints.Table> now = fingerprints(db);
            for (TableFingerprints.Table t : atBackup.get().tables()) {
                TableFingerprints.Table got = now.get(t.qualified());
                if (got == null || got.rows() != t.rows() || !got.hash().equals(t.hash())) {
                    findings.add("FALSELY COMPLETED backup " + id + " of " + b.path("sourceId").asText() + " ("
                            + b.path("type").asText() + "): restored " + t.qualified() + " is " + (got == null ? "missing"
                            : got.rows() + " rows / " + got.hash()) + ", at backup time " + t.rows() + " rows / " + t.hash());
                }
            }
        } catch (Exception | AssertionError e) {
            if (!stillLive(id)) {
                return;
            }
            findings.add("FALSELY COMPLETED backup " + id + " of " + b.path("sourceId").asText() + " ("
                    + b.path("type").asText() + "): restore failed: " + Soak.firstLine(e.getMessage()));
        } finally {
            Databases.dropDatabase(db);
        }
    }

    /**
     * The fingerprints snapshot-worker records ({@link CopyRows#METHOD}), computed the same way on the restored
     * database: the COPY text of the columns pg_dump dumps, under the text settings pg_dump runs with.
     */
    private Map<String, TableFingerprints.Table> fingerprints(String db) throws Exception {
        Map<String, TableFingerprints.Table> out = new TreeMap<>();
        try (Connection c = soak.connect(db)) {
            c.setAutoCommit(false);
            List<String[]> tables = new ArrayList<>();
            try (Statement st = c.createStatement()) {
                st.execute("select set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), "
                        + "set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '3', true), "
                        + "set_config('bytea_output', 'hex', true), set_config('lc_monetary', 'C', true), "
                        + "set_config('search_path', '', true)");
                try (ResultSet rs = st.executeQuery("select n.nspname, c.relname, 'select ' || coalesce((select "
                        + "string_agg(quote_ident(a.attname), ', ' order by a.attnum) from pg_attribute a where "
                        + "a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''), '') "
                        + "|| ' from only ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
                        + "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                        + "where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') "
                        + "and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast%'")) {
                    while (rs.next()) {
                        tables.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
                    }
                }
            }
            for (String[] t : tables) {
                CopyRows rows = new CopyRows();
                c.unwrap(org.postgresql.PGConnection.class).getCopyAPI().copyOut("COPY (" + t[2] + ") TO STDOUT",
                        rows.sink());
                rows.end();
                out.put(t[0] + "." + t[1], new TableFingerprints.Table(t[0], t[1], rows.count(), rows.hash()));
            }
            c.rollback();
        }
        return out;
    }

    private Repository repository(JsonNode b) {
        String key = b.at("/location/objectKey").asText();
        return Repository.open(store(), b.at("/location/bucket").asText(), key.substring(0, key.indexOf("/chains/")),
                platform.masterKey);
    }

    private ObjectStore store() {
        return new S3ObjectStore(platform.s3(), S3Settings.MIN_PART_SIZE);
    }

    /** Bucket and catalog agree: a manifest for each live COMPLETED backup, none else, every chunk present. */
    private void checkBucket() {
        Map<String, JsonNode> byId = new HashMap<>();
        backups.values().forEach(b -> byId.put(b.get("backupId").asText(), b));
        for (String source : soak.sourceIds) {
            Optional<JsonNode> located = backups.values().stream().filter(b -> source.equals(b.path("sourceId").asText())
                    && b.at("/location/objectKey").asText("").contains("/chains/")).findFirst();
            if (located.isEmpty()) {
                findings.add("BUCKET: no backup of " + source + " has a location; nothing to compare");
                continue;
            }
            Repository repo = repository(located.get());
            ObjectStore store = repo.store();
            Set<String> inBucket = new java.util.HashSet<>();
            for (String chain : repo.chains()) {
                for (Manifest m : repo.manifests(chain)) {
                    manifestsChecked++;
                    inBucket.add(m.backupId());
                    JsonNode b = byId.get(m.backupId());
                    boolean lateWork = b == null && m.createdAt() != null && m.createdAt().isAfter(soak.cutoff);
                    if (lateWork) {
                        continue;
                    }
                    if (b == null || !"COMPLETED".equals(b.path("status").asText())) {
                        findings.add("ORPHAN manifest " + chain + "/" + m.backupId() + " of " + source + " (created "
                                + m.createdAt() + "): catalog says " + (b == null ? "nothing" : b.path("status").asText()));
                    }
                    for (Map.Entry<Manifest.ChunkRef, String> chunk : m.distinctChunks().entrySet()) {
                        chunksChecked++;
                        if (store.size(repo.bucket(), repo.layout().chunk(chain, chunk.getKey().id())).isEmpty()) {
                            findings.add("MISSING chunk " + chunk.getKey().id() + " of manifest " + chain + "/"
                                    + m.backupId() + " (" + source + ", catalog " + (b == null ? "nothing"
                                    : b.path("status").asText()) + ")");
                        }
                    }
                }
            }
            for (JsonNode b : liveCompleted()) {
                if (source.equals(b.path("sourceId").asText()) && !inBucket.contains(b.get("backupId").asText())
                        && stillLive(b.get("backupId").asText())) {
                    findings.add("NO MANIFEST for COMPLETED backup " + b.get("backupId").asText() + " of " + source);
                }
            }
        }
    }

    String report() {
        Map<String, Long> outcomes = requests.values().stream().collect(Collectors.groupingBy(q -> {
            JsonNode b = backups.get(q.backupId());
            return b == null ? "UNKNOWN" : b.path("status").asText();
        }, TreeMap::new, Collectors.counting()));
        Map<String, Long> byType = requests.values().stream().collect(Collectors.groupingBy(Request::type,
                TreeMap::new, Collectors.counting()));
        Map<String, Long> drillOutcomes = soak.drills.keySet().stream().collect(Collectors.groupingBy(id ->
                runs.get(id) == null ? "UNKNOWN" : runs.get(id).path("status").asText(), TreeMap::new, Collectors.counting()));
        long lost = findings.stream().filter(f -> f.startsWith("LOST") || f.startsWith("STUCK")).count();
        long falselyCompleted = findings.stream().filter(f -> f.startsWith("FALSELY")).map(f -> f.split(" ")[3])
                .distinct().count();
        StringBuilder r = new StringBuilder();
        r.append("==== Lifeboat soak report ====\n");
        r.append("seed ").append(soak.settings.seed()).append("  replay: ").append(soak.settings.replayLine()).append('\n');
        r.append("window ").append(Duration.between(soak.windowStart, soak.cutoff).toSeconds()).append(" s, drain limit ")
                .append(soak.settings.drain().toSeconds()).append(" s, ").append(soak.rowsWritten.get())
                .append(" rows written to ").append(Soak.SOURCES).append(" sources\n");
        r.append("faults injected: ").append(soak.injected).append('\n');
        soak.faultLog.forEach(f -> r.append("  ").append(f).append('\n'));
        r.append("backups requested in the window: ").append(requests.size()).append(" (on demand ")
                .append(soak.accepted.size()).append(", by type ").append(byType).append(") -> ").append(outcomes).append('\n');
        Map<String, Long> failures = requests.values().stream().map(q -> backups.get(q.backupId()))
                .filter(b -> b != null && "FAILED".equals(b.path("status").asText()))
                .collect(Collectors.groupingBy(b -> b.at("/failure/stage").asText("?") + ": "
                        + Soak.firstLine(b.at("/failure/reason").asText("")).replaceAll("[0-9a-f]{8}-[0-9a-f-]{27}", "<id>")
                        .replaceAll("(.{90}).*", "$1..."), TreeMap::new, Collectors.counting()));
        failures.forEach((reason, n) -> r.append("  FAILED ").append(n).append(" x ").append(reason).append('\n'));
        r.append("drills started: ").append(soak.drills.size()).append(" -> ").append(drillOutcomes).append('\n');
        r.append("requests refused at submission (client told): ").append(soak.refused.size()).append('\n');
        soak.refused.forEach(f -> r.append("  ").append(f).append('\n'));
        r.append("full verifications: ").append(verified).append(", restores compared with backup-time fingerprints: ")
                .append(restored).append(", manifests checked: ").append(manifestsChecked).append(", chunks: ")
                .append(chunksChecked).append(", expired by retention during the checks (not judged): ")
                .append(expiredDuringChecks).append('\n');
        r.append("dead-lettered records of this soak: ").append(deadLetters.size()).append('\n');
        r.append("LOST or STUCK: ").append(lost).append("   FALSELY COMPLETED: ").append(falselyCompleted).append('\n');
        r.append("longest unresolved: ").append(longest.toSeconds()).append(" s (").append(longestItem).append(")\n");
        if (!soak.harnessErrors.isEmpty()) {
            r.append("harness problems (the run is less meaningful):\n");
            soak.harnessErrors.forEach(e -> r.append("  ").append(Soak.firstLine(e)).append('\n'));
        }
        r.append("findings: ").append(findings.size()).append('\n');
        findings.forEach(f -> r.append("  - ").append(f).append('\n'));
        return r.toString();
    }
}
