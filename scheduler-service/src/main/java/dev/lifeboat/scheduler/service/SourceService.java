package dev.lifeboat.scheduler.service;

import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.scheduler.domain.Policy;
import dev.lifeboat.scheduler.domain.Source;
import dev.lifeboat.scheduler.rest.SourceRequest;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

@ApplicationScoped
public class SourceService {
    @Inject
    SecretPolicy secrets;

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
    public Uni<Source> create(SourceRequest req, String principal) {
        checkReferences(req);
        String id = req.id() != null ? req.id() : "src-" + UUID.randomUUID().toString().substring(0, 8);
        return Source.<Source>findById(id).chain(existing -> {
            if (existing != null) {
                throw ProblemException.conflict("source '" + id + "' already exists; PUT /api/v1/sources/" + id
                        + " replaces it");
            }
            Source s = new Source();
            s.id = id;
            s.createdAt = Instant.now();
            s.createdBy = principal;
            apply(s, req, principal);
            return s.<Source>persist();
        });
    }

    /** Creates or replaces the source {@code id}: safe to repeat. */
    @WithTransaction
    @WithSpan("SourceService.put")
    public Uni<Source> put(String id, SourceRequest req, String principal) {
        if (req.id() != null && !req.id().equals(id)) {
            throw ProblemException.badRequest("body id '" + req.id() + "' differs from path id '" + id + "'");
        }
        checkReferences(req);
        return Source.<Source>findById(id).chain(existing -> {
            Source s = existing != null ? existing : new Source();
            if (existing == null) {
                s.id = id;
                s.createdAt = Instant.now();
                s.createdBy = principal;
            } else if (!existing.method.equals(req.method() == null ? "logical" : req.method())) {
                // a chain of pg_dump output and a chain of cluster files cannot follow each other
                throw ProblemException.conflict("source '" + id + "' is backed up " + existing.method + "ly; its "
                        + "method cannot change: register the " + (existing.method.equals("logical") ? "cluster"
                        : "database") + " as a new source");
            }
            apply(s, req, principal);
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

    /**
     * The references must point where the workers may resolve them. This service may not see the workers' files,
     * so only the reference itself is checked here; the worker checks the file again before it connects.
     */
    private void checkReferences(SourceRequest req) {
        try {
            secrets.checkReference("passwordRef", req.passwordRef());
            if (req.sslRootCertRef() != null) {
                secrets.checkFileReference("sslRootCertRef", req.sslRootCertRef());
            }
        } catch (SecretPolicy.Refused e) {
            throw ProblemException.badRequest(e.getMessage());
        }
        if (SslMode.parse(req.sslmode()).verifiesServer() && req.sslRootCertRef() == null) {
            throw ProblemException.badRequest("sslmode " + req.sslmode() + " checks the server's certificate: give "
                    + "sslRootCertRef, the file:/path of the CA certificate inside a secret directory");
        }
    }

    private static void apply(Source s, SourceRequest req, String principal) {
        s.name = req.name();
        s.kind = req.kind() == null ? "postgresql" : req.kind();
        s.method = req.method() == null ? "logical" : req.method();
        s.host = req.host();
        s.port = req.port() == null ? 5432 : req.port();
        s.database = req.database();
        s.username = req.username();
        s.passwordRef = req.passwordRef();
        s.sslmode = SslMode.parse(req.sslmode()).value();
        s.sslRootCertRef = req.sslRootCertRef();
        s.updatedAt = Instant.now();
        s.updatedBy = principal;
    }
}
