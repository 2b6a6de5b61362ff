package dev.lifeboat.recovery.service;

import dev.lifeboat.recovery.domain.ActionResult;
import dev.lifeboat.recovery.domain.ActionResult.Call;
import dev.lifeboat.recovery.domain.ActionResult.Outcome;
import dev.lifeboat.recovery.domain.ActionResult.Sent;
import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.domain.RunSummary;
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
import java.util.List;
import java.util.Optional;

/**
 * The steps the coordinator runs itself, over plain HTTP: RestartServices and NotifyStakeholders. Every URL passes
 * the URL policy right before its call; redirects are never followed (a 3xx fails the call); what a run keeps of an
 * answer is its status code and a short reason, never its body.
 */
@ApplicationScoped
public class LocalSteps {
    private static final Logger LOG = Logger.getLogger(LocalSteps.class);

    private final HttpClient http;
    private final UrlPolicy urls;
    private final Duration notifyTimeout;

    public LocalSteps(UrlPolicy urls, dev.lifeboat.recovery.config.CoordinatorConfig config) {
        this.urls = urls;
        this.notifyTimeout = config.notifyTimeout();
        this.http = HttpClient.newBuilder().connectTimeout(config.webhookConnectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Calls every endpoint in order; each gets 1 + retries attempts to answer its expected status. */
    public Outcome restart(PlanStep.RestartServices step) {
        Duration perCall = Duration.parse(step.timeout());
        List<Call> calls = new ArrayList<>();
        for (PlanStep.Endpoint e : step.endpoints()) {
            String last = null;
            boolean ok = false;
            int attempts = 0;
            Optional<String> refused = urls.problem(e.url());
            if (refused.isPresent()) {
                last = "refused: " + refused.get();
                attempts = step.retries() + 1;
            }
            while (!ok && refused.isEmpty() && attempts <= step.retries()) {
                attempts++;
                try {
                    HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(e.url())).timeout(perCall)
                                    .method(e.method(), HttpRequest.BodyPublishers.noBody()).build(),
                            HttpResponse.BodyHandlers.discarding());
                    ok = r.statusCode() == e.expectedStatus();
                    last = answered(r);
                } catch (IOException ex) {
                    last = "failed: " + reason(ex);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    return new Outcome(false, "interrupted", new ActionResult.Restarted(calls));
                }
                if (!ok && attempts <= step.retries()) {
                    sleep(Math.min(5000, 200L * attempts));
                }
            }
            calls.add(new Call(e.method(), e.url(), e.expectedStatus(), refused.isPresent() ? 0 : attempts, last));
            if (!ok) {
                return new Outcome(false, e.method() + " " + e.url() + " " + last + (refused.isPresent() ? ""
                        : " (expected " + e.expectedStatus() + ") after " + attempts + " attempt"
                        + (attempts == 1 ? "" : "s")), new ActionResult.Restarted(calls));
            }
        }
        return new Outcome(true, calls.size() + " service endpoint(s) answered as expected",
                new ActionResult.Restarted(calls));
    }

    /** POSTs the summary to every webhook; any non-2xx answer fails the step (naming the webhook). */
    public Outcome notify(List<String> webhooks, RunSummary summary) {
        String body = Db.toJson(summary);
        List<Sent> sent = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (String url : webhooks) {
            String outcome;
            Optional<String> refused = urls.problem(url);
            if (refused.isPresent()) {
                outcome = "refused: " + refused.get();
                problems.add("webhook " + url + " " + outcome);
                sent.add(new Sent(url, outcome));
                continue;
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(notifyTimeout)
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.discarding());
                outcome = answered(r);
                if (r.statusCode() / 100 != 2) {
                    problems.add("webhook " + url + " " + outcome);
                }
            } catch (IOException e) {
                outcome = "failed: " + reason(e);
                problems.add("webhook " + url + " " + outcome);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Outcome(false, "interrupted", new ActionResult.Notified(null));
            }
            sent.add(new Sent(url, outcome));
            LOG.debugf("notified %s: %s", url, outcome);
        }
        return problems.isEmpty()
                ? new Outcome(true, "notified " + webhooks.size() + " webhook(s)", new ActionResult.Notified(sent))
                : new Outcome(false, String.join("; ", problems), new ActionResult.Notified(sent));
    }

    /** The status, and for a redirect that it was not followed (the Location is not repeated: it is the body's kin). */
    private static String answered(HttpResponse<?> r) {
        return "answered " + r.statusCode() + (r.statusCode() / 100 == 3 ? " (a redirect; redirects are not followed)"
                : "");
    }

    /** A short reason: the exception's kind and its first line, at most 200 characters. */
    private static String reason(Exception e) {
        String m = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
        String r = e.getClass().getSimpleName() + (m.isEmpty() ? "" : ": " + m);
        return r.length() > 200 ? r.substring(0, 200) + "..." : r;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
