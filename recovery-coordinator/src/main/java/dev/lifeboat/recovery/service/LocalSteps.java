package dev.lifeboat.recovery.service;

import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.repository.Db;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The steps the coordinator runs itself, over plain HTTP: RestartServices and NotifyStakeholders. */
@ApplicationScoped
public class LocalSteps {
    private static final Logger LOG = Logger.getLogger(LocalSteps.class);

    public record Outcome(boolean ok, String message, Map<String, Object> details) {
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Calls every endpoint in order; each gets 1 + retries attempts to answer its expected status. */
    public Outcome restart(PlanStep.RestartServices step) {
        Duration perCall = Duration.parse(step.timeout());
        List<Map<String, Object>> calls = new ArrayList<>();
        for (PlanStep.Endpoint e : step.endpoints()) {
            String last = null;
            boolean ok = false;
            int attempts = 0;
            while (!ok && attempts <= step.retries()) {
                attempts++;
                try {
                    HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(e.url())).timeout(perCall)
                                    .method(e.method(), HttpRequest.BodyPublishers.noBody()).build(),
                            HttpResponse.BodyHandlers.discarding());
                    ok = r.statusCode() == e.expectedStatus();
                    last = "answered " + r.statusCode();
                } catch (IOException ex) {
                    last = "failed: " + ex;
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    return new Outcome(false, "interrupted", Map.of("calls", calls));
                }
                if (!ok && attempts <= step.retries()) {
                    sleep(Math.min(5000, 200L * attempts));
                }
            }
            Map<String, Object> call = new LinkedHashMap<>();
            call.put("method", e.method());
            call.put("url", e.url());
            call.put("expectedStatus", e.expectedStatus());
            call.put("attempts", attempts);
            call.put("outcome", last);
            calls.add(call);
            if (!ok) {
                return new Outcome(false, e.method() + " " + e.url() + " " + last + " (expected " + e.expectedStatus()
                        + ") after " + attempts + " attempt" + (attempts == 1 ? "" : "s"), Map.of("calls", calls));
            }
        }
        return new Outcome(true, calls.size() + " service endpoint(s) answered as expected", Map.of("calls", calls));
    }

    /** POSTs the summary to every webhook; any non-2xx answer fails the step (naming the webhook). */
    public Outcome notify(List<String> webhooks, Map<String, Object> summary) {
        String body = Db.toJson(summary);
        List<Map<String, Object>> sent = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (String url : webhooks) {
            String outcome;
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.discarding());
                outcome = "answered " + r.statusCode();
                if (r.statusCode() / 100 != 2) {
                    problems.add("webhook " + url + " " + outcome);
                }
            } catch (IOException e) {
                outcome = "failed: " + e;
                problems.add("webhook " + url + " " + outcome);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Outcome(false, "interrupted", Map.of());
            }
            sent.add(Map.of("url", url, "outcome", outcome));
            LOG.debugf("notified %s: %s", url, outcome);
        }
        return problems.isEmpty()
                ? new Outcome(true, "notified " + webhooks.size() + " webhook(s)", Map.of("webhooks", sent))
                : new Outcome(false, String.join("; ", problems), Map.of("webhooks", sent));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
