package dev.peftd.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The traps the half-precision fence exists for, each shown to kill a child JVM (std::terminate: no exception, no
 * finally, exit by SIGABRT), and the fence's own calls shown to survive in the same harness. If a DJL release
 * fixes BF16, the trap cases fail and say so: then the fence can be relaxed.
 */
class HalfFenceAbortTest {

    private record Outcome(int exitCode, String stdout) {
    }

    private static Outcome runProbe(String mode) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(java.toString(), "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                HalfFenceProbe.class.getName(), mode).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "probe " + mode + " did not finish");
        return new Outcome(process.exitValue(), out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"create-bf16", "create-int16", "totype-bf16", "zeroslike-half"})
    void aDjlCallThatAllocatesByHalfDtypeKillsTheJvm(String mode) throws Exception {
        Outcome outcome = runProbe(mode);
        assertNotEquals(0, outcome.exitCode(), mode + " should abort; output:\n" + outcome.stdout());
        assertFalse(outcome.stdout().contains(HalfFenceProbe.SURVIVED), mode + " returned normally:\n" + outcome.stdout());
    }

    @Test
    void theFenceSurvivesEverythingAHalfModelDoes() throws Exception {
        Outcome outcome = runProbe("fence");
        assertEquals(0, outcome.exitCode(), outcome.stdout());
        assertTrue(outcome.stdout().contains(HalfFenceProbe.SURVIVED), outcome.stdout());
    }
}
