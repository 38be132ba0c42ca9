package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.core.adapter.Method;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's hyperparameters table ("Fine-tuning API by example") against {@link MethodSettings}: every setting is
 * listed, and every default it states is the factory's, per method. A default changed in one place fails here.
 */
class ReadmeDefaultsTest {

    private static final Pattern NAME = Pattern.compile("`([a-z_]+)`");
    /** {@code 8 (VeRA 256)}: a default and per-method exceptions. */
    private static final Pattern OVERRIDE = Pattern.compile("\\(([A-Za-z+-]+) ([^)]+)\\)");

    @Test
    void theReadmeTableStatesTheFactorysDefaults() throws IOException {
        Map<String, String> table = defaultsTable();
        assertThat(table.keySet()).as("every setting documented").containsExactlyInAnyOrderElementsOf(
                MethodSettings.NAMES);
        int compared = 0;
        for (Method method : Method.values()) {
            Map<String, Object> defaults = MethodSettings.defaults(method);
            for (Map.Entry<String, String> row : table.entrySet()) {
                String name = row.getKey();
                if (!MethodSettings.appliesTo(name, method) || name.equals(MethodSettings.LEARNING_RATE_MULTIPLIER)) {
                    continue;
                }
                String stated = forMethod(row.getValue(), method);
                if (stated.replace("`", "").startsWith("PEFTD_")) {
                    continue;   // the service's setting (checkpoint_every), given to the factory by the API
                }
                if (stated.equals("–")) {
                    assertThat(defaults).as(name).doesNotContainKey(name);
                } else {
                    assertThat(render(defaults.get(name))).as(method + " " + name).isEqualTo(normalize(stated));
                }
                compared++;
            }
        }
        assertThat(compared).as("method × setting pairs compared").isEqualTo(103);
        assertThat(forMethod(table.get(MethodSettings.LEARNING_RATE_MULTIPLIER), Method.LORA)).isEqualTo("1");
    }

    /** The stated default for one method: its exception in parentheses, or the plain value. */
    private static String forMethod(String cell, Method method) {
        Matcher m = OVERRIDE.matcher(cell);
        while (m.find()) {
            if (label(m.group(1)).equals(method)) {
                return m.group(2).strip();
            }
        }
        return OVERRIDE.matcher(cell).replaceAll("").strip();
    }

    private static Method label(String readmeName) {
        return switch (readmeName) {
            case "VeRA" -> Method.VERA;
            case "LoRA-FA" -> Method.LORA_FA;
            case "Delta-LoRA" -> Method.DELTA_LORA;
            case "LoRA+" -> Method.LORA_PLUS;
            default -> Method.LORA;
        };
    }

    private static String normalize(String stated) {
        String s = stated.replace("`", "").replace("\"", "");
        try {
            return render(Double.parseDouble(s));
        } catch (NumberFormatException e) {
            return s;
        }
    }

    private static String render(Object value) {
        if (value instanceof Number n) {
            return Double.toString(n.doubleValue());
        }
        return String.valueOf(value);
    }

    /**
     * The table's rows as setting → default cell. A row may name several settings ({@code `a`, `b`} or
     * {@code `a` / `b`}); its default cell then lists their defaults in the same order with the same separator.
     */
    static Map<String, String> defaultsTable() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("README.md"));
        int start = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("Hyperparameters (`method.<type>.hyperparameters`")) {
                start = i;
                break;
            }
        }
        assertThat(start).as("the README's hyperparameters paragraph").isNotNegative();
        while (!lines.get(start).startsWith("| name | default |")) {
            start++;
        }
        Map<String, String> rows = new LinkedHashMap<>();
        for (int i = start + 2; i < lines.size() && lines.get(i).startsWith("|"); i++) {
            String[] cells = lines.get(i).split("\\|");
            List<String> names = new ArrayList<>();
            Matcher m = NAME.matcher(cells[1]);
            while (m.find()) {
                names.add(m.group(1));
            }
            String separator = cells[1].contains(" / ") ? " / " : ", ";
            String[] values = names.size() == 1 ? new String[] {cells[2].strip()} : cells[2].strip().split(separator);
            assertThat(values).as(lines.get(i)).hasSize(names.size());
            for (int k = 0; k < names.size(); k++) {
                assertThat(rows.put(names.get(k), values[k].strip())).as("listed twice: " + names.get(k)).isNull();
            }
        }
        return rows;
    }
}
