package dev.peftd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.context.annotation.ClassPathScanningCandidateComponentProvider;
import org.springframework.core.type.filter.AnnotationTypeFilter;

/**
 * The settings' one source of defaults is {@code application.properties} ({@code peftd.x=${PEFTD_X:default}}); the
 * records only check values. This test holds the README to it: every variable mapped there is named in the README's
 * Configuration or "Limits and security" tables (or, for the health knobs, in the prose as {@code `VAR` (default}),
 * with the same default; and every record binds from those defaults.
 */
class ReadmeSettingsTest {

    private static final Pattern MAPPED = Pattern.compile("^([a-z0-9.-]+)=\\$\\{(PEFTD_[A-Z0-9_]+):([^}]*)}$");
    private static final Pattern VARIABLE = Pattern.compile("`((?:PEFTD|…)_[A-Z0-9_]+)`");
    /** README words for "nothing set": the property's default is blank. */
    private static final Set<String> BLANK = Set.of("–", "generated", "SDK default chain", "AWS", "engine default");
    private static final Pattern QUANTITY = Pattern.compile("(\\d[\\d,]*)\\s*(MiB|MB|GB|KB|min|ms|s|m)?(?![A-Za-z])");

    @Test
    void theReadmeNamesEveryMappedVariableWithItsDefault() throws IOException {
        Map<String, String> expected = mappedDefaults();
        String readme = Files.readString(Path.of("README.md"));
        Map<String, List<String>> documented = tableDefaults(readme, expected.keySet());
        List<String> drift = new ArrayList<>();
        expected.forEach((variable, value) -> {
            List<String> readmeDefaults = documented.getOrDefault(variable, new ArrayList<>());
            if (readmeDefaults.isEmpty() && proseDefault(readme, variable) != null) {
                readmeDefaults.add(proseDefault(readme, variable));
            }
            if (readmeDefaults.isEmpty()) {
                drift.add(variable + " (default '" + value + "') is not in the README");
            }
            for (String readmeDefault : readmeDefaults) {
                if (!sameDefault(variable, readmeDefault, value)) {
                    drift.add(variable + ": README says '" + readmeDefault + "', application.properties '" + value + "'");
                }
            }
        });
        assertThat(drift).as("README vs application.properties").isEmpty();
        assertThat(expected).containsKeys("PEFTD_SERVING_MAX_CONCURRENT", "PEFTD_STORAGE_S3_SECRET_KEY",
                "PEFTD_FILES_MAX_SIZE");
    }

    @Test
    void everySettingsRecordBindsFromTheDefaults() throws ClassNotFoundException {
        var scanner = new ClassPathScanningCandidateComponentProvider(false);
        scanner.addIncludeFilter(new AnnotationTypeFilter(ConfigurationProperties.class));
        var binder = SettingsSources.binder(Map.of());
        int records = 0;
        for (BeanDefinition definition : scanner.findCandidateComponents("dev.peftd")) {
            Class<?> type = Class.forName(definition.getBeanClassName());
            String prefix = type.getAnnotation(ConfigurationProperties.class).value();
            assertThat(binder.bind(prefix, Bindable.of(type)).isBound()).as(type.getName()).isTrue();
            records++;
        }
        assertThat(records).isGreaterThanOrEqualTo(11);
    }

    @Test
    void aBadValueStopsStartUpNamingTheProperty() throws ClassNotFoundException {
        Class<?> worker = Class.forName("dev.peftd.worker.WorkerSettings");
        assertThatThrownBy(() -> SettingsSources.binder(Map.of("PEFTD_WORKER_COUNT", "-1"))
                .bind("peftd.worker", Bindable.of(worker)))
                .hasRootCauseMessage("peftd.worker.count (PEFTD_WORKER_COUNT) must be between 0 and 256, got -1");
        assertThatThrownBy(() -> SettingsSources.binder(Map.of("PEFTD_WORKER_DEVICES", "tpu"))
                .bind("peftd.worker", Bindable.of(worker)))
                .hasRootCauseMessage("peftd.worker.devices (PEFTD_WORKER_DEVICES): 'tpu' is not cpu or gpu:N");
        assertThatThrownBy(() -> SettingsSources.binder(Map.of("PEFTD_STORAGE_S3_CHECKSUMS", "crc64"))
                .bind("peftd.storage.s3", Bindable.of(dev.peftd.storage.S3Settings.class)))
                .hasRootCauseMessage("peftd.storage.s3.checksums (PEFTD_STORAGE_S3_CHECKSUMS) must be when_supported or "
                        + "when_required, got 'crc64'");
    }

    /** Variable → default, from application.properties; a variable mapped twice must have one default. */
    private static Map<String, String> mappedDefaults() throws IOException {
        Map<String, String> defaults = new TreeMap<>();
        for (String line : Files.readAllLines(Path.of("src/main/resources/application.properties"))) {
            Matcher m = MAPPED.matcher(line.trim());
            if (m.matches()) {
                String previous = defaults.put(m.group(2), m.group(3));
                assertThat(previous == null || previous.equals(m.group(3)))
                        .as(m.group(2) + " has two defaults: " + previous + ", " + m.group(3)).isTrue();
            }
        }
        return defaults;
    }

