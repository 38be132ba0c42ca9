package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.bench.TrainBenchmark;
import dev.peftd.core.model.TestModels;
import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmarks run from the command line over their own package: {@code bench serving} measures the serving engine
 * through its public face only (base, unmerged adapter, merged checkpoint, cold load and swaps), {@code bench train}
 * finds its Python on PATH rather than on one machine's path, and counts must be positive.
 */
class BenchmarksTest {

    @Test
    void benchServingMeasuresTheEngineThroughItsPublicFace() throws URISyntaxException {
        Path adapter = Path.of(getClass().getClassLoader()
                .getResource("fixtures/adapters/llama-lora/adapter_config.json").toURI()).getParent();
        CliRun run = CliRun.of("bench", "serving", "--model", TestModels.tinyLlama().toString(), "--adapter",
                adapter.toString(), "--prompt-tokens", "8", "--new-tokens", "4", "--runs", "1", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonObject report = JsonParser.parseString(run.out().strip()).getAsJsonObject();
        for (String rate : new String[] {"decode_base_tokens_per_s", "decode_unmerged_tokens_per_s",
                "decode_merged_tokens_per_s", "adapter_cold_load_from_store_ms", "adapter_swap_evicted_ms",
                "adapter_device_mb"}) {
            assertThat(report.get(rate).getAsDouble()).as(rate).isPositive();
        }
        assertThat(report.get("runs").getAsInt()).isEqualTo(1);
    }

    /** What tools/bench/generate_bench.sh reads from peftd's side, next to transformers' in the same dtype. */
    @Test
    void benchGenerateReportsTheSideBySideFieldsInItsDtype() {
        CliRun run = CliRun.of("bench", "generate", "--model", TestModels.tinyLlama().toString(), "--dtype",
                "bfloat16", "--prompt-tokens", "8", "--new-tokens", "4", "--runs", "1", "--threads", "1", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonObject report = JsonParser.parseString(run.out().strip()).getAsJsonObject();
        assertThat(report.get("dtype").getAsString()).isEqualTo("bfloat16");
        for (String field : new String[] {"prefill_tokens_per_s", "decode_tokens_per_s",
                "generator_decode_tokens_per_s", "rss_mb_peak"}) {
            assertThat(report.get(field).getAsDouble()).as(field).isPositive();
        }
    }

    @Test
    void benchServingBatchMeasuresStreamsOverAdaptersBaseAndTheOneSequencePath(@TempDir Path tmp) throws Exception {
        Path adapters = fixtureAdapters(tmp, "llama-lora", "llama-vera");
        CliRun run = CliRun.of("bench", "serving-batch", "--model", TestModels.tinyLlama().toString(), "--adapters",
                adapters.toString(), "--streams", "1,3", "--prompt-tokens", "8", "--new-tokens", "4", "--runs", "1",
                "--dtype", "bfloat16", "--pass-threads", "1", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonObject report = JsonParser.parseString(run.out().strip()).getAsJsonObject();
        assertThat(report.get("dtype").getAsString()).as("float32 adapters on a bf16 base").isEqualTo("bfloat16");
        assertThat(report.get("pass_threads").getAsInt()).isEqualTo(1);
        assertThat(report.get("adapters").getAsInt()).isEqualTo(2);
        var rows = report.getAsJsonArray("results");
        assertThat(rows).hasSize(2);
        assertThat(rows.get(1).getAsJsonObject().get("streams").getAsDouble()).isEqualTo(3);
        for (var row : rows) {
            for (String rate : new String[] {"adapters_tokens_per_s", "base_tokens_per_s", "unbatched_tokens_per_s"}) {
                assertThat(row.getAsJsonObject().get(rate).getAsDouble()).as(rate).isPositive();
            }
            assertThat(row.getAsJsonObject().get("adapters_over_base").getAsDouble())
                    .as("with one run the paired ratio is that run's adapters over base")
                    .isCloseTo(row.getAsJsonObject().get("adapters_tokens_per_s").getAsDouble()
                            / row.getAsJsonObject().get("base_tokens_per_s").getAsDouble(), within(1e-9));
        }
        GenerateCommandTest.assertUsageError(CliRun.of("bench", "serving-batch", "--model", "x", "--adapters", "y",
                "--streams", "1,x"), "--streams: 'x' is not a number");
        GenerateCommandTest.assertUsageError(CliRun.of("bench", "serving-batch", "--model", "x", "--adapters", "y",
                "--pass-threads", "0"), "--pass-threads: give auto or a count of at least 1, got '0'");
    }

    @Test
    void benchAdapterRowsTimesEachFormOfTheRowsDeltasAndNamesThePathsGroupedHookTook(@TempDir Path tmp)
            throws Exception {
        Path adapters = fixtureAdapters(tmp, "llama-lora");
        CliRun run = CliRun.of("bench", "adapter-rows", "--model", TestModels.tinyLlama().toString(), "--adapters",
                adapters.toString(), "--rows", "8", "--steps", "2", "--flush-mb", "0", "--threads", "1", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonObject report = JsonParser.parseString(run.out().strip()).getAsJsonObject();
        var row = report.getAsJsonArray("results").get(0).getAsJsonObject();
        assertThat(row.get("rows").getAsInt()).isEqualTo(8);
        for (String form : new String[] {"base_ms", "java_ms", "merged_ms", "gathered_ms"}) {
            assertThat(row.get(form).getAsDouble()).as(form).isPositive();
        }
        assertThat(row.get("paths").getAsString()).as("8 rows of a float32 CPU decode step: Java deltas, then stacks")
                .startsWith("HOST,").contains("/ MERGED,").endsWith("GATHERED,GATHERED");
        GenerateCommandTest.assertUsageError(CliRun.of("bench", "adapter-rows", "--model", "x", "--adapters", "y",
                "--flush-mb", "-1"), "--flush-mb must be at least 0");
    }

    /** A folder of copies of the named fixture adapters, as tools/bench/peft_mixed_batch.py lays them out. */
    private Path fixtureAdapters(Path tmp, String... names) throws Exception {
        Path adapters = Files.createDirectories(tmp.resolve("adapters"));
        for (String name : names) {
            Path from = Path.of(getClass().getClassLoader()
                    .getResource("fixtures/adapters/" + name + "/adapter_config.json").toURI()).getParent();
            Path to = Files.createDirectories(adapters.resolve(name));
            try (var files = Files.list(from)) {
                for (Path f : files.toList()) {
                    Files.copy(f, to.resolve(f.getFileName()));
                }
            }
        }
        return adapters;
    }

    @Test
    void benchTrainsPythonIsTheFirstPython3OnThePath(@TempDir Path tmp) throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path python = Files.createFile(bin.resolve("python3"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        assertThat(TrainBenchmark.python3OnPath(empty + File.pathSeparator + bin)).contains(python);
        assertThat(TrainBenchmark.python3OnPath(empty.toString())).isEmpty();
        assertThat(TrainBenchmark.python3OnPath(null)).isEmpty();
        Files.setPosixFilePermissions(python, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(TrainBenchmark.python3OnPath(bin.toString())).as("not executable").isEmpty();
    }

    @Test
    void countsMustBePositive() {
        GenerateCommandTest.assertUsageError(CliRun.of("bench", "generate", "--model", "x", "--runs", "0"),
                "--runs must be at least 1, got 0");
        GenerateCommandTest.assertUsageError(CliRun.of("bench", "train", "--python", "python3", "--steps", "-1"),
                "--steps must be at least 1, got -1");
    }

    @Test
    void benchTrainTakesAFixedDtypeForBothStacks() {
        GenerateCommandTest.assertUsageError(CliRun.of("bench", "train", "--python", "python3", "--dtype", "auto"),
                "--dtype: bench train needs float32, bfloat16 or float16");
        GenerateCommandTest.assertUsageError(CliRun.of("bench", "train", "--python", "python3", "--dtype", "bf17"),
                "--dtype");
    }
}
