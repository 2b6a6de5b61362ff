package dev.lifeboat.catalog;

import dev.lifeboat.catalog.domain.ListCursor;
import dev.lifeboat.catalog.service.FleetQueries;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.identity.SigningKeys;
import dev.lifeboat.identity.TokenMinter;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.net.URL;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The dashboard's pages against the real catalog (events published to the real Kafka): sign-in with a token into a
 * session held on the server behind a random id in a strict HttpOnly cookie, the redirects without or with an ended session, escaping of hostile data, and who may act. The
 * pages are not in the OpenAPI document, so AuthorizationTest does not walk them; this test does.
 */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
class DashboardTest {
    static TestKafka kafka;

    @TestHTTPResource("/")
    URL base;

    @BeforeAll
    static void connect() {
        kafka = new TestKafka();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    private String origin() {
        return base.getProtocol() + "://" + base.getHost() + ":" + base.getPort();
    }

    /** Signs in through the form as a browser would and returns the session cookie's value. */
    private String signIn(String token) {
        Response r = given().redirects().follow(false).header("Origin", origin())
                .formParam("token", token).post("/ui/sign-in");
        assertThat(r.statusCode()).as(r.body().asString()).isEqualTo(303);
        return r.getCookie("lifeboat_session");
    }

    private Response page(String path, String session) {
        return given().redirects().follow(false).cookie("lifeboat_session", session).get(path);
    }

    @Test
    void pagesWithoutASessionGoToSignIn() {
        for (String path : List.of("/ui", "/ui/runs", "/ui/sources/any")) {
            Response r = given().redirects().follow(false).get(path);
            assertThat(r.statusCode()).as(path).isEqualTo(303);
            assertThat(r.header("Location")).as(path).endsWith("/ui/sign-in");
        }
        Response signIn = given().get("/ui/sign-in");
        assertThat(signIn.statusCode()).isEqualTo(200);
        assertThat(signIn.header("Content-Security-Policy")).contains("script-src 'self'");
        assertThat(signIn.body().asString()).contains("name=\"token\"");
    }

    @Test
    void signInKeepsTheVerifiedTokenOnTheServerBehindARandomIdInAStrictHttpOnlyCookieAndSignOutEndsIt() {
        Response r = given().redirects().follow(false).header("Origin", origin())
                .formParam("token", Tokens.viewer()).post("/ui/sign-in");
        assertThat(r.statusCode()).isEqualTo(303);
        assertThat(r.header("Location")).endsWith("/ui");
        String setCookie = r.headers().getValues("Set-Cookie").stream()
                .filter(c -> c.startsWith("lifeboat_session=")).findFirst().orElseThrow();
        assertThat(setCookie).containsIgnoringCase("HttpOnly").containsIgnoringCase("SameSite=Strict")
                .contains("Path=/ui").doesNotContainIgnoringCase("Secure");
        String session = r.getCookie("lifeboat_session");
        assertThat(session).matches("[A-Za-z0-9_-]{43}").doesNotContain(".").doesNotStartWith("eyJ");

        Response fleet = page("/ui", session);
        assertThat(fleet.statusCode()).isEqualTo(200);
        assertThat(fleet.contentType()).startsWith("text/html");
        assertThat(fleet.body().asString()).contains("<h1>Fleet</h1>").contains("test-viewer");

        Response out = given().redirects().follow(false).header("Origin", origin())
                .cookie("lifeboat_session", session).post("/ui/sign-out");
        assertThat(out.statusCode()).isEqualTo(303);
        assertThat(out.headers().getValues("Set-Cookie")).anySatisfy(c ->
                assertThat(c).startsWith("lifeboat_session=").contains("Max-Age=0"));
        assertThat(out.header("Location")).endsWith("/ui/signed-out");
        // ended on the server: the id, sent again, opens nothing
        Response after = page("/ui", session);
        assertThat(after.statusCode()).isEqualTo(303);
        assertThat(after.header("Location")).endsWith("/ui/sign-in?ended=true");
    }

    @Test
    void theSignInPageOffersNoProviderWhenNoneIsConfigured() {
        assertThat(given().get("/ui/sign-in").body().asString()).doesNotContain("sign-in-provider");
        Response r = given().redirects().follow(false).get("/ui/oidc/sign-in");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body().asString()).contains("No identity provider is configured");
    }

