package dev.lifeboat.storage;

import java.util.HashMap;
import java.util.Map;

/** {@link StorageWorkerTestResource} with a retry window longer than the outage a test stages. */
public class LongOutageTestResource extends StorageWorkerTestResource {
    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        config.put("lifeboat.retry.window", "5m");
        config.put("lifeboat.retry.max-backoff", "5s");
        return config;
    }
}
