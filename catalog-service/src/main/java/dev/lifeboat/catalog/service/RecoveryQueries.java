package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.domain.Recovery;
import dev.lifeboat.catalog.domain.RecoveryQuery;
import dev.lifeboat.catalog.domain.RecoveryStep;
import dev.lifeboat.catalog.repository.RecoveryRepository;
import dev.lifeboat.catalog.repository.RecoveryStepRepository;
import dev.lifeboat.kit.rest.ProblemException;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;

/** The read side of recovery and drill history. */
@ApplicationScoped
public class RecoveryQueries {
    private final RecoveryRepository runs;
    private final RecoveryStepRepository steps;

    public RecoveryQueries(RecoveryRepository runs, RecoveryStepRepository steps) {
        this.runs = runs;
        this.steps = steps;
    }

    /** One page, and whether there are more rows after it (one more than the page was read to know). */
    public record RecoveryPage(List<Recovery> items, boolean more) {
    }

    public record RecoveryDetail(Recovery run, List<RecoveryStep> steps) {
    }

    @WithSession
    @WithSpan("RecoveryQueries.list")
    public Uni<RecoveryPage> list(RecoveryQuery query) {
        return runs.page(query, query.size() + 1).map(rows -> rows.size() > query.size()
                ? new RecoveryPage(rows.subList(0, query.size()), true) : new RecoveryPage(rows, false));
    }

    @WithSession
    @WithSpan("RecoveryQueries.get")
    public Uni<RecoveryDetail> get(String runId) {
        return runs.findById(runId)
                .onItem().ifNull().failWith(() -> ProblemException.notFound("recovery run", runId))
                .chain(run -> steps.ofRun(runId).map(list -> new RecoveryDetail(run, list)));
    }
}