    @Test
    void aTokenTheApiWouldRefuseIsNotKept() throws Exception {
        SigningKeys other = SigningKeys.loadOrCreate(Files.createTempDirectory("untrusted-jwt"));
        String untrusted = new TokenMinter(other).mint("mallory", Roles.ALL, Duration.ofHours(1));
        String expired = new TokenMinter(Tokens.keys()).mint("late", Roles.ALL, Duration.ofMinutes(-10));
        String roleless = Tokens.mint("nobody", "another-application-role");
        for (String token : List.of(untrusted, expired, "not-a-jwt")) {
            Response r = given().redirects().follow(false).header("Origin", origin())
                    .formParam("token", token).post("/ui/sign-in");
            assertThat(r.statusCode()).isEqualTo(401);
            assertThat(r.getCookie("lifeboat_session")).isNull();
            assertThat(r.body().asString()).contains("This token is not accepted");
        }
        Response r = given().redirects().follow(false).header("Origin", origin())
                .formParam("token", roleless).post("/ui/sign-in");
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.getCookie("lifeboat_session")).isNull();
    }

    @Test
    void aCookieNamingNoLiveSessionReturnsToSignInWithAMessage() {
        // a token where the session id belongs (as the cookie held before) opens nothing either
        String token = Tokens.admin();
        Response r = page("/ui", token);
        assertThat(r.statusCode()).isEqualTo(303);
        assertThat(r.header("Location")).endsWith("/ui/sign-in?ended=true");
        assertThat(r.headers().getValues("Set-Cookie")).anySatisfy(c -> assertThat(c).contains("Max-Age=0"));
        assertThat(given().get(r.header("Location")).body().asString()).contains("Your session ended");
    }

    @Test
    void hostileDataIsShownEscaped() {
        TestBackups b = TestBackups.full();
        String hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>";
        kafka.publish(b.sourceId(), b.requested("ops\"><b>"));
        kafka.publish(b.sourceId(), b.failed("DUMP", hostile));
        String session = signIn(Tokens.viewer());
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(page("/ui/backups/" + b.backupId(), session).body().asString()).contains(">FAILED<"));
        String backup = page("/ui/backups/" + b.backupId(), session).body().asString();
        assertThat(backup).contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;")
                .doesNotContain("<script>alert").doesNotContain("<img src=x").doesNotContain("ops\"><b>");
        String source = page("/ui/sources/" + b.sourceId(), session).body().asString();
        assertThat(source).contains("FAILED").doesNotContain("ops\"><b>");
    }

    @Test
    void aViewerSeesNoActionAndIsRefusedOneAnOperatorSeesThem() throws Exception {
        TestBackups b = TestBackups.full();
        Instant start = Instant.now().minusSeconds(60);
        kafka.publish(b.sourceId(), b.requested("ops"));
        kafka.publish(b.sourceId(), b.completed(start));
        String viewer = signIn(Tokens.viewer());
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                page("/ui/sources/" + b.sourceId(), viewer).body().asString()).contains(b.backupId()).contains("<svg"));
        String viewerPage = page("/ui/sources/" + b.sourceId(), viewer).body().asString();
        assertThat(viewerPage).doesNotContain("request-backup").contains("<svg");
        assertThat(page("/ui", viewer).body().asString()).doesNotContain("request-backup");

        Response refused = given().redirects().follow(false).header("Origin", origin()).header("HX-Request", "true")
                .cookie("lifeboat_session", viewer).formParam("type", "FULL")
                .post("/ui/sources/" + b.sourceId() + "/backups");
        assertThat(refused.statusCode()).isEqualTo(403);
        Response drill = given().redirects().follow(false).header("Origin", origin()).header("HX-Request", "true")
                .cookie("lifeboat_session", viewer).post("/ui/plans/any-plan/runs");
        assertThat(drill.statusCode()).isEqualTo(403);

        String operator = signIn(Tokens.operator());
        assertThat(page("/ui/sources/" + b.sourceId(), operator).body().asString()).contains("request-backup");

        // the live progress stream under /ui, where the session cookie goes: a finished backup is 'done' at once
        java.net.http.HttpResponse<String> progress = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(base.toURI().resolve("/ui/backups/" + b.backupId() + "/progress"))
                        .version(java.net.http.HttpClient.Version.HTTP_1_1)
                        .header("Cookie", "lifeboat_session=" + viewer).header("Accept", "text/event-stream")
                        .timeout(Duration.ofSeconds(30)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(progress.statusCode()).isEqualTo(200);
        assertThat(progress.body()).containsPattern("event: ?done").contains(b.backupId());
    }

    @Test
    void aPostFromAnotherSiteOrWithoutOriginIsRefused() {
        String operator = signIn(Tokens.operator());
        Response crossSite = given().redirects().follow(false).header("Origin", "http://evil.example")
                .cookie("lifeboat_session", operator).formParam("type", "FULL").post("/ui/sources/anything/backups");
        assertThat(crossSite.statusCode()).isEqualTo(403);
        assertThat(crossSite.body().asString()).contains("did not come from a Lifeboat dashboard page");
        Response noOrigin = given().redirects().follow(false).cookie("lifeboat_session", operator)
                .formParam("type", "FULL").post("/ui/sources/anything/backups");
        assertThat(noOrigin.statusCode()).isEqualTo(403);
        Response loginCsrf = given().redirects().follow(false).header("Origin", "http://evil.example")
                .formParam("token", Tokens.viewer()).post("/ui/sign-in");
        assertThat(loginCsrf.statusCode()).isEqualTo(403);
    }

    @Test
    void theApiTakesTheAuthorizationHeaderAndNotTheDashboardsSessionCookie() {
        TestBackups b = TestBackups.full();
        kafka.publish(b.sourceId(), b.requested("ops"));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(given()
                .header("Authorization", Tokens.bearer(Tokens.viewer())).get("/api/v1/backups/" + b.backupId())
                .statusCode()).isEqualTo(200));
        String session = signIn(Tokens.viewer());
        assertThat(given().cookie("lifeboat_session", session).get("/api/v1/backups/" + b.backupId())
                .statusCode()).as("browsers send the cookie to /ui only; sent by hand it opens no API").isEqualTo(401);
        assertThat(given().cookie("lifeboat_session", session).get("/ui/backups/" + b.backupId()).statusCode())
                .isEqualTo(200);
        assertThat(given().get("/api/v1/backups/" + b.backupId()).statusCode()).isEqualTo(401);
        assertThat(given().get("/webjars/htmx.org/2.0.4/dist/htmx.min.js").statusCode()).isEqualTo(200);
        assertThat(given().get("/ui-assets/dashboard.css").statusCode()).isEqualTo(200);
    }

    @Test
    void theSourceHistoryPagesThroughOlderBackupsWithItsFilters() {
        String source = TestBackups.newSource();
        int count = 205;  // one more page than the 200 a page shows
        List<TestBackups> made = java.util.stream.IntStream.range(0, count)
                .mapToObj(i -> TestBackups.full().ofSource(source)).toList();
        for (TestBackups b : made) {
            kafka.publish(source, b.requested("ops"));
        }
        String session = signIn(Tokens.viewer());
        String first = "/ui/sources/" + source + "?status=REQUESTED&type=FULL";
        String[] pages = new String[3];
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            pages[0] = page(first, session).body().asString();
            java.util.regex.Matcher older = java.util.regex.Pattern
                    .compile("id=\"older-backups\" href=\"([^\"]+)\"").matcher(pages[0]);
            assertThat(older.find()).as("a link to older backups").isTrue();
            pages[1] = older.group(1).replace("&amp;", "&");
            pages[2] = page(pages[1], session).body().asString();
            assertThat(made.stream().filter(b -> pages[2].contains(b.backupId())).count())
                    .as("backups on the second page, once the catalog has all").isEqualTo(count - 200);
        });
        String page1 = pages[0];
        String next = pages[1];
        String page2 = pages[2];
        assertThat(page1).doesNotContain("id=\"newest-backups\"");
        assertThat(next).contains("status=REQUESTED").contains("type=FULL").contains("cursor=");
        assertThat(page2).contains("id=\"newest-backups\"").doesNotContain("id=\"older-backups\"");
        assertThat(made.stream().filter(b -> page1.contains(b.backupId())).count()).isEqualTo(200);
        assertThat(made).allMatch(b -> page1.contains(b.backupId()) != page2.contains(b.backupId()));
        // a cursor issued for other filters is refused, not silently applied to these
        assertThat(page(next.replace("status=REQUESTED", "status=FAILED"), session).statusCode()).isEqualTo(400);
    }

    @Test
    void theFleetOverviewPagesThroughSourcesByCursor() {
        String prefix = "fleet-" + java.util.UUID.randomUUID().toString().substring(0, 8) + "-";
        List<String> sources = java.util.stream.IntStream.rangeClosed(1, FleetQueries.DEFAULT_SIZE + 1)
                .mapToObj(i -> prefix + String.format("%03d", i)).toList();
        for (String source : sources) {
            kafka.publish(source, TestBackups.full().ofSource(source).requested("ops"));
        }
        String session = signIn(Tokens.viewer());
        // the page that starts right before these sources, as a "Next sources" link would name it
        String start = "/ui?cursor=" + ListCursor.encode(FleetQueries.LIST, "", null, prefix);
        String[] pages = new String[2];
        // the events take their own partitions: wait until the catalog has every one of these sources
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(given().auth().oauth2(Tokens.viewer())
                .queryParam("size", FleetQueries.MAX_SIZE)
                .queryParam("cursor", ListCursor.encode(FleetQueries.LIST, "", null, prefix))
                .get("/api/v1/fleet").then().statusCode(200).extract().jsonPath().getList("sources.sourceId"))
                .containsAll(sources));
        pages[0] = page(start, session).body().asString();
        assertThat(sources.stream().filter(s -> pages[0].contains("data-source=\"" + s + "\"")).count())
                .as("sources on the page").isEqualTo(FleetQueries.DEFAULT_SIZE);
        assertThat(pages[0]).contains("id=\"fleet-first\"").doesNotContain("data-source=\"" + sources.getLast() + "\"");
        java.util.regex.Matcher next = java.util.regex.Pattern.compile("id=\"fleet-next\" href=\"([^\"]+)\"")
                .matcher(pages[0]);
        assertThat(next.find()).as("a link to the next sources").isTrue();
        pages[1] = page(next.group(1).replace("&amp;", "&"), session).body().asString();
        assertThat(pages[1]).contains("data-source=\"" + sources.getLast() + "\"")
                .doesNotContain("data-source=\"" + sources.getFirst() + "\"");
        assertThat(page("/ui?cursor=not-a-cursor", session).statusCode()).isEqualTo(400);
    }

    /**
     * Every route this service serves outside /api (the dashboard's pages and actions, found in the compiled classes,
     * so a route added later is walked too): only the sign-in and sign-out pages are open; every other route sends a
     * browser without a session to sign in, and with a session whose token holds a single role answers 403 exactly
     * when the route does not name that role. Path ids are malformed, so no allowed call reaches another service.
     */
    @Test
    void everyDashboardRouteNeedsASessionAndOneOfTheRolesItNames() throws Exception {
        Set<String> open = Set.of("GET /ui/sign-in", "POST /ui/sign-in", "GET /ui/signed-out", "POST /ui/sign-out",
                "GET /ui/oidc/sign-in", "GET /ui/oidc/callback");
        Map<String, String> sessions = Map.of(Roles.VIEWER, signIn(Tokens.mint("only-viewer", Roles.VIEWER)),
                Roles.OPERATOR, signIn(Tokens.mint("only-operator", Roles.OPERATOR)),
                Roles.ADMIN, signIn(Tokens.mint("only-admin", Roles.ADMIN)));
        List<String> walked = new ArrayList<>();
        List<String> violations = new ArrayList<>();
        for (Class<?> resource : resourceClasses()) {
            String root = resource.getAnnotation(jakarta.ws.rs.Path.class).value();
            if (root.startsWith("/api/")) {
                continue; // AuthorizationTest walks these through the OpenAPI document
            }
            for (Method m : resource.getDeclaredMethods()) {
                String verb = verb(m);
                if (verb == null) {
                    continue;
                }
                jakarta.ws.rs.Path sub = m.getAnnotation(jakarta.ws.rs.Path.class);
                String path = (root + (sub == null ? "" : "/" + sub.value())).replaceAll("/+", "/");
                String route = verb + " " + path;
                if (m.isAnnotationPresent(jakarta.annotation.security.PermitAll.class)) {
                    if (!open.contains(route)) {
                        violations.add(route + " is open to anyone (@PermitAll) but is no sign-in or sign-out page");
                    }
                    continue;
                }
                jakarta.annotation.security.RolesAllowed roles =
                        m.getAnnotation(jakarta.annotation.security.RolesAllowed.class);
                if (roles == null) {
                    roles = resource.getAnnotation(jakarta.annotation.security.RolesAllowed.class);
                }
                if (roles == null) {
                    violations.add(route + " names no role");
                    continue;
                }
                walked.add(route);
                String url = path.replaceAll("\\{[^}]+}", "Bad..Id");
                Response anonymous = route(verb, url, null);
                if (anonymous.statusCode() != 303 || !anonymous.header("Location").endsWith("/ui/sign-in")) {
                    violations.add(route + " without a session: expected 303 to /ui/sign-in, got "
                            + anonymous.statusCode() + " " + anonymous.header("Location"));
                }
                Set<String> allowed = Set.of(roles.value());
                for (Map.Entry<String, String> session : sessions.entrySet()) {
                    int status = route(verb, url, session.getValue()).statusCode();
                    boolean refused = status == 403 || status == 401 || status == 303;
                    if (allowed.contains(session.getKey()) == refused) {
                        violations.add(route + " with a session holding only " + session.getKey() + ": got " + status
                                + ", expected " + (refused ? "it allowed (the route names that role)" : "403"));
                    }
                }
            }
        }
        System.out.println("[authorization] catalog-service dashboard: " + walked.size() + " routes: " + walked);
        assertThat(violations).isEmpty();
        assertThat(walked).hasSizeGreaterThanOrEqualTo(8);
    }

    private Response route(String verb, String url, String session) {
        var request = given().redirects().follow(false).header("Origin", origin());
        if (session != null) {
            request = request.cookie("lifeboat_session", session);
        }
        // the dashboard's actions are form posts
        return verb.equals("GET") ? request.get(url) : request.formParam("type", "FULL").request(verb, url);
    }

    private static String verb(Method m) {
        for (Class<? extends java.lang.annotation.Annotation> a : List.of(jakarta.ws.rs.GET.class,
                jakarta.ws.rs.POST.class, jakarta.ws.rs.PUT.class, jakarta.ws.rs.DELETE.class,
                jakarta.ws.rs.PATCH.class)) {
            if (m.isAnnotationPresent(a)) {
                return a.getSimpleName();
            }
        }
        return null;
    }

    /** The JAX-RS resource classes compiled into this service. */
    private static List<Class<?>> resourceClasses() throws Exception {
        java.nio.file.Path classes = java.nio.file.Path.of("target/classes");
        List<Class<?>> found = new ArrayList<>();
        try (Stream<java.nio.file.Path> files = Files.walk(classes)) {
            for (java.nio.file.Path f : files.filter(p -> p.toString().endsWith(".class")
                    && !p.getFileName().toString().contains("$")).toList()) {
                String name = classes.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", "");
                Class<?> c = Class.forName(name, false, DashboardTest.class.getClassLoader());
                if (c.isAnnotationPresent(jakarta.ws.rs.Path.class) && !c.isInterface()) {
                    found.add(c);
                }
            }
        }
        assertThat(found).as("resource classes under %s", classes.toAbsolutePath()).isNotEmpty();
        return found;
    }
}
