package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.domain.RecordOutcome;
import dev.lifeboat.catalog.domain.RecoveryEvent;
import dev.lifeboat.catalog.domain.RecoveryStep;
import dev.lifeboat.catalog.repository.RecoveryEventRepository;
import dev.lifeboat.catalog.repository.RecoveryRepository;
import dev.lifeboat.catalog.repository.RecoveryStepRepository;
import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryStarted;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;
import java.util.List;

/** The write side of recovery and drill history: every lifecycle event is recorded once and folded into its run. */
@ApplicationScoped
public class RecoveryRecorder {
    private final RecoveryEventRepository events;
    private final RecoveryRepository runs;
    private final RecoveryStepRepository steps;

    public RecoveryRecorder(RecoveryEventRepository events, RecoveryRepository runs, RecoveryStepRepository steps) {
        this.events = events;
        this.runs = runs;
        this.steps = steps;
    }

    /** One transaction: event row, run row and step rows change together; an event id seen before changes nothing. */
    @WithTransaction
    @WithSpan("RecoveryRecorder.record")
    public Uni<RecordOutcome> record(RecoveryEvent event) {
        Instant now = Instant.now();
        return events.insertIfAbsent(event, now).chain(inserted -> {
            if (!inserted) {
                return Uni.createFrom().item(RecordOutcome.DUPLICATE);
            }
            return runs.lockOrCreate(event.runId(), now)
                    .chain(run -> {
                        List<RecoveryStep> ended = switch (event.data()) {
                            case RecoveryStarted s -> {
                                run.started(s, now);
                                yield List.of();
                            }
                            case RecoveryFinished f -> run.finished(f, now);
                            default -> throw new IllegalArgumentException("not a recovery event: " + event.type());
                        };
                        return ended.isEmpty() ? Uni.createFrom().voidItem() : steps.persist(ended);
                    })
                    .replaceWith(RecordOutcome.RECORDED);
        });
    }
}
