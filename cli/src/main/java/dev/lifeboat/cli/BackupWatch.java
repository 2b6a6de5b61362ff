package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.cli.Settings.Service;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Follows one backup to its end: catalog-service's progress stream ({@code GET /api/v1/backups/{id}/progress},
 * server-sent events {@code progress}, then {@code done} or {@code error}) when it offers one, else polling
 * {@code GET /api/v1/backups/{id}} every second. Shows phase, bytes, percent, rate and ETA on standard error: one
 * updating line on a terminal, a line per change otherwise.
 */
final class BackupWatch {
    static final Set<String> FINAL = Set.of("COMPLETED", "FAILED", "DELETED");

    private final Api api;
    private final Output out;
    private final String backupId;
    private final Instant deadline;
    private String lastLine = "";
    private long lastBytes = -1;
    private Instant lastBytesAt;
    private double rate;

    BackupWatch(Api api, Output out, String backupId, Duration timeout) {
        this.api = api;
        this.out = out;
        this.backupId = backupId;
        this.deadline = Instant.now().plus(timeout);
    }

    /** The backup's final catalog entry; a {@link CliException} (exit 5) when the deadline passes first. */
    JsonNode await() {
        JsonNode done = stream();
        if (done == null) {
            done = poll();
        }
        endLine();
        return done;
    }

    /** The final entry from the event stream; null when there is no stream or it ended before the backup did. */
    private JsonNode stream() {
        HttpResponse<Stream<String>> r;
        try {
            r = api.openEvents(Service.CATALOG, "/api/v1/backups/" + backupId + "/progress");
        } catch (CliException e) {
            if (e.exitCode() == ExitCodes.AUTH) {
                throw e;
            }
            return null;
        }
        if (r == null) {
            return null;
        }
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(t -> {
            Thread th = new Thread(t, "lifeboat-deadline");
            th.setDaemon(true);
            return th;
        });
        try (Stream<String> lines = r.body()) {
            timer.schedule(lines::close, Math.max(1, Duration.between(Instant.now(), deadline).toMillis()),
                    TimeUnit.MILLISECONDS);
            String event = "message";
            StringBuilder data = new StringBuilder();
            Iterator<String> it = lines.iterator();
            while (it.hasNext()) {
                String line = it.next();
                if (line.isEmpty()) {
                    JsonNode result = dispatch(event, data.toString());
                    if (result != null) {
                        return result.isNull() ? null : result;
                    }
                    event = "message";
                    data.setLength(0);
                } else if (line.startsWith("event:")) {
                    event = line.substring(6).strip();
                } else if (line.startsWith("data:")) {
                    if (!data.isEmpty()) {
                        data.append('\n');
                    }
                    data.append(line.substring(5).stripLeading());
                }
                // comments (":") and other fields are ignored
            }
        } catch (UncheckedIOException | IllegalStateException e) {
            // the stream broke or the deadline closed it: polling decides
        } finally {
            timer.shutdownNow();
        }
        if (Instant.now().isAfter(deadline)) {
            throw timeout();
        }
        return null;
    }

    /** Null to read on; a NullNode to stop streaming and poll; the final entry when the backup ended. */
    private JsonNode dispatch(String event, String data) {
        JsonNode n;
        try {
            n = data.isEmpty() ? Api.JSON.nullNode() : Api.JSON.readTree(data);
        } catch (IOException e) {
            return null;
        }
        switch (event) {
            case "progress" -> {
                show(n.path("status").asText("RUNNING"), n.path("phase").asText(null), longOrNull(n, "bytesDone"),
                        longOrNull(n, "bytesTotal"), n.path("percent").isNumber() ? n.get("percent").asDouble() : null,
                        n.path("rateBytesPerSecond").isNumber() ? n.get("rateBytesPerSecond").asDouble() : null,
                        longOrNull(n, "etaSeconds"));
                return null;
            }
            case "done" -> {
                return n.isObject() && n.hasNonNull("status") && FINAL.contains(n.get("status").asText())
                        ? n : Api.JSON.nullNode();
            }
            case "error" -> {
                return Api.JSON.nullNode();
            }
            default -> {
                return null;
            }
        }
    }

