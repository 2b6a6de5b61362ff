package dev.lifeboat.catalog.domain;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;

import java.time.Instant;

/** One plan step of a finished run, as RecoveryFinished reported it. Written once, with the run's final status. */
@Entity
@Table(name = "recovery_step")
@IdClass(RecoveryStep.Key.class)
public class RecoveryStep {
    @Id
    public String runId;
    /** The step's position in the plan (RecoveryFinished.StepOutcome.index). */
    @Id
    public Integer stepIndex;
    public String kind;
    public String status;
    public Instant startedAt;
    public Instant finishedAt;
    public Long durationMillis;
    public String message;

    public record Key(String runId, Integer stepIndex) implements java.io.Serializable {
        public Key() {
            this(null, null);
        }
    }
}
