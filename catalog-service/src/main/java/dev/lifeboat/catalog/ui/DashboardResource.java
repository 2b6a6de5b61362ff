package dev.lifeboat.catalog.ui;

import dev.lifeboat.catalog.client.PlatformActions;
import dev.lifeboat.catalog.domain.BackupQuery;
import dev.lifeboat.catalog.domain.BackupStatus;
import dev.lifeboat.catalog.domain.RecoveryQuery;
import dev.lifeboat.catalog.domain.RecoveryWindow;
import dev.lifeboat.catalog.rest.BackupPageView;
import dev.lifeboat.catalog.rest.BackupQueryParams;
import dev.lifeboat.catalog.rest.BackupResource;
import dev.lifeboat.catalog.rest.BackupView;
import dev.lifeboat.catalog.rest.RecoveryPageView;
import dev.lifeboat.catalog.rest.RecoveryResource;
import dev.lifeboat.catalog.rest.RecoveryView;
import dev.lifeboat.catalog.service.BackupProgressStream;
import dev.lifeboat.catalog.service.BackupQueries;
import dev.lifeboat.catalog.service.FleetQueries;
import dev.lifeboat.catalog.service.RecoveryQueries;
import dev.lifeboat.catalog.service.RecoveryWindowQueries;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.rest.ProblemException;
import io.quarkus.qute.TemplateInstance;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.ForbiddenException;
import io.quarkus.security.UnauthorizedException;
import io.quarkus.security.identity.SecurityIdentity;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.validation.constraints.Pattern;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.FormParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The web dashboard: pages rendered from the catalog's own queries (the fleet in one query, a source's history, a
 * backup, the recovery and drill runs), and the two actions an operator may take from it, relayed to the service that
 * owns them with the signed-in person's own token. Not part of the OpenAPI document (these are pages, not an API);
 * DashboardTest walks every route of it instead (everyDashboardRouteNeedsASessionAndOneOfTheRolesItNames).
 */
@Path("/ui")
@Produces(MediaType.TEXT_HTML)
public class DashboardResource {
    private static final Logger LOG = Logger.getLogger(DashboardResource.class);
    private static final int HISTORY_SIZE = 200;
    private static final int RUNS_SIZE = 50;
    private static final java.util.regex.Pattern TRACE_ID = java.util.regex.Pattern.compile("^[0-9a-f]{32}$");

    private final FleetQueries fleet;
    private final BackupQueries backups;
    private final RecoveryQueries recoveries;
    private final RecoveryWindowQueries windows;
    private final SecurityIdentity identity;
    private final PlatformActions.Scheduler scheduler;
    private final PlatformActions.Coordinator coordinator;
    private final DashboardConfig config;
    private final DashboardSessions sessions;
    private final BackupProgressStream progress;

