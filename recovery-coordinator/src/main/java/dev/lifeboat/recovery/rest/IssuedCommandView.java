package dev.lifeboat.recovery.rest;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.repository.RunRepository;

/**
 * A command recovery-coordinator sent: {@code command} as last sent (its deadline the latest; absent for a command sent
 * before the coordinator kept what it sent), {@code awaited} while a run (or a late drop) waits for its reply.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record IssuedCommandView(String commandId, String runId, int step, String action, String type,
                                boolean awaited, JsonNode command) {

    static IssuedCommandView of(RunRepository.IssuedCommand c) {
        try {
            JsonNode command = c.payload() == null ? null : Db.json().readTree(c.payload());
            return new IssuedCommandView(c.commandId(), c.runId(), c.step(), c.action(), c.type(), c.awaited(),
                    command);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("command " + c.commandId() + " is unreadable: " + e.getMessage(), e);
        }
    }
}
