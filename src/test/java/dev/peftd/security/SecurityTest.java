package dev.peftd.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.ops.ServiceMeters;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.ApplicationContext;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.boot.test.web.server.LocalServerPort;

@ServiceTest
class SecurityTest {

    @LocalServerPort
    int port;
    @Autowired
    ServiceMeters meters;
    @Autowired
    ApplicationContext context;

    @Test
    void missingKeyIsA401Problem() {
        TestApi.Response response = new TestApi(port, null).get("/v1/files");
        assertThat(response.status()).isEqualTo(401);
        assertThat(response.contentType()).startsWith("application/problem+json");
        assertThat(response.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/unauthorized");
        assertThat(response.json().path("detail").asString()).contains("Authorization");
    }

    @Test
    void wrongKeyIsA401Problem() {
        TestApi.Response response = new TestApi(port, "not-a-key-0123456789").get("/v1/fine_tuning/jobs");
        assertThat(response.status()).isEqualTo(401);
        assertThat(response.json().path("detail").asString()).contains("not valid");
    }

    @Test
    void healthIsOpenAndPrometheusNeedsAKey() {
        TestApi anonymous = new TestApi(port, null);
        assertThat(anonymous.get("/actuator/health/readiness").status()).isEqualTo(200);
        assertThat(anonymous.get("/actuator/health/liveness").status()).isEqualTo(200);
        assertThat(anonymous.get("/actuator/prometheus").status()).isEqualTo(401);
        TestApi.Response metrics = TestApi.operator(port).get("/actuator/prometheus");
        assertThat(metrics.status()).isEqualTo(200);
        assertThat(metrics.body()).contains("peftd_jobs{").contains("peftd_jobs_running").contains("hikaricp_connections");
    }

    @Test
    void perJobSeriesAreForOperatorKeysOnly() {
        String job = "ftjob-metrics-" + UUID.randomUUID();
        // the gauges a running job of some tenant publishes
        meters.step(new ServiceMeters.JobLabels(job, "lora", java.util.Optional.empty()), 1.25, 100.0, 64);
        try {
            String series = "peftd_training_loss{comparison_id=\"\",job_id=\"" + job + "\",method=\"lora\"}";
            TestApi.Response operator = TestApi.operator(port).get("/actuator/prometheus");
            assertThat(operator.status()).isEqualTo(200);
            assertThat(operator.body()).contains(series);
            assertThat(TestApi.operator(port).get("/actuator/metrics/peftd.training.loss").body()).contains(job);

            for (TestApi tenant : List.of(TestApi.alpha(port), TestApi.beta(port))) {
                for (String path : List.of("/actuator/prometheus", "/actuator/metrics",
                        "/actuator/metrics/peftd.training.loss")) {
                    TestApi.Response denied = tenant.get(path);
                    assertThat(denied.status()).as(path).isEqualTo(403);
                    assertThat(denied.contentType()).startsWith("application/problem+json");
                    assertThat(denied.json().path("detail").asString()).contains("operator key");
                    assertThat(denied.body()).doesNotContain(job);
                }
            }
        } finally {
            meters.jobEnded(job);
        }
    }

    @Test
    void anOperatorKeyIsNotATenant() {
        TestApi.Response response = TestApi.operator(port).get("/v1/files");
        assertThat(response.status()).isEqualTo(403);
        assertThat(response.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/forbidden");
        assertThat(response.json().path("detail").asString()).contains("tenant key");
    }

    @Test
    void infoNeedsAKey() {
        assertThat(new TestApi(port, null).get("/actuator/info").status()).isEqualTo(401);
        TestApi.Response info = TestApi.alpha(port).get("/actuator/info");
        assertThat(info.status()).isEqualTo(200);
        assertThat(info.json().path("app").path("name").asString()).isEqualTo("peftd");
        assertThat(TestApi.operator(port).get("/actuator/info").status()).isEqualTo(200);
    }

    @Test
    void thereIsNoDefaultUserWithAGeneratedPassword() {
        // Boot's default user (and its "Using generated security password" log line) exists only with this bean
        assertThat(context.getBeanNamesForType(UserDetailsService.class)).isEmpty();
    }

    @Test
    void anotherTenantsFileIsNotFound() {
        TestApi alpha = TestApi.alpha(port);
        String id = alpha.upload("a.jsonl", "{\"text\":\"hello\"}\n").json().path("id").asString();
        TestApi.Response asBeta = TestApi.beta(port).get("/v1/files/" + id);
        assertThat(asBeta.status()).isEqualTo(404);
        assertThat(asBeta.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/not-found");
        assertThat(TestApi.beta(port).delete("/v1/files/" + id).status()).isEqualTo(404);
        assertThat(alpha.get("/v1/files/" + id).status()).isEqualTo(200);
    }

    @Test
    void keysParseAndRefuseBadEntries() {
        ApiKeys keys = ApiKeys.parse("a:0123456789abcdefXYZ, b:abcdefghijklmnopqrst");
        assertThat(keys.tenantOf("abcdefghijklmnopqrst")).contains(new Tenant("b"));
        assertThat(keys.tenantOf("abcdefghijklmnopqrsT")).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ApiKeys.parse("a:short"))
                .hasMessageContaining("entry 1").hasMessageContaining("at least 16");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ApiKeys.parse("nokey"))
                .hasMessageContaining("not 'tenant:key'");
    }
}