    private JsonNode poll() {
        while (true) {
            Api.Response r = api.send(Service.CATALOG, "GET", api.uri(Service.CATALOG, "/api/v1/backups/" + backupId,
                    null), null);
            if (r.status() == 200) {
                JsonNode b = r.json();
                String status = b.path("status").asText("REQUESTED");
                if (FINAL.contains(status)) {
                    return b;
                }
                Long done = longOrNull(b.path("progress"), "bytesDone");
                Double percent = b.path("progress").path("percent").isNumber()
                        ? b.path("progress").get("percent").asDouble() : null;
                Long total = done != null && percent != null && percent > 0 ? Math.round(done * 100 / percent) : null;
                Long eta = total != null && rate > 0 ? Math.round((total - done) / rate) : null;
                show(status, b.path("progress").path("phase").asText(null), done, total, percent, null, eta);
            } else if (r.status() != 404) {
                // 404: the catalog has not seen the request's first event yet
                api.checked(Service.CATALOG, r);
            } else {
                show("REQUESTED", null, null, null, null, null, null);
            }
            if (Instant.now().isAfter(deadline)) {
                throw timeout();
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException(ExitCodes.FAILED, "interrupted");
            }
        }
    }

    private CliException timeout() {
        endLine();
        return new CliException(ExitCodes.UNREACHABLE, "backup " + backupId + " had not ended by the deadline "
                + "(--wait-timeout); it goes on: lifeboat backup show " + backupId);
    }

    private void show(String status, String phase, Long bytesDone, Long bytesTotal, Double percent, Double rateGiven,
                      Long eta) {
        if (rateGiven != null) {
            rate = rateGiven;
        } else if (bytesDone != null) {
            Instant now = Instant.now();
            if (lastBytes >= 0 && bytesDone > lastBytes) {
                double seconds = Duration.between(lastBytesAt, now).toMillis() / 1000.0;
                if (seconds > 0) {
                    double r = (bytesDone - lastBytes) / seconds;
                    rate = rate == 0 ? r : 0.7 * rate + 0.3 * r;
                }
            }
            if (bytesDone != lastBytes) {
                lastBytes = bytesDone;
                lastBytesAt = now;
            }
        }
        String line = progressLine(status, phase, bytesDone, bytesTotal, percent, rate > 0 ? rate : null, eta);
        if (line.equals(lastLine)) {
            return;
        }
        lastLine = line;
        if (out.errTty) {
            out.err.print("\r\033[K" + line);
        } else {
            out.err.println(line);
        }
        out.err.flush();
    }

    private void endLine() {
        if (out.errTty && !lastLine.isEmpty()) {
            out.err.println();
            out.err.flush();
            lastLine = "";
        }
    }

    /** "RUNNING dump  12.0 MiB / 48.0 MiB  25%  [#####---------------]  4.0 MiB/s  ETA 9s". */
    static String progressLine(String status, String phase, Long bytesDone, Long bytesTotal, Double percent,
                               Double rate, Long eta) {
        StringBuilder sb = new StringBuilder(status == null ? "RUNNING" : status);
        if (phase != null && !phase.isBlank()) {
            sb.append(' ').append(phase);
        }
        if (bytesDone != null) {
            sb.append("  ").append(Output.bytes(bytesDone));
            if (bytesTotal != null && bytesTotal > 0) {
                sb.append(" / ").append(Output.bytes(bytesTotal));
            }
        }
        if (percent != null) {
            double p = Math.max(0, Math.min(100, percent));
            int filled = (int) Math.round(p / 5);
            sb.append(String.format(Locale.ROOT, "  %3.0f%%  [", p)).append("#".repeat(filled))
                    .append("-".repeat(20 - filled)).append(']');
        }
        if (rate != null && rate > 0) {
            sb.append("  ").append(Output.bytes(Math.round(rate))).append("/s");
        }
        if (eta != null && eta >= 0) {
            sb.append("  ETA ").append(Output.age(eta));
        }
        return sb.toString();
    }

    private static Long longOrNull(JsonNode n, String field) {
        return n.path(field).isNumber() ? n.get(field).asLong() : null;
    }
}
