package org.gyocs.http;

import static org.gyocs.http.OperatorHttpTest.answerWith;
import static org.gyocs.http.OperatorHttpTest.get;
import static org.gyocs.http.OperatorHttpTest.nextRequestFromNode;
import static org.gyocs.http.OperatorHttpTest.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The web console in a real browser (Debian's chromium and chromedriver, headless, driven by
 * Selenium) against a running node with Diameter traffic: each page shows what the node holds, a
 * top-up from the form changes the balance shown and the PCEF receives its RAR, a new session
 * appears, the API's refusal is shown. Takes the README's screenshots (-Dgyocs.screenshots=DIR).
 *
 * <p>The browser is installed by .ci/install-browser (CI runs it before the tests); without it
 * this test fails and says how to install it.
 */
class ConsoleBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    private static final String SUBSCRIBER = "491700000001";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static WebDriver browser() {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(DRIVER)) {
            throw new AssertionError("the console is tested in Debian's chromium, which is missing here: "
                    + "run .ci/install-browser as root (apt-get install chromium chromium-driver)");
        }
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--lang=en-US");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
                .usingAnyFreePort().build();
        return new ChromeDriver(service, o);
    }

    private void shot(WebDriver b, String name) throws Exception {
        byte[] png = ((TakesScreenshot) b).getScreenshotAs(OutputType.BYTES);
        Path dir = Path.of(System.getProperty("gyocs.screenshots", "target/console-screenshots"));
        Files.createDirectories(dir);
        Files.write(dir.resolve(name + ".png"), png);
    }

    /** Waits until a tile's value is exactly {@code value}. */
    private static void tile(WebDriver b, String id, String value) {
        new WebDriverWait(b, Duration.ofSeconds(15)).until(ExpectedConditions.textToBe(By.cssSelector("#" + id + " .v"), value));
    }

    /** The page shows no error: the banner is hidden. */
    private static void noError(WebDriver b) {
        WebElement e = b.findElement(By.id("error"));
        assertTrue(!e.isDisplayed(), "the error banner says: " + e.getText());
    }

    private static WebElement waitFor(WebDriver b, By by, String text) {
        WebDriverWait w = new WebDriverWait(b, Duration.ofSeconds(15));
        w.until(ExpectedConditions.textToBePresentInElementLocated(by, text));
        return b.findElement(by);
    }

    /** An event of a subscriber with no balance: granted by policy, nothing debited. */
    private static DiameterMessage unprovisionedEvent(TestPeer peer, String sessionId) {
        java.util.List<org.gyocs.codec.Avp> avps = GyRequests.header(sessionId, 4, 0);
        avps.removeIf(a -> a.code() == org.gyocs.codec.AvpCodes.SUBSCRIPTION_ID);
        avps.add(org.gyocs.codec.Avp.grouped(org.gyocs.codec.AvpCodes.SUBSCRIPTION_ID,
                org.gyocs.codec.Avp.unsigned32(org.gyocs.codec.AvpCodes.SUBSCRIPTION_ID_TYPE, 0),
                org.gyocs.codec.Avp.utf8(org.gyocs.codec.AvpCodes.SUBSCRIPTION_ID_DATA, "491799999990")));
        return GyRequests.ccr(peer.nextHopByHop(), avps);
    }

    @Test
    void everyPageShowsTheRunningNodeAndActsOnIt() throws Exception {
        GyDiameterApplication app = ConsoleFilesTest.consoleNode(tmp, "ocs.console.test", null);
        app.start(false);
        WebDriver b = null;
        try (TestPeer peer = new TestPeer(app.getPort())) {
            b = browser();
            assertEquals(2001, GyRequests.resultCode(peer.handshake("pcef.console.test")));
            peer.awaitOpen();
            assertEquals(200, send(app, "PUT", "/subscribers/" + SUBSCRIBER,
                    "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 50000000, \"ratingGroup\": 100}]}").statusCode());
            for (int i = 0; i < 5; i++) { // finished sessions, for the counters
                String id = "pcef.console.test;done;" + i;
                for (int type = 1; type <= 3; type++) {
                    assertEquals(2001, GyRequests.resultCode(peer.request(GyRequests.simple(peer.nextHopByHop(), id,
                            type, type - 1))));
                }
            }
            String base = "http://127.0.0.1:" + app.getAdminPort() + "/";

            // overview: the counters of the traffic above, and its health
            b.get(base);
            tile(b, "tile-requests", "15");
            tile(b, "tile-health", "UP");
            tile(b, "tile-peers", "1");
            tile(b, "tile-store", "up");
            waitFor(b, By.id("answers-by-code"), "2001");
            assertTrue(b.findElement(By.id("node")).getText().contains("ocs.console.test"));
            String session = "pcef.console.test;open";
            assertEquals(2001, GyRequests.resultCode(peer.request(GyRequests.simple(peer.nextHopByHop(), session, 1, 0))));
            tile(b, "tile-sessions", "1");
            // another PCEF's events, some refused, while the overview is watched: points for the chart,
            // a rate and a latency in the tiles (bounded: 15 s at most)
            java.util.concurrent.atomic.AtomicBoolean load = new java.util.concurrent.atomic.AtomicBoolean(true);
            Thread loader;
            try (TestPeer other = new TestPeer(app.getPort())) {
                assertEquals(2001, GyRequests.resultCode(other.handshake("pcef.console.load")));
                other.awaitOpen();
                loader = new Thread(() -> {
                    long end = System.nanoTime() + 15_000_000_000L;
                    for (int i = 0; load.get() && System.nanoTime() < end; i++) {
                        try {
                            other.request(unprovisionedEvent(other, "pcef.console.load;event;" + i));
                            if (i % 10 == 0) { // an update of no open session: 5002
                                other.request(GyRequests.simple(other.nextHopByHop(), "pcef.console.load;none;" + i, 2, 1));
                            }
                            Thread.sleep(50);
                        } catch (Exception e) {
                            return;
                        }
                    }
                });
                loader.start();
                waitFor(b, By.id("answers-by-code"), "5002");
                new WebDriverWait(b, Duration.ofSeconds(15)).until(ExpectedConditions.textMatches(
                        By.cssSelector("#tile-latency .v"), java.util.regex.Pattern.compile("≤ [0-9.]+ ms / ≤ [0-9.]+ ms")));
                new WebDriverWait(b, Duration.ofSeconds(15)).until(ExpectedConditions.textMatches(
                        By.cssSelector("#tile-rate .v"), java.util.regex.Pattern.compile("[1-9][0-9]*\\.[0-9]")));
                new WebDriverWait(b, Duration.ofSeconds(15)).until(d -> d.findElements(By.cssSelector("#chart svg polyline")).size() == 2);
                new WebDriverWait(b, Duration.ofSeconds(15)).until(ExpectedConditions.textMatches(By.id("chart-max"),
                        java.util.regex.Pattern.compile("the last ([6-9]|[1-9][0-9]) s"))); // a few points to show
                noError(b);
                shot(b, "overview");
                load.set(false);
                loader.join(5_000);
            }


            // sessions: the new one, with its hold
            b.findElement(By.id("nav-sessions")).click();
            WebElement sessions = waitFor(b, By.id("sessions-table"), session);
            assertTrue(sessions.getText().contains("RG 100: 1,048,576 octets"), sessions.getText());
            noError(b);
            shot(b, "sessions");
            // the RAR button, answered by the PCEF: the page shows the RAA's Result-Code
            b.findElement(By.cssSelector("#sessions-table button.secondary")).click();
            DiameterMessage byButton = nextRequestFromNode(peer);
            assertEquals(CommandCodes.RE_AUTH, byButton.commandCode());
            answerWith(peer, byButton, 2001);
            waitFor(b, By.id("session-status"), "RAR to " + session + ": answered 2001");

            // subscribers: the balance, a top-up from the form, its RAR to the PCEF
            b.findElement(By.id("nav-subscribers")).click();
            b.findElement(By.id("subscriber-id")).sendKeys(SUBSCRIBER);
            b.findElement(By.cssSelector("#subscriber-search button")).click();
            waitFor(b, By.id("buckets-table"), "1,048,576"); // reserved by the open session
            b.findElement(By.id("topup-amount")).sendKeys("2000000");
            b.findElement(By.id("topup-rg")).sendKeys("100");
            b.findElement(By.cssSelector("#topup button")).click();
            DiameterMessage rar = nextRequestFromNode(peer);
            assertEquals(CommandCodes.RE_AUTH, rar.commandCode(), "the PCEF gets a RAR after the top-up");
            assertEquals(session, rar.avp(org.gyocs.codec.AvpCodes.SESSION_ID).utf8());
            answerWith(peer, rar, 2001);
            waitFor(b, By.id("subscriber-status"), "Topped up 2,000,000 octets; a RAR went to each of its 1 open session(s)");
            // 50,000,000 - 5 x 1,048,576 used + 2,000,000
            waitFor(b, By.id("buckets-table"), "46,757,120");
            assertEquals(46_757_120, JSON.readTree(get(app, "/subscribers/" + SUBSCRIBER, null).body()).get("buckets").get(0)
                    .get("amount").asLong());
            waitFor(b, By.id("subscriber-sessions"), session);
            noError(b);
            shot(b, "subscribers");

            // behaviours: the API's refusal shown, then a rule from the form
            b.findElement(By.id("nav-behaviours")).click();
            WebElement json = new WebDriverWait(b, Duration.ofSeconds(10))
                    .until(ExpectedConditions.elementToBeClickable(By.id("b-json")));
            json.clear();
            json.sendKeys("{\"answer\": {\"result_code\": 4012}}");
            b.findElement(By.id("b-add-json")).click();
            waitFor(b, By.id("behaviour-status"), "400: answer.result_code: unknown field");
            new org.openqa.selenium.support.ui.Select(b.findElement(By.id("b-request"))).selectByValue("UPDATE");
            b.findElement(By.id("b-number")).sendKeys("1");
            b.findElement(By.id("b-mscc-result-code")).sendKeys("4012");
            b.findElement(By.id("b-times")).sendKeys("1");
            b.findElement(By.id("b-add")).click();
            waitFor(b, By.id("behaviour-status"), "Added b1");
            DiameterMessage u = peer.request(GyRequests.simple(peer.nextHopByHop(), session, 2, 1));
            assertEquals(4012, GyRequests.resultCode(u), "the rule made in the browser applies");
            new WebDriverWait(b, Duration.ofSeconds(15)).until(ExpectedConditions.textToBe(By.id("hits-b1"), "1"));
            noError(b);
            shot(b, "behaviours");

            // requests: the CCR-U the rule changed, its AVPs as a tree
            b.findElement(By.id("nav-requests")).click();
            waitFor(b, By.id("requests-list"), "UPDATE 1");
            WebElement newest = b.findElement(By.cssSelector("#requests-list .request"));
            assertEquals(session, newest.getAttribute("data-session"));
            assertTrue(newest.getText().startsWith("UPDATE 1 → 4012 (behaviour b1)"), newest.getText());
            newest.findElement(By.cssSelector("details > summary")).click();
            waitFor(b, By.id("requests-list"), "Multiple-Services-Credit-Control (456)");
            noError(b);
            shot(b, "requests");

            b.findElement(By.id("nav-peers")).click();
            waitFor(b, By.id("peers-table"), "pcef.console.test");
            noError(b);
            shot(b, "peers");

            // a phone's width: the same page, the navigation still reachable
            b.manage().window().setSize(new Dimension(390, 844));
            b.findElement(By.id("nav-overview")).click();
            tile(b, "tile-health", "UP");
            assertTrue(b.findElement(By.id("nav-requests")).isDisplayed());
            Object overflow = ((org.openqa.selenium.JavascriptExecutor) b).executeScript(
                    "return document.documentElement.scrollWidth - window.innerWidth;");
            assertTrue(((Number) overflow).longValue() <= 0, "no sideways scrolling at a phone's width: " + overflow);
            noError(b);
            shot(b, "overview-phone");
        } finally {
            if (b != null) {
                b.quit();
            }
            app.stop();
        }
    }

    /** A token asked for on a 401 and used; the node gone: the page says so. */
    @Test
    void errorsAreShownNotSwallowed() throws Exception {
        Path tokenFile = tmp.resolve("token");
        Files.writeString(tokenFile, "console-test-token-0123456789");
        GyDiameterApplication app = ConsoleFilesTest.consoleNode(tmp, "ocs.console.test", "console-test-token-0123456789");
        app.start(false);
        WebDriver b = null;
        try {
            b = browser();
            b.get("http://127.0.0.1:" + app.getAdminPort() + "/#/peers");
            WebElement token = new WebDriverWait(b, Duration.ofSeconds(10))
                    .until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
            waitFor(b, By.id("error"), "401");
            token.sendKeys("console-test-token-0123456789");
            b.findElement(By.cssSelector("#login button")).click();
            waitFor(b, By.id("page"), "No peer is connected.");
            assertTrue(!b.findElement(By.id("error")).isDisplayed(), "the error is cleared once the token works");
            b.findElement(By.id("nav-overview")).click();
            tile(b, "tile-health", "UP");
            app.stop();
            waitFor(b, By.id("error"), "the node does not answer");
        } finally {
            if (b != null) {
                b.quit();
            }
            app.stop();
        }
    }
}
