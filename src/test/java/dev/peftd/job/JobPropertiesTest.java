package dev.peftd.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.SettingsSources;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobPropertiesTest {

    private static JobProperties bind(Map<String, String> env) {
        return SettingsSources.binder(env).bind("peftd", JobProperties.class).get();
    }

    @Test
    void oneRecordGathersTheJobSettingsFromFourGroups() {
        JobProperties job = bind(Map.of());
        assertThat(job.training().checkpointEvery()).isEqualTo(50);
        assertThat(job.worker().maxAttempts()).isEqualTo(3);
        assertThat(job.limits().activeJobsPerTenant()).isEqualTo(10);
        assertThat(job.events().streamPoll()).isEqualTo(Duration.ofMillis(250));
    }

    /** PEFTD_CHECKPOINT_EVERY is not the relaxed name of its property: application.properties maps it. */
    @Test
    void mappedAndRelaxedVariablesBothBind() {
        JobProperties job = bind(Map.of("PEFTD_CHECKPOINT_EVERY", "7", "PEFTD_EVENTS_STREAM_POLL", "75ms",
                "PEFTD_LIMITS_ACTIVE_JOBS_PER_TENANT", "4"));
        assertThat(job.training().checkpointEvery()).isEqualTo(7);
        assertThat(job.events().streamPoll()).isEqualTo(Duration.ofMillis(75));
        assertThat(job.limits().activeJobsPerTenant()).isEqualTo(4);
    }

    @Test
    void aBadValueStopsStartUpNamingTheProperty() {
        assertThatThrownBy(() -> bind(Map.of("PEFTD_WORKER_MAX_ATTEMPTS", "0")))
                .hasRootCauseMessage("peftd.worker.max-attempts must be at least 1, got 0");
    }
}
