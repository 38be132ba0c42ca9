package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The comparison report looked at in a real browser: headless Chromium opens report.html from disk, every picture
 * decodes (naturalWidth > 0) and the table has one row per method. Needs Debian's {@code chromium} and
 * {@code chromium-driver} (.ci/run installs them); skipped, saying so, where they are absent.
 */
class ReportInBrowserTest {

    @Test
    void everyPictureLoadsAndTheTableHasOneRowPerMethod() {
        Optional<Path> browser = onPath("chromium", "chromium-browser", "google-chrome");
        Optional<Path> driver = onPath("chromedriver");
        assumeTrue(browser.isPresent() && driver.isPresent(), "no chromium and chromedriver on PATH: install Debian's "
                + "chromium and chromium-driver packages (.ci/run does) to look at the report in a browser");
        ComparedOnce c = ComparedOnce.get();
        assertThat(c.run.exitCode()).as(c.run.err()).isZero();

        ChromeOptions options = new ChromeOptions();
        options.setBinary(browser.get().toFile());
        // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.get().toFile())
                .usingAnyFreePort().build();
        ChromeDriver chrome = new ChromeDriver(service, options);
        try {
            chrome.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60));
            chrome.get(c.out().resolve("report.html").toUri().toString());
            List<WebElement> images = chrome.findElements(By.tagName("img"));
            // loss curves, quality vs parameters, two heat maps, one spectrum per method
            assertThat(images).hasSize(4 + ComparedOnce.METHODS.size());
            for (WebElement image : images) {
                Object width = ((JavascriptExecutor) chrome).executeScript(
                        "return arguments[0].complete ? arguments[0].naturalWidth : -1;", image);
                assertThat(((Number) width).intValue()).as(image.getAttribute("alt")).isPositive();
            }
            List<WebElement> rows = chrome.findElements(By.cssSelector("table#methods tbody tr"));
            assertThat(rows).hasSize(ComparedOnce.METHODS.size());
            assertThat(rows.stream().map(r -> r.findElement(By.tagName("td")).getText()).toList())
                    .containsExactlyElementsOf(ComparedOnce.METHODS);
        } finally {
            chrome.quit();
        }
    }

    private static Optional<Path> onPath(String... names) {
        String path = System.getenv().getOrDefault("PATH", "");
        return Stream.of(names).flatMap(n -> Stream.of(path.split(File.pathSeparator)).map(d -> Path.of(d, n)))
                .filter(Files::isExecutable).findFirst();
    }
}
