package dev.lifeboat.scheduler.service;

import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.scheduler.domain.Policy;
import dev.lifeboat.scheduler.domain.Source;
import dev.lifeboat.scheduler.rest.SourceRequest;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

@ApplicationScoped
public class SourceService {

    @WithSession
    public Uni<List<Source>> list() {
        return Source.listAll(io.quarkus.panache.common.Sort.by("id"));
    }

    @WithSession
    public Uni<Source> get(String id) {
        return Source.<Source>findById(id).onItem().ifNull().failWith(() -> ProblemException.notFound("source", id));
    }

    /** Creates a source; 409 when the id is taken. */
    @WithTransaction
    @WithSpan("SourceService.create")
    public Uni<Source> create(SourceRequest req) {
        String id = req.id() != null ? req.id() : "src-" + UUID.randomUUID().toString().substring(0, 8);
        return Source.<Source>findById(id).chain(existing -> {
            if (existing != null) {
                throw ProblemException.conflict("source '" + id + "' already exists; PUT /api/v1/sources/" + id
                        + " replaces it");
            }
            Source s = new Source();
            s.id = id;
            s.createdAt = Instant.now();
            apply(s, req);
            return s.<Source>persist();
        });
    }

    /** Creates or replaces the source {@code id}: safe to repeat. */
    @WithTransaction
    @WithSpan("SourceService.put")
    public Uni<Source> put(String id, SourceRequest req) {
        if (req.id() != null && !req.id().equals(id)) {
            throw ProblemException.badRequest("body id '" + req.id() + "' differs from path id '" + id + "'");
        }
        return Source.<Source>findById(id).chain(existing -> {
            Source s = existing != null ? existing : new Source();
            if (existing == null) {
                s.id = id;
                s.createdAt = Instant.now();
            }
            apply(s, req);
            return s.<Source>persist();
        });
    }

    @WithTransaction
    public Uni<Void> delete(String id) {
        return get(id).chain(s -> Policy.count("sourceId", id).chain(n -> {
            if (n > 0) {
                throw ProblemException.conflict("source '" + id + "' still has " + n + " polic"
                        + (n == 1 ? "y" : "ies") + "; delete them first");
            }
            return s.delete();
        }));
    }

    private static void apply(Source s, SourceRequest req) {
        s.name = req.name();
        s.kind = req.kind() == null ? "postgresql" : req.kind();
        s.host = req.host();
        s.port = req.port() == null ? 5432 : req.port();
        s.database = req.database();
        s.username = req.username();
        s.passwordRef = req.passwordRef();
        s.updatedAt = Instant.now();
    }
}
