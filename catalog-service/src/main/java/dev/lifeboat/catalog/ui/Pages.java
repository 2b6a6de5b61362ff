package dev.lifeboat.catalog.ui;

import dev.lifeboat.catalog.client.PlatformActions;
import dev.lifeboat.catalog.domain.FleetView;
import dev.lifeboat.catalog.domain.RecoveryWindow;
import dev.lifeboat.catalog.rest.BackupView;
import dev.lifeboat.catalog.rest.RecoveryPageView;
import dev.lifeboat.catalog.rest.RecoveryView;
import io.quarkus.qute.CheckedTemplate;
import io.quarkus.qute.TemplateInstance;

import java.util.List;

/** The dashboard's pages (templates/dashboard/*.html); every value shown is escaped by Qute. */
@CheckedTemplate(basePath = "dashboard")
final class Pages {
    private Pages() {
    }

    /** The signed-in person as the pages show them; {@code canAct}: holds a role that may request backups and drills. */
    record Who(String name, String role, boolean canAct) {
    }

    /** The source page's filters as chosen (empty: any). */
    record Filters(String status, String type, List<String> statuses, List<String> types) {
    }

    /** A step on a run's timeline: its bar's offset and width in percent of the run's length. */
    record StepBar(RecoveryView.Step step, double left, double width) {
    }

    /** {@code provider}: the OIDC provider's name for its sign-in button; null when none is configured. */
    static native TemplateInstance signIn(Object who, String message, String error, String provider);

    /** After a sign-in through the provider: moves on to the fleet from a page of this site (see OidcSignInResource). */
    static native TemplateInstance signedIn();

    /** {@code paged}: this is not the first page; {@code fleet.nextCursor}: the next page's cursor, or null. */
    static native TemplateInstance fleet(Who who, FleetView fleet, boolean paged);

    /** {@code paged}: this is not the first page; {@code next}: the cursor of the next (older) page, or null. */
    static native TemplateInstance source(Who who, String sourceId, Filters filters, List<BackupView> backups,
                                          boolean paged, String next, Plot sizes, Plot durations,
                                          RecoveryWindow window);

    static native TemplateInstance backup(Who who, BackupView backup, boolean running);

    static native TemplateInstance runs(Who who, RecoveryPageView runs, boolean paged,
                                        List<PlatformActions.PlanInfo> plans, String plansError);

    static native TemplateInstance run(Who who, RecoveryView run, List<StepBar> steps, String traceUrl);

    /** {@code retry}: the browser loads the page again in a few seconds (a backup not recorded yet). */
    static native TemplateInstance problem(Who who, String title, String detail, boolean retry);

    /** The answer to an action, swapped into the page by htmx. */
    static native TemplateInstance actionResult(boolean ok, String message, String link, String linkText);
}