    public DashboardResource(FleetQueries fleet, BackupQueries backups, RecoveryQueries recoveries,
                             RecoveryWindowQueries windows, SecurityIdentity identity,
                             @RestClient PlatformActions.Scheduler scheduler,
                             @RestClient PlatformActions.Coordinator coordinator, DashboardConfig config,
                             BackupProgressStream progress, DashboardSessions sessions) {
        this.fleet = fleet;
        this.backups = backups;
        this.recoveries = recoveries;
        this.windows = windows;
        this.identity = identity;
        this.scheduler = scheduler;
        this.coordinator = coordinator;
        this.config = config;
        this.sessions = sessions;
        this.progress = progress;
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Operation(hidden = true)
    public Uni<TemplateInstance> fleet(@QueryParam("cursor") String cursor) {
        String after = FleetQueries.cursorSourceId(cursor);
        return fleet.page(after, FleetQueries.DEFAULT_SIZE).map(f -> Pages.fleet(who(), f, after != null));
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("sources/{id}")
    @Operation(hidden = true)
    public Uni<TemplateInstance> source(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE)
                                        String sourceId, @QueryParam("status") String status,
                                        @QueryParam("type") String type, @QueryParam("cursor") String cursor) {
        BackupStatus st = oneOf(BackupStatus.class, status);
        BackupType ty = oneOf(BackupType.class, type);
        Pages.Filters filters = new Pages.Filters(st == null ? "" : st.name(), ty == null ? "" : ty.name(),
                names(BackupStatus.values()), names(BackupType.values()));
        BackupQuery query = BackupQueryParams.parse(sourceId, st == null ? null : st.name(),
                ty == null ? null : ty.name(), null, null, null, cursor, String.valueOf(HISTORY_SIZE));
        return backups.list(query)
                .chain(page -> windows.window(sourceId)
                        .onFailure(ProblemException.class).recoverWithNull()
                        .map(window -> {
                            List<BackupView> views = page.items().stream().map(BackupView::of).toList();
                            List<BackupView> done = views.stream().filter(b -> b.completedAt() != null).toList();
                            Plot sizes = Plot.of("Size", done.stream().filter(b -> b.sizeBytes() != null)
                                    .map(b -> new Plot.Sample(b.completedAt(), b.sizeBytes())).toList(), Formats::bytes);
                            Plot durations = Plot.of("Duration", done.stream().filter(b -> b.durationMs() != null)
                                    .map(b -> new Plot.Sample(b.completedAt(), b.durationMs())).toList(),
                                    ms -> Formats.millis(ms));
                            RecoveryWindow shown = window != null && (window.continuous()
                                    || RecoveryWindow.PHYSICAL.equals(window.method())) ? window : null;
                            return Pages.source(who(), sourceId, filters, views, query.after() != null,
                                    BackupPageView.of(query, page).nextCursor(), sizes, durations, shown);
                        }));
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("backups/{id}")
    @Operation(hidden = true)
    public Uni<TemplateInstance> backup(@PathParam("id") @Pattern(regexp = Ids.UUID_PATTERN,
            message = Ids.UUID_MESSAGE) String id) {
        return backups.history(id).map(BackupView::of)
                .map(b -> Pages.backup(who(), b, b.status() != null && !b.status().isFinal()));
    }

    /**
     * A backup's live progress for its page: the stream of {@code GET /api/v1/backups/{id}/progress}, here because
     * the session cookie is sent to /ui paths only (so the API never takes it).
     */
    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("backups/{id}/progress")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @Blocking
    @Operation(hidden = true)
    public Multi<OutboundSseEvent> progress(@PathParam("id") @Pattern(regexp = Ids.UUID_PATTERN,
            message = Ids.UUID_MESSAGE) String id, @Context Sse sse) {
        return BackupResource.events(progress, id, sse);
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("runs")
    @Operation(hidden = true)
    public Uni<TemplateInstance> runs(@QueryParam("cursor") String cursor) {
        RecoveryQuery query = RecoveryResource.parse(null, null, null, null, null, cursor, String.valueOf(RUNS_SIZE));
        Uni<RecoveryPageView> runs = recoveries.list(query).map(page -> RecoveryPageView.of(query, page));
        return runs.chain(list -> coordinator.plans(bearer())
                .map(plans -> Pages.runs(who(), list, query.after() != null, plans, null))
                .onFailure().recoverWithItem(t -> {
                    LOG.warnf("recovery-coordinator did not list the plans: %s", t.toString());
                    return Pages.runs(who(), list, query.after() != null, List.of(), "recovery-coordinator did not list the plans ("
                            + reason(t) + "); the runs below come from the catalog");
                }));
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("runs/{id}")
    @Operation(hidden = true)
    public Uni<TemplateInstance> run(@PathParam("id") @Pattern(regexp = Ids.UUID_PATTERN,
            message = Ids.UUID_MESSAGE) String id) {
        return recoveries.get(id).map(RecoveryView::of).chain(run -> traceUrl(id)
                .map(trace -> Pages.run(who(), run, bars(run), trace)));
    }

    @RolesAllowed({Roles.OPERATOR, Roles.ADMIN})
    @POST
    @Path("sources/{id}/backups")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Uni<TemplateInstance> requestBackup(@PathParam("id") @Pattern(regexp = Ids.NAME,
            message = Ids.NAME_MESSAGE) String sourceId, @FormParam("type") String type) {
        BackupType t = oneOf(BackupType.class, type);
        return scheduler.requestBackup(bearer(), new PlatformActions.BackupOrder(sourceId,
                        (t == null ? BackupType.FULL : t).name()))
                .map(a -> Pages.actionResult(true, (a.type() == null ? "" : a.type() + " ") + "backup of "
                        + sourceId + " requested by " + a.requestedBy(), "/ui/backups/" + Formats.segment(a.backupId()),
                        a.backupId()))
                .onFailure().recoverWithItem(e -> Pages.actionResult(false,
                        "scheduler-service did not accept the backup request: " + reason(e), null, null));
    }

    @RolesAllowed({Roles.OPERATOR, Roles.ADMIN})
    @POST
    @Path("plans/{id}/runs")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Uni<TemplateInstance> startDrill(@PathParam("id") @Pattern(regexp = Ids.SLUG,
            message = Ids.SLUG_MESSAGE) String planId) {
        return coordinator.startRun(bearer(), planId, new PlatformActions.RunOrder("drill"))
                .map(r -> Pages.actionResult(true, "drill of plan " + planId + " started",
                        "/ui/runs/" + Formats.segment(r.runId()), r.runId()))
                .onFailure().recoverWithItem(e -> Pages.actionResult(false,
                        "recovery-coordinator did not start the drill: " + reason(e), null, null));
    }

    /**
     * No session: to the sign-in page (htmx follows HX-Redirect instead of swapping the page in); told that the
     * session ended when the browser still sends a session cookie that names no live session.
     */
    @ServerExceptionMapper
    public Response noSession(UnauthorizedException e, ContainerRequestContext request) {
        boolean ended = request.getCookies().containsKey(config.cookie());
        return toSignIn(request, ended ? "/ui/sign-in?ended=true" : "/ui/sign-in", ended);
    }

    /** A session whose token is no longer accepted (expired, or its key changed): sign in again, told why. */
    @ServerExceptionMapper
    public Response sessionEnded(AuthenticationFailedException e, ContainerRequestContext request) {
        return toSignIn(request, "/ui/sign-in?ended=true", true);
    }

    @ServerExceptionMapper
    public Response forbidden(ForbiddenException e, ContainerRequestContext request) {
        String name = identity.isAnonymous() ? "anonymous" : identity.getPrincipal().getName();
        LOG.warnf("denied %s %s: 403, principal '%s' lacks the role this action needs", request.getMethod(),
                dev.lifeboat.kit.security.AccessDeniedMappers.loggedPath(request), name);
        return Response.status(403).type(MediaType.TEXT_HTML_TYPE)
                .entity(Pages.actionResult(false, "Your role may not do this: requesting backups and starting "
                        + "drills needs lifeboat-operator or lifeboat-admin.", null, null).render())
                .build();
    }

    /**
     * A page's problem (unknown backup or run, a bad filter) as a page. A backup requested a moment ago may not be in
     * the catalog yet: its page asks the browser to load it again shortly.
     */
    @ServerExceptionMapper
    public Response problem(ProblemException e, ContainerRequestContext request) {
        boolean soon = e.status() == 404 && request.getUriInfo().getPath().startsWith("/ui/backups/");
        return Response.status(e.status()).type(MediaType.TEXT_HTML_TYPE)
                .entity(Pages.problem(who(), e.title(), e.getMessage(), soon).render()).build();
    }

    private Response toSignIn(ContainerRequestContext request, String target, boolean clearCookie) {
        Response.ResponseBuilder r = request.getHeaderString("HX-Request") != null
                ? Response.status(401).header("HX-Redirect", target)
                : Response.seeOther(URI.create(target));
        if (clearCookie) {
            r.cookie(sessions.clear(request.getUriInfo().getRequestUri()));
        }
        return r.build();
    }

    private Uni<String> traceUrl(String runId) {
        if (config.zipkinUrl().isEmpty() || config.zipkinUrl().get().isBlank()) {
            return Uni.createFrom().nullItem();
        }
        String base = config.zipkinUrl().get().replaceAll("/+$", "");
        return coordinator.run(bearer(), runId)
                .map(r -> r.traceId() != null && TRACE_ID.matcher(r.traceId()).matches()
                        ? base + "/zipkin/traces/" + r.traceId() : null)
                .onFailure().recoverWithItem(t -> {
                    LOG.debugf("recovery-coordinator did not give the trace of run %s: %s", runId, t.toString());
                    return null;
                });
    }

    /** Each step's bar on the run's timeline, in percent of the time from the run's start to its last step's end. */
    static List<Pages.StepBar> bars(RecoveryView run) {
        List<RecoveryView.Step> steps = run.steps() == null ? List.of() : run.steps();
        Instant start = run.startedAt();
        Instant end = steps.stream().map(RecoveryView.Step::finishedAt).filter(Objects::nonNull)
                .max(Instant::compareTo).orElse(run.finishedAt());
        if (run.finishedAt() != null && (end == null || run.finishedAt().isAfter(end))) {
            end = run.finishedAt();
        }
        double total = start == null || end == null ? 0 : Math.max(1, Duration.between(start, end).toMillis());
        List<Pages.StepBar> bars = new ArrayList<>(steps.size());
        for (RecoveryView.Step s : steps) {
            if (total == 0 || s.startedAt() == null) {
                bars.add(new Pages.StepBar(s, 0, 0));
                continue;
            }
            double left = Math.max(0, Duration.between(start, s.startedAt()).toMillis() / total * 100);
            Instant to = s.finishedAt() != null ? s.finishedAt() : end;
            double width = Math.max(0.5, Duration.between(s.startedAt(), to).toMillis() / total * 100);
            bars.add(new Pages.StepBar(s, Math.round(left * 10) / 10.0,
                    Math.round(Math.min(width, 100 - left) * 10) / 10.0));
        }
        return bars;
    }

    private Pages.Who who() {
        String role = identity.hasRole(Roles.ADMIN) ? Roles.ADMIN
                : identity.hasRole(Roles.OPERATOR) ? Roles.OPERATOR : Roles.VIEWER;
        return new Pages.Who(identity.getPrincipal().getName(), role,
                identity.hasRole(Roles.OPERATOR) || identity.hasRole(Roles.ADMIN));
    }

    /** The signed-in person's own token, for the call that acts in their name. */
    private String bearer() {
        if (identity.getPrincipal() instanceof JsonWebToken jwt && jwt.getRawToken() != null) {
            return "Bearer " + jwt.getRawToken();
        }
        throw new IllegalStateException("no bearer token on this request");
    }

    /** Why a call to another service failed, for the person who asked: its status and detail, or the failure. */
    private static String reason(Throwable t) {
        if (t instanceof WebApplicationException w && w.getResponse() != null) {
            String detail = "";
            try {
                com.fasterxml.jackson.databind.JsonNode body = w.getResponse()
                        .readEntity(com.fasterxml.jackson.databind.JsonNode.class);
                detail = body != null && body.hasNonNull("detail") ? ": " + body.get("detail").asText() : "";
            } catch (RuntimeException notJson) {
                // the status alone then
            }
            String text = "HTTP " + w.getResponse().getStatus() + detail;
            return text.length() > 300 ? text.substring(0, 300) + "..." : text;
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : " (" + t.getMessage() + ")");
    }

    private static <E extends Enum<E>> E oneOf(Class<E> type, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException unknown) {
            throw ProblemException.badRequest("'" + value + "' is not one of " + Arrays.toString(type.getEnumConstants()));
        }
    }

    private static List<String> names(Enum<?>[] values) {
        return Arrays.stream(values).map(Enum::name).toList();
    }
}
