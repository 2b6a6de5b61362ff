package dev.lifeboat.scheduler;

import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/** {@link RealServers} with a retry window of seconds and a catch-up of missed cron slots every second. */
public class OutageTestServers extends RealServers {
    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        config.put("lifeboat.retry.initial-backoff", "200ms");
        config.put("lifeboat.retry.max-backoff", "1s");
        config.put("lifeboat.retry.window", "3s");
        config.put("lifeboat.schedule.catch-up-interval", "1s");
        config.put("lifeboat.schedule.catch-up-delay", "1s");
        config.put("lifeboat.schedule.catch-up-grace", "0s");
        // its own group: the records it parks are its own, whatever other scheduler tests left on the topic
        config.put("mp.messaging.incoming.backup-results.group.id",
                "scheduler-service-outage-test-" + UUID.randomUUID());
        return config;
    }
}
