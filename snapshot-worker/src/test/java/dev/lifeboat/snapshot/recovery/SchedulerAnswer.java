package dev.lifeboat.snapshot.recovery;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** How the tests' stand-ins for scheduler-service answer a lookup: the JSON they hold, or a 404 problem. */
public final class SchedulerAnswer {
    private SchedulerAnswer() {
    }

    /** {@code body} as 200 JSON; null: 404 {@code application/problem+json}, as scheduler-service answers. */
    public static void send(HttpExchange exchange, String body) throws IOException {
        byte[] bytes = (body == null ? "{\"status\":404,\"title\":\"Not Found\"}" : body)
                .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", body == null ? "application/problem+json"
                : "application/json");
        exchange.sendResponseHeaders(body == null ? 404 : 200, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }
}
