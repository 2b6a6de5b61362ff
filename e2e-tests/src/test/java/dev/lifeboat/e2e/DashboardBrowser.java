package dev.lifeboat.e2e;

import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.stream.Stream;

/**
 * The dashboard in a real browser: the system's headless Chromium driven through its own chromedriver (never one
 * Selenium Manager would download), with a fresh profile and no background traffic. Collects the browser console's
 * SEVERE entries of every page visited and saves screenshots under target/dashboard-screenshots.
 */
final class DashboardBrowser implements AutoCloseable {
    static final Path SCREENSHOTS = Path.of("target", "dashboard-screenshots");
    private static final String CHROMIUM = System.getProperty("lifeboat.chromium", "/usr/bin/chromium");
    private static final String CHROMEDRIVER = System.getProperty("lifeboat.chromedriver", "/usr/bin/chromedriver");

    final ChromeDriver driver;
    private final String base;
    private final Path profile;
    private final List<String> severe = new ArrayList<>();

    private DashboardBrowser(ChromeDriver driver, String base, Path profile) {
        this.driver = driver;
        this.base = base;
        this.profile = profile;
    }

    /** A browser on the dashboard served at {@code base} (http://127.0.0.1:port). */
    static DashboardBrowser open(String base) throws IOException {
        Path profile = Files.createTempDirectory("lifeboat-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000", "--user-data-dir=" + profile);
        options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
        Files.createDirectories(SCREENSHOTS);
        return new DashboardBrowser(new ChromeDriver(service, options), base, profile);
    }

    /** Opens a dashboard page; the console entries of the page before it are kept. */
    void go(String path) {
        collectConsole();
        driver.get(base + path);
    }

    /** Signs in on the sign-in page by pasting {@code token}, and waits for the fleet page. */
    void signIn(String token) {
        go("/ui");
        wait(Duration.ofSeconds(20)).until(ExpectedConditions.urlContains("/ui/sign-in"));
        driver.findElement(By.id("token")).sendKeys(token);
        driver.findElement(By.id("sign-in")).click();
        wait(Duration.ofSeconds(20)).until(ExpectedConditions.presenceOfElementLocated(By.id("fleet")));
    }

    void signOut() {
        driver.findElement(By.id("sign-out")).click();
        wait(Duration.ofSeconds(20)).until(ExpectedConditions.presenceOfElementLocated(By.id("token")));
    }

    /** The session cookie's value, for a request made outside the browser in the same person's name. */
    String session() {
        Cookie c = driver.manage().getCookieNamed("lifeboat_session");
        return c == null ? null : c.getValue();
    }

    WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    WebDriverWait wait(Duration timeout) {
        return new WebDriverWait(driver, timeout, Duration.ofMillis(200));
    }

    void screenshot(String name) throws IOException {
        Files.write(SCREENSHOTS.resolve(name + ".png"), driver.getScreenshotAs(OutputType.BYTES));
    }

    /** Every SEVERE browser console entry (script errors, failed loads, CSP violations) of the pages visited. */
    List<String> consoleErrors() {
        collectConsole();
        return List.copyOf(severe);
    }

    private void collectConsole() {
        for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
            if (e.getLevel().intValue() >= Level.SEVERE.intValue()) {
                severe.add(driver.getCurrentUrl() + ": " + e.getMessage());
            }
        }
    }

    @Override
    public void close() throws IOException {
        try {
            driver.quit();
        } finally {
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
