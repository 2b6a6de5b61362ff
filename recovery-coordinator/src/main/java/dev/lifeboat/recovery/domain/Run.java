package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.contracts.recovery.RunMode;

import java.time.Instant;
import java.util.List;

/** The saga state of one run, as locked and written back by the engine in one transaction. */
public class Run {
    public enum Phase { FORWARD, CLEANUP, COMPENSATE, DONE }

    /** The command (type set) or coordinator-local action the run waits on; its payload is the command's JSON. */
    public record Pending(String commandId, String type, int step, String action, String payload) {
    }

    public String id;
    public String planId;
    public PlanSpec plan;
    public RunMode mode;
    public String trigger;
    public RunStatus status;
    public Phase phase;
    public int actionIndex;
    public List<SagaTable.Action> compensations;
    public int compIndex;
    public Pending pending;
    public Instant deadline;
    public String traceparent;
    public ObjectNode data;
    public String reason;
    public Instant startedAt;
    public Instant forwardFinishedAt;
    public Instant finishedAt;

    /** The backup a restore step's PrepareRestore chose. */
    public BackupLocation backup(int restoreStep) {
        JsonNode b = data.path("backups").get(String.valueOf(restoreStep));
        if (b == null || b.isNull()) {
            throw new IllegalStateException("step " + restoreStep + " has no prepared backup");
        }
        return EventCodec.mapper().convertValue(b, BackupLocation.class);
    }

    /** A recovery started to replace existing databases (never a drill). */
    public boolean replaceExisting() {
        return data.path("replaceExisting").asBoolean(false);
    }
}
