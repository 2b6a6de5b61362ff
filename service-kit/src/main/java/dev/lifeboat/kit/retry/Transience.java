package dev.lifeboat.kit.retry;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.repository.blob.ObjectNotFoundException;
import dev.lifeboat.repository.content.ChunkIntegrityException;
import dev.lifeboat.repository.keys.WrongKeyException;
import dev.lifeboat.repository.snapshot.CorruptChunkException;
import dev.lifeboat.repository.snapshot.StoreUnreadableException;
import jakarta.ws.rs.WebApplicationException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.RetriableException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkServiceException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * The platform's one definition of a transient failure: a server the work depends on is away or overloaded now,
 * and the same work done later will pass. Everything else (an invalid record, a 4xx answer, a failed
 * authentication, a bug) is permanent and is never retried.
 *
 * <p>Transient: the platform's database unreachable or shutting down (SQLState classes 08, 53, 57P0x, a
 * serialization failure or deadlock, a pool that cannot hand out a connection); the object store answering 5xx,
 * 429 or throttling, timing out or refusing connections; Kafka timing out or answering a retriable error; an HTTP
 * service refusing connections, timing out or answering 5xx. A permanent failure anywhere on the cause chain decides,
 * so an authentication failure wrapped in an I/O error stays permanent.
 */
public final class Transience {
    private static final Set<Integer> TRANSIENT_HTTP = Set.of(408, 429, 500, 502, 503, 504);

    private Transience() {
    }

    /** {@link #isTransient} for annotations: {@code @RetryWhen(exception = Transience.IsTransient.class)}. */
    public static final class IsTransient implements java.util.function.Predicate<Throwable> {
        @Override
        public boolean test(Throwable error) {
            return isTransient(error);
        }
    }

    public static boolean isTransient(Throwable error) {
        boolean transientSoFar = false;
        int depth = 0;
        for (Throwable t = error; t != null && depth < 32; t = t.getCause() == t ? null : t.getCause(), depth++) {
            Decision d = decide(t);
            if (d == Decision.PERMANENT) {
                return false;
            }
            if (d == Decision.TRANSIENT) {
                transientSoFar = true;
            }
        }
        return transientSoFar;
    }

    /**
     * Whether a server the work depends on refused this service (Kafka's authentication or authorization, the object
     * store's 401 or 403, an HTTP service's 401 or 403, PostgreSQL's failed login or missing privilege, anywhere on
     * the cause chain): permanent, but about the service's credentials or grants, not about the record it was
     * working on, which stays valid: the workers park it with the reason, for a replay once the grant is fixed.
     */
    public static boolean isRefusal(Throwable error) {
        int depth = 0;
        for (Throwable t = error; t != null && depth < 32; t = t.getCause() == t ? null : t.getCause(), depth++) {
            if (refusal(t)) {
                return true;
            }
        }
        return false;
    }

    private static boolean refusal(Throwable t) {
        if (t instanceof AuthenticationException || t instanceof AuthorizationException) {
            return true;
        }
        if (t instanceof SdkServiceException s) {
            return s.statusCode() == 401 || s.statusCode() == 403;
        }
        if (t instanceof WebApplicationException w) {
            return w.getResponse().getStatus() == 401 || w.getResponse().getStatus() == 403;
        }
        String state = t instanceof SQLException sql ? sql.getSQLState() : reactiveSqlState(t);
        return state != null && (state.startsWith("28") || state.equals("42501"));
    }

    private enum Decision { TRANSIENT, PERMANENT, UNDECIDED }

    private static Decision decide(Throwable t) {
        // invalid or damaged data, wherever it was read from, stays invalid: a JSON error is an IOException too
        if (t instanceof ObjectNotFoundException || t instanceof InvalidEventException
                || t instanceof JsonProcessingException || t instanceof ChunkIntegrityException
                || t instanceof CorruptChunkException || t instanceof WrongKeyException) {
            return Decision.PERMANENT;
        }
        if (t instanceof TransientFailure || t instanceof StoreUnreadableException) {
            // the object store could not be read now (after its own retries), or the work is held elsewhere
            return Decision.TRANSIENT;
        }
        if (t instanceof SdkServiceException s) {
            return s.isThrottlingException() || TRANSIENT_HTTP.contains(s.statusCode()) ? Decision.TRANSIENT
                    : Decision.PERMANENT;
        }
        if (t instanceof SdkClientException) {
            // no answer from the object store at all: refused, reset, timed out
            return Decision.TRANSIENT;
        }
        if (t instanceof AuthenticationException || t instanceof AuthorizationException) {
            return Decision.PERMANENT;
        }
        if (t instanceof RetriableException || t instanceof org.apache.kafka.common.errors.TimeoutException) {
            return Decision.TRANSIENT;
        }
        if (t instanceof WebApplicationException w) {
            return TRANSIENT_HTTP.contains(w.getResponse().getStatus()) ? Decision.TRANSIENT : Decision.PERMANENT;
        }
        if (t instanceof SQLException sql) {
            return sqlState(sql.getSQLState(), sql.getMessage(), t instanceof SQLTransientException);
        }
        String reactiveSqlState = reactiveSqlState(t);
        if (reactiveSqlState != null) {
            return sqlState(reactiveSqlState, t.getMessage(), false);
        }
        if (t instanceof ConnectException || t instanceof SocketTimeoutException || t instanceof TimeoutException
                || t instanceof IOException || t instanceof UncheckedIOException) {
            return Decision.TRANSIENT;
        }
        String name = t.getClass().getName();
        // Vert.x clients (reactive PostgreSQL, HTTP) report a lost or refused connection with their own types
        if (name.endsWith("ClosedConnectionException") || name.endsWith("NoStackTraceTimeoutException")
                || name.endsWith("ConnectTimeoutException")
                || name.equals("org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException")) {
            return Decision.TRANSIENT;
        }
        if (name.endsWith("NoStackTraceThrowable") && t.getMessage() != null
                && (t.getMessage().contains("Timeout") || t.getMessage().contains("Connection"))) {
            return Decision.TRANSIENT;
        }
        return Decision.UNDECIDED;
    }

    private static Decision sqlState(String state, String message, boolean declaredTransient) {
        if (state == null) {
            // Agroal reports a pool that could not open a connection in time without a state
            boolean pool = message != null && message.toLowerCase(java.util.Locale.ROOT).contains("acquisition timeout");
            return declaredTransient || pool ? Decision.TRANSIENT : Decision.UNDECIDED;
        }
        if (state.startsWith("28")) {
            return Decision.PERMANENT;
        }
        if (state.startsWith("08") || state.startsWith("53") || state.startsWith("57P") || state.equals("40001")
                || state.equals("40P01")) {
            return Decision.TRANSIENT;
        }
        return declaredTransient ? Decision.TRANSIENT : Decision.PERMANENT;
    }

    /** The SQLState of a Vert.x reactive PostgreSQL error (io.vertx.pgclient.PgException), without linking to it. */
    private static String reactiveSqlState(Throwable t) {
        if (!t.getClass().getName().equals("io.vertx.pgclient.PgException")) {
            return null;
        }
        try {
            Object state = t.getClass().getMethod("getSqlState").invoke(t);
            return state == null ? null : state.toString();
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }
}
