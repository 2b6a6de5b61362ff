package dev.lifeboat.catalog.repository;

import dev.lifeboat.catalog.domain.RecoveryStep;
import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;

@ApplicationScoped
public class RecoveryStepRepository implements PanacheRepositoryBase<RecoveryStep, RecoveryStep.Key> {

    /** The run's steps in plan order. */
    public Uni<List<RecoveryStep>> ofRun(String runId) {
        return list("runId", Sort.by("stepIndex"), runId);
    }
}