    /**
     * Variable → README default from every table with a "default" column and a variable column; a row naming several
     * variables ({@code `PEFTD_STORAGE_S3_ENDPOINT`, `…_REGION`}) gives them the comma-separated defaults in order; a
     * variable in two tables has both defaults.
     */
    static Map<String, List<String>> tableDefaults(String readme, Set<String> known) {
        Map<String, List<String>> defaults = new LinkedHashMap<>();
        String[] lines = readme.split("\n");
        int defaultColumn = -1;
        int variableColumn = -1;
        for (int i = 0; i < lines.length; i++) {
            if (!lines[i].startsWith("|")) {
                defaultColumn = -1;
                continue;
            }
            List<String> cells = cells(lines[i]);
            if (i + 1 < lines.length && lines[i + 1].startsWith("| ---")) {
                defaultColumn = cells.indexOf("default");
                variableColumn = cells.indexOf("environment variable") >= 0 ? cells.indexOf("environment variable")
                        : cells.indexOf("variable") >= 0 ? cells.indexOf("variable") : cells.indexOf("setting");
                i++;
                continue;
            }
            if (defaultColumn < 0 || variableColumn < 0) {
                continue;
            }
            List<String> variables = variables(cells.get(variableColumn), known);
            String[] values = cells.get(defaultColumn).split(",\\s*");
            for (int v = 0; v < variables.size(); v++) {
                String value = values.length == variables.size() ? values[v] : cells.get(defaultColumn);
                defaults.computeIfAbsent(variables.get(v), k -> new ArrayList<>()).add(value.replace("`", "").trim());
            }
        }
        return defaults;
    }

    private static List<String> cells(String row) {
        List<String> cells = new ArrayList<>();
        for (String cell : row.substring(1, row.lastIndexOf('|')).split("\\|")) {
            cells.add(cell.trim());
        }
        return cells;
    }

    /** {@code …_REGION} after {@code PEFTD_STORAGE_S3_ENDPOINT}: the first one's name with trailing parts replaced. */
    private static List<String> variables(String cell, Set<String> known) {
        List<String> variables = new ArrayList<>();
        Matcher m = VARIABLE.matcher(cell);
        while (m.find()) {
            String name = m.group(1);
            if (name.startsWith("…") && !variables.isEmpty()) {
                name = expand(variables.get(0), name.substring(1), known);
            }
            variables.add(name);
        }
        return variables;
    }

    private static String expand(String first, String tail, Set<String> known) {
        String stem = first;
        while (stem.contains("_")) {
            stem = stem.substring(0, stem.lastIndexOf('_'));
            if (known.contains(stem + tail)) {
                return stem + tail;
            }
        }
        return "…" + tail;
    }

    /** {@code `PEFTD_HEALTH_DB_LIVENESS_GRACE` (60 s; …} or {@code `…_CHECK_INTERVAL`, 5 s)} in the prose. */
    private static String proseDefault(String readme, String variable) {
        Matcher m = Pattern.compile("`" + variable + "`\\s*[(,]\\s*([^;),]+)").matcher(readme);
        return m.find() ? m.group(1).trim() : null;
    }

    static boolean sameDefault(String variable, String readme, String properties) {
        if (BLANK.contains(readme) || properties.isEmpty()) {
            return BLANK.contains(readme) && properties.isEmpty();
        }
        if (readme.equals(properties)) {
            return true;
        }
        Matcher written = QUANTITY.matcher(readme);
        Matcher value = QUANTITY.matcher(properties);
        if (!written.find() || !value.matches()) {
            return false;
        }
        String valueUnit = value.group(2);
        if (valueUnit == null && written.group(2) != null && isSize(written.group(2))) {
            valueUnit = variable.endsWith("_MB") ? "MB" : "B"; // a bare size is in the unit its name ends with
        }
        return canonical(written.group(1), written.group(2)).equals(canonical(value.group(1), valueUnit));
    }

    private static boolean isSize(String unit) {
        return unit.endsWith("B");
    }

    /** Bytes for sizes (the README's MiB is Spring's MB), milliseconds for durations, else the number. */
    private static String canonical(String number, String unit) {
        long n = Long.parseLong(number.replace(",", ""));
        if (unit == null) {
            return Long.toString(n);
        }
        return switch (unit) {
            case "B" -> "bytes:" + n;
            case "KB" -> "bytes:" + (n << 10);
            case "MB", "MiB" -> "bytes:" + (n << 20);
            case "GB" -> "bytes:" + (n << 30);
            case "ms" -> "ms:" + n;
            case "s" -> "ms:" + n * 1000;
            case "m", "min" -> "ms:" + n * 60_000;
            default -> throw new IllegalArgumentException(unit);
        };
    }
}
