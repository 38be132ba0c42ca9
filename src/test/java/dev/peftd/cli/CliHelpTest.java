package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code --help} on every command, {@code help <command>}, unknown commands, and when the jar starts the service. */
class CliHelpTest {

    /** The commands {@code help} lists, read from its output so a new command is covered without editing this test. */
    private static List<String> listedCommands() {
        CliRun help = CliRun.of("help");
        assertThat(help.exitCode()).isZero();
        String line = help.out().lines().filter(l -> l.startsWith("commands: ")).findFirst().orElseThrow();
        return List.of(line.substring("commands: ".length()).split(", "));
    }

    @ParameterizedTest
    @ValueSource(strings = {"--help", "-h"})
    void everyCommandPrintsItsUsageAndExits0(String flag) {
        List<String> commands = listedCommands();
        assertThat(commands).contains("generate", "score", "train", "merge", "analyze", "bench", "version");
        for (String command : commands) {
            CliRun run = CliRun.of(command, flag);
            assertThat(run.exitCode()).as("%s %s: %s", command, flag, run.err()).isZero();
            assertThat(run.err()).isEmpty();
            assertThat(run.out()).as(command).startsWith("usage: " + (command.equals("bench") ? "bench " : command));
            assertThat(CliRun.of("help", command).out()).isEqualTo(run.out());
        }
    }

    @Test
    void everyBenchmarkPrintsItsUsageAndExits0() {
        for (String bench : List.of("generate", "train", "train-one", "serving")) {
            for (String flag : List.of("--help", "-h")) {
                CliRun run = CliRun.of("bench", bench, flag);
                assertThat(run.exitCode()).as("bench %s %s: %s", bench, flag, run.err()).isZero();
                assertThat(run.out()).startsWith("usage: bench " + bench + " ");
            }
            assertThat(CliRun.of("bench", "--help").out()).contains("usage: bench " + bench + " ");
        }
    }

    @Test
    void helpAfterOtherOptionsStillPrintsTheUsage() {
        CliRun run = CliRun.of("train", "--model", "somewhere", "--method", "lora", "--help");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).startsWith("usage: train");
        CliRun bench = CliRun.of("bench", "generate", "--runs", "3", "-h");
        assertThat(bench.exitCode()).isZero();
        assertThat(bench.out()).isEqualTo(Benchmarks.GENERATE_HELP + System.lineSeparator());
        // as the value of an option, -h is a value (a prompt may be "-h")
        GenerateCommandTest.assertUsageError(CliRun.of("generate", "--prompt", "-h"), "--max-tokens is required");
    }

    @Test
    void theHelpOfACommandNamesEveryOptionItTakes() {
        assertNamesEveryOption(CliRun.of("train", "--help").out(), TrainOptions.VALUED, TrainOptions.FLAGS);
        assertNamesEveryOption(CliRun.of("generate", "--help").out(), GenerateCommand.VALUED, GenerateCommand.FLAGS);
        assertNamesEveryOption(CliRun.of("score", "--help").out(), ScoreCommand.VALUED, ScoreCommand.FLAGS);
    }

    private static void assertNamesEveryOption(String help, Set<String> valued, Set<String> flags) {
        Set<String> options = new TreeSet<>(valued);
        options.addAll(flags);
        for (String option : options) {
            assertThat(help).as("help mentions --%s", option).containsPattern("--" + option + "(?![\\w-])");
        }
    }

    @Test
    void anUnknownCommandPrintsTheUsageAndExits2() {
        String[] typo = {"compre", "--model", "x"};
        assertThat(Cli.startsService(typo)).isFalse();
        CliRun run = CliRun.of(typo);
        assertThat(run.exitCode()).isEqualTo(Cli.USAGE_ERROR);
        assertThat(run.err()).startsWith("peftd: unknown command 'compre'").contains("usage: java -jar peftd.jar")
                .contains("commands: ");
        assertThat(run.out()).isEmpty();
        assertThat(CliRun.of("help", "compre").exitCode()).isEqualTo(Cli.USAGE_ERROR);
    }

    @Test
    void theServiceStartsWithNoArgumentsServeOrOnlySpringProperties() {
        assertThat(Cli.startsService(new String[0])).isTrue();
        assertThat(Cli.startsService(new String[] {"serve"})).isTrue();
        assertThat(Cli.startsService(new String[] {"--server.port=8081"})).isTrue();
        assertThat(Cli.startsService(new String[] {"serve", "--server.port=8081", "--debug"})).isTrue();
        assertThat(Cli.serviceArguments(new String[] {"serve", "--server.port=8081"})).containsExactly("--server.port=8081");
        assertThat(Cli.serviceArguments(new String[] {"--server.port=8081"})).containsExactly("--server.port=8081");

        for (String[] notTheService : List.of(new String[] {"--help"}, new String[] {"-h"}, new String[] {"help"},
                new String[] {"serve", "--help"}, new String[] {"serve", "8081"}, new String[] {"train"},
                new String[] {"--server.port=8081", "train"})) {
            assertThat(Cli.startsService(notTheService)).as(String.join(" ", notTheService)).isFalse();
        }
        CliRun serveHelp = CliRun.of("serve", "--help");
        assertThat(serveHelp.exitCode()).isZero();
        assertThat(serveHelp.out()).isEqualTo(Cli.SERVE_USAGE + System.lineSeparator());
        CliRun stray = CliRun.of("serve", "8081");
        assertThat(stray.exitCode()).isEqualTo(Cli.USAGE_ERROR);
        assertThat(stray.err()).startsWith("peftd serve: '8081' is not a Spring Boot property");
    }
}
