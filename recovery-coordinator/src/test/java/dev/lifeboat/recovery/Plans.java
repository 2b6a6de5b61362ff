package dev.lifeboat.recovery;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Plan request bodies for tests. */
final class Plans {
    private Plans() {
    }

    static String uniqueId(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Map<String, Object> plan(String id, String rto, List<Map<String, Object>> steps) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("id", id);
        p.put("name", "Orders DR " + id);
        p.put("rto", rto);
        p.put("rpo", "PT24H");
        p.put("steps", new ArrayList<>(steps));
        return p;
    }

    static Map<String, Object> target(String database) {
        return new LinkedHashMap<>(Map.of("host", "127.0.0.1", "port", 55432, "database", database, "user", "restore",
                "passwordRef", "env:RESTORE_DB_PASSWORD"));
    }

    static Map<String, Object> restore(String database) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("kind", "RestoreDatabase");
        s.put("sourceId", RecoveryTestResource.SOURCE);
        s.put("backup", "latest");
        s.put("target", target(database));
        return s;
    }

    static Map<String, Object> verify(boolean checksums) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("kind", "VerifyIntegrity");
        s.put("checksums", checksums);
        s.put("checks", List.of(Map.of("name", "orders-not-empty", "kind", "ROW_COUNT_AT_LEAST",
                "table", "public.orders", "minRows", 1)));
        return s;
    }

    static Map<String, Object> restart(String url, int retries) {
        return new LinkedHashMap<>(Map.of("kind", "RestartServices", "endpoints",
                List.of(Map.of("method", "POST", "url", url, "expectedStatus", 200)), "timeout", "PT2S",
                "retries", retries));
    }

    static Map<String, Object> notify(String url) {
        return new LinkedHashMap<>(Map.of("kind", "NotifyStakeholders", "webhooks", List.of(url)));
    }
}
