package dev.lifeboat.kit.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.lifeboat.kit.retry.Transience;
import jakarta.inject.Inject;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.ConstraintViolationException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.faulttolerance.exceptions.BulkheadException;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/** Every error a Lifeboat HTTP API answers is problem+json with a message a person can act on. */
public class ProblemMappers {
    private static final Logger LOG = Logger.getLogger(ProblemMappers.class);
    private static final int BUSY_RETRY_AFTER_SECONDS = 5;

    @ConfigProperty(name = "quarkus.application.name", defaultValue = "the service")
    String applicationName;

    /** What a 503 tells a client to wait before calling again. */
    @ConfigProperty(name = "lifeboat.http.retry-after", defaultValue = "30s")
    Duration retryAfter;

    @Inject
    Dependencies dependencies;

    @ServerExceptionMapper
    public Response problem(ProblemException e, UriInfo uri) {
        return respond(e.status(), e.title(), e.getMessage(), uri, null);
    }

    @ServerExceptionMapper
    public Response validation(ConstraintViolationException e, UriInfo uri) {
        List<Problem.FieldError> errors = e.getConstraintViolations().stream()
                .map(v -> new Problem.FieldError(field(v), v.getMessage()))
                .sorted(Comparator.comparing(Problem.FieldError::field))
                .toList();
        String detail = errors.stream().map(f -> f.field() + ": " + f.message()).collect(Collectors.joining("; "));
        return respond(400, "Invalid request", detail, uri, errors);
    }

    @ServerExceptionMapper
    public Response unreadable(JsonProcessingException e, UriInfo uri) {
        String detail;
        if (e instanceof InvalidFormatException f) {
            detail = "field '" + path(f) + "' has an invalid value " + f.getValue()
                    + (f.getTargetType() != null && f.getTargetType().isEnum()
                    ? " (allowed: " + java.util.Arrays.toString(f.getTargetType().getEnumConstants()) + ")" : "");
        } else if (e instanceof MismatchedInputException m && !m.getPath().isEmpty()) {
            detail = "field '" + path(m) + "' has the wrong type";
        } else {
            detail = "request body is not valid JSON: " + e.getOriginalMessage();
        }
        return respond(400, "Malformed request body", detail, uri, null);
    }

    /** Jackson's own mapper for this type answers an empty 400; ours names the field and the allowed values. */
    @ServerExceptionMapper(priority = jakarta.ws.rs.Priorities.USER - 100)
    public Response mismatched(MismatchedInputException e, UriInfo uri) {
        return unreadable(e, uri);
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e, UriInfo uri) {
        int status = e.getResponse().getStatus();
        if (e.getCause() instanceof JsonProcessingException j) {
            return unreadable(j, uri);
        }
        return respond(status, e.getResponse().getStatusInfo().getReasonPhrase(), e.getMessage(), uri, null);
    }

    /**
     * An operation limited to a number of concurrent calls (a {@code @Bulkhead}) that is at its limit: 429 with a
     * short Retry-After, since the calls ahead of this one end within their own deadlines. Not 503: the service and
     * everything it depends on are there, and a caller can tell "try again in a moment" from "something is down".
     */
    @ServerExceptionMapper
    public Response busy(BulkheadException e, UriInfo uri) {
        LOG.infof("%s answered 429: as many calls of this operation as allowed are running", uri == null ? ""
                : uri.getPath());
        Response problem = respond(429, "Too Many Requests", applicationName + " is already running as many of "
                + "these operations as it allows at once; retry in a few seconds", uri, null);
        return Response.fromResponse(problem).header("Retry-After", BUSY_RETRY_AFTER_SECONDS).build();
    }

    /**
     * Anything else, checked or not: the reactive clients report a refused or lost connection as a checked
     * exception or a bare Throwable, which would otherwise reach the caller as an opaque 500. A server this service
     * depends on being away (the platform's one definition of transient) is a 503 that names it, with Retry-After.
     */
    @ServerExceptionMapper
    public Response unexpected(Throwable e, UriInfo uri) {
        if (Transience.isTransient(e)) {
            boolean database = dependencies.isDatabase(e);
            String what = database ? applicationName + "'s database" : "a server " + applicationName + " depends on";
            String summary = database ? dependencies.databaseSummary(e) : Dependencies.summary(e);
            LOG.warnf("%s %s answered 503: %s is unavailable: %s", uri == null ? "" : uri.getPath(), applicationName,
                    what, summary);
            Response problem = respond(503, "Service Unavailable", what + " is unavailable (" + summary
                    + "); retry later", uri, null);
            return Response.fromResponse(problem).header("Retry-After", Math.max(1, retryAfter.toSeconds())).build();
        }
        LOG.errorf(e, "unexpected error on %s", uri == null ? "" : uri.getPath());
        return respond(500, "Internal Server Error", "unexpected error: " + e.getClass().getSimpleName()
                + "; the service log has the details", uri, null);
    }

    private static String path(MismatchedInputException e) {
        return e.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining("."));
    }

    private static String field(ConstraintViolation<?> v) {
        // "create.arg0.name" -> "name": the method and parameter part of the path means nothing to a caller
        String p = v.getPropertyPath().toString();
        String[] parts = p.split("\\.");
        return parts.length > 2 ? String.join(".", java.util.Arrays.copyOfRange(parts, 2, parts.length)) : p;
    }

    private static Response respond(int status, String title, String detail, UriInfo uri,
                                    List<Problem.FieldError> errors) {
        Problem p = new Problem("about:blank", title, status, detail, uri == null ? null : uri.getPath(), errors);
        return Response.status(status).type(Problem.MEDIA_TYPE).entity(p).build();
    }
}
