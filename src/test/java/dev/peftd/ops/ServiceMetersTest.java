package dev.peftd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The per-job gauges carry the job under {@code job_id} and live only as long as the job. */
class ServiceMetersTest {

    @Test
    void perJobGaugesAreLabelledJobIdAndRemovedWhenTheJobEnds() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ServiceMeters meters = new ServiceMeters(registry);

        meters.step(new ServiceMeters.JobLabels("ftjob-1", "lora", Optional.empty()), 2.5, 300.0, 1024);

        Gauge loss = registry.find("peftd.training.loss").tag("job_id", "ftjob-1").gauge();
        Gauge rate = registry.find("peftd.training.tokens.per.second").tag("job_id", "ftjob-1").gauge();
        assertThat(loss).isNotNull();
        assertThat(loss.value()).isEqualTo(2.5);
        assertThat(rate.value()).isEqualTo(300.0);
        assertThat(registry.find("peftd.training.loss").tagKeys("job").gauges()).isEmpty();

        meters.jobEnded("ftjob-1");
        assertThat(registry.find("peftd.training.loss").gauges()).isEmpty();
    }

    /**
     * A comparison's children carry its id and their method, so a dashboard can put them side by side; a plain job's
     * comparison is empty.
     */
    @Test
    void aComparisonsChildrenCarryItsId() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ServiceMeters meters = new ServiceMeters(registry);

        meters.step(new ServiceMeters.JobLabels("ftjob-1", "vera", Optional.of("ftcmp-1")), 2.5, 300.0, 1024);
        meters.step(new ServiceMeters.JobLabels("ftjob-2", "lora", Optional.empty()), 3.0, 200.0, 512);

        assertThat(registry.find("peftd.training.loss").tags("comparison_id", "ftcmp-1", "method", "vera").gauge()
                .value()).isEqualTo(2.5);
        assertThat(registry.find("peftd.training.tokens.per.second").tag("comparison_id", "ftcmp-1").gauge().value())
                .isEqualTo(300.0);
        assertThat(registry.find("peftd.training.loss").tag("job_id", "ftjob-2").gauge().getId()
                .getTag("comparison_id")).isEmpty();
    }
}
