package dev.peftd.comparison;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.core.adapter.Method;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.train.MethodSettings;
import dev.peftd.core.train.StepReport;
import dev.peftd.core.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-process engine: fresh base per run, one adapter directory per method and seed, a report after every run. */
class LocalComparisonTest {

    @TempDir
    Path dir;

    @Test
    void trainsEachRunOnAFreshBaseAndReportsAfterEachRun() throws IOException {
        Path data = dir.resolve("d.jsonl");
        Files.write(data, List.of("{\"text\": \"speak the people and hear\"}", "{\"text\": \"the citizen resolved\"}",
                "{\"text\": \"famish the enemy, proceed\"}"));
        Map<String, String> given = Map.of("max_steps", "2", "batch_size", "2", "max_seq_length", "16", "r", "2",
                "learning_rate", "1e-2", "delta_start_step", "-1");
        // Delta-LoRA first: it moves the base weights, so LoRA after it must still start from the same base loss
        List<MethodSettings> runs = List.of(MethodSettings.parse(Method.DELTA_LORA, given, 7),
                MethodSettings.parse(Method.LORA, Map.of("max_steps", "2", "batch_size", "2", "max_seq_length", "16",
                        "r", "2", "learning_rate", "1e-2"), 7));
        List<Integer> reported = new ArrayList<>();
        double[] resets = {0};
        LocalComparison engine = new LocalComparison(TestModels.tinyLlama(), "tiny-llama", data, data,
                new LocalComparison.MemoryGauge() {
                    @Override
                    public void resetPeak() {
                        resets[0]++;
                    }

                    @Override
                    public double peakMb() {
                        return 123;
                    }
                });
        List<MethodRun> done = engine.run(runs, dir.resolve("out"), new LocalComparison.Progress() {
            @Override
            public TrainingListener starting(String method, long seed, int index, int count) {
                return (StepReport r) -> { };
            }

            @Override
            public void finished(List<MethodRun> soFar) throws IOException {
                reported.add(soFar.size());
                ReportFiles.write(new ComparisonReport("tiny", "d", "d", Map.of(), soFar), dir.resolve("out"));
            }
        });
        assertThat(reported).containsExactly(1, 2);
        assertThat(resets[0]).isEqualTo(2);
        assertThat(done).extracting(MethodRun::method).containsExactly("delta_lora", "lora");
        assertThat(done.get(1).evalLossBefore()).isEqualTo(done.get(0).evalLossBefore());
        assertThat(done.get(0).peakRssMb()).isEqualTo(123);
        assertThat(dir.resolve("out/adapters/delta_lora/seed-7/adapter_model.safetensors")).isRegularFile();
        assertThat(dir.resolve("out/adapters/lora/seed-7/adapter_model.safetensors")).isRegularFile();
        assertThat(Files.readString(dir.resolve("out/report.json"))).contains("\"method\": \"delta_lora\"",
                "\"method\": \"lora\"");
    }
}
