package dev.peftd.queue;

import static dev.peftd.queue.JobState.CANCELLED;
import static dev.peftd.queue.JobState.CANCELLING;
import static dev.peftd.queue.JobState.FAILED;
import static dev.peftd.queue.JobState.PAUSED;
import static dev.peftd.queue.JobState.PAUSING;
import static dev.peftd.queue.JobState.QUEUED;
import static dev.peftd.queue.JobState.RUNNING;
import static dev.peftd.queue.JobState.SUCCEEDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The lifecycle's arrows, written out here independently of the table in {@link JobState}. */
class JobStateTest {

    /** Who makes each move: claim, cancel and pause and resume (API), finish (worker), release (shutdown), reaper. */
    private static final Map<JobState, Set<JobState>> ARROWS = Map.of(
            QUEUED, EnumSet.of(RUNNING, CANCELLED, PAUSED),
            RUNNING, EnumSet.of(CANCELLING, PAUSING, SUCCEEDED, FAILED, CANCELLED, QUEUED),
            CANCELLING, EnumSet.of(SUCCEEDED, FAILED, CANCELLED),
            // the worker checkpoints and lets go (release) or dies (reaper); a cancel overrides the pause; a run that
            // ended before it saw the request finishes as it would have
            PAUSING, EnumSet.of(PAUSED, CANCELLING, SUCCEEDED, FAILED, CANCELLED),
            PAUSED, EnumSet.of(QUEUED, CANCELLED),
            SUCCEEDED, EnumSet.noneOf(JobState.class),
            FAILED, EnumSet.noneOf(JobState.class),
            CANCELLED, EnumSet.noneOf(JobState.class));

    @Test
    void everyArrowIsAllowedAndEveryOtherMoveIsRefusedWithATypedException() {
        int allowed = 0;
        int refused = 0;
        for (JobState from : JobState.values()) {
            for (JobState to : JobState.values()) {
                if (ARROWS.get(from).contains(to)) {
                    assertThat(from.canMoveTo(to)).as(from + " -> " + to).isTrue();
                    assertThat(from.moveTo(to)).isEqualTo(to);
                    allowed++;
                } else {
                    assertThat(from.canMoveTo(to)).as(from + " -> " + to).isFalse();
                    assertThatThrownBy(() -> from.moveTo(to)).isInstanceOfSatisfying(JobState.IllegalTransition.class,
                            e -> {
                                assertThat(e.from()).isEqualTo(from);
                                assertThat(e.to()).isEqualTo(to);
                                assertThat(e).hasMessage("a " + from.wire() + " job cannot become " + to.wire());
                            });
                    refused++;
                }
            }
        }
        assertThat(allowed).isEqualTo(19);
        assertThat(allowed + refused).isEqualTo(64);
    }

    @Test
    void terminalStatesHaveNoWayOutAndActiveOnesAreTheRest() {
        assertThat(EnumSet.allOf(JobState.class).stream().filter(JobState::terminal))
                .containsExactly(SUCCEEDED, FAILED, CANCELLED);
        assertThat(EnumSet.allOf(JobState.class).stream().filter(JobState::active))
                .containsExactly(QUEUED, RUNNING, CANCELLING, PAUSING, PAUSED);
        // a paused job holds no worker and no lease, yet counts as active (a tenant's limit, its files in use)
        assertThat(JobState.LEASED).containsExactly(RUNNING, CANCELLING, PAUSING);
        assertThat(JobState.into(CANCELLED)).containsExactly(QUEUED, RUNNING, CANCELLING, PAUSING, PAUSED);
        assertThat(JobState.into(PAUSED)).containsExactly(QUEUED, PAUSING);
    }

    /** The names the API returns and the status column's check constraint allows. */
    @Test
    void wireNamesAreTheLowerCaseNamesAndReadBack() {
        assertThat(Stream.of(JobState.values()).map(JobState::wire))
                .containsExactly("queued", "running", "cancelling", "pausing", "paused", "succeeded", "failed",
                        "cancelled");
        for (JobState state : JobState.values()) {
            assertThat(JobState.fromWire(state.wire())).isEqualTo(state);
            assertThat(state.toString()).isEqualTo(state.wire());
        }
        assertThatThrownBy(() -> JobState.fromWire("QUEUED")).isInstanceOf(IllegalArgumentException.class);
        assertThat(JobState.sqlList(EnumSet.of(CANCELLING, RUNNING))).isEqualTo("('running', 'cancelling')");
    }

    /** The newest migration that sets the status column's check names exactly the lifecycle's states. */
    @Test
    void theStatusColumnAcceptsExactlyTheLifecycleStates() throws IOException {
        Pattern check = Pattern.compile("check \\(status in\\s*\\(('queued'[^)]*)\\)\\)");
        String newest = null;
        try (Stream<Path> migrations = Files.list(Path.of("src/main/resources/db/migration"))) {
            for (Path migration : migrations.sorted(JobStateTest::byVersion).toList()) {
                Matcher m = check.matcher(Files.readString(migration));
                if (m.find()) {
                    newest = m.group(1);
                }
            }
        }
        assertThat(newest).isNotNull();
        assertThat(Stream.of(newest.split(",")).map(s -> s.strip().replace("'", "")))
                .containsExactlyInAnyOrder(Stream.of(JobState.values()).map(JobState::wire).toArray(String[]::new));
    }

    /** Flyway's order: V5_13_3 after V5 and before V6, part by part as numbers. */
    private static int byVersion(Path a, Path b) {
        String[] x = version(a);
        String[] y = version(b);
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int c = Integer.compare(i < x.length ? Integer.parseInt(x[i]) : 0, i < y.length ? Integer.parseInt(y[i]) : 0);
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    private static String[] version(Path migration) {
        String name = migration.getFileName().toString();
        return name.substring(1, name.indexOf("__")).split("[._]");
    }

    @Test
    void aStatementCannotBeBuiltForAMoveTheLifecycleLacks() {
        assertThat(JobState.sqlMove(JobState.LEASED, FAILED)).isEqualTo("'failed'");
        assertThatThrownBy(() -> JobState.sqlMove(Set.of(RUNNING, SUCCEEDED), QUEUED))
                .isInstanceOf(JobState.IllegalTransition.class).hasMessage("a succeeded job cannot become queued");
    }

    /**
     * No code spells a state itself: every state in Java and SQL strings comes from {@link JobState}. The core and the
     * CLI know nothing of jobs ({@code "cancelled"} there is a training result's field) and are not scanned.
     */
    @Test
    void noStateIsSpelledOutsideTheLifecycleType() throws IOException {
        Path main = Path.of("src/main/java/dev/peftd");
        Pattern quoted = Pattern.compile("['\"](" + String.join("|",
                Stream.of(JobState.values()).map(JobState::wire).toList()) + ")['\"]");
        List<String> found = new ArrayList<>();
        try (Stream<Path> sources = Files.walk(main)) {
            for (Path source : sources.filter(p -> p.toString().endsWith(".java")).toList()) {
                String relative = main.relativize(source).toString().replace('\\', '/');
                if (relative.startsWith("core/") || relative.startsWith("cli/")
                        || relative.equals("queue/JobState.java")) {
                    continue;
                }
                List<String> lines = Files.readAllLines(source);
                for (int i = 0; i < lines.size(); i++) {
                    Matcher m = quoted.matcher(lines.get(i));
                    while (m.find()) {
                        found.add(relative + ":" + (i + 1) + " " + m.group());
                    }
                }
            }
        }
        assertThat(found).isEmpty();
    }
}
