package dev.peftd;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;

/**
 * The shared service context: every test class carrying this annotation reuses one Spring context (one database,
 * one store, one worker pool), which keeps the suite fast. Two tenants, {@code alpha} and {@code beta}, and an operator
 * key for the metrics endpoints.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "peftd.embedded-database=false",
        "peftd.data-dir=target/test-peftd-data",
        "peftd.api-keys=alpha:" + TestApi.ALPHA_KEY + ",beta:" + TestApi.BETA_KEY,
        "peftd.operator-keys=" + TestApi.OPERATOR_KEY,
        "peftd.worker.count=2",
        "peftd.worker.lease=10s",
        "peftd.worker.poll-interval=200ms",
        "peftd.training.checkpoint-every=2",
        "peftd.events.stream-poll=50ms",
        "spring.servlet.multipart.max-file-size=256KB",
        "spring.servlet.multipart.max-request-size=300KB",
        "peftd.limits.adapter-zip-max-bytes=8MB",
        "logging.level.org.testcontainers=WARN",
        "peftd.hub.endpoint=http://127.0.0.1:9",
        // two tenants, so file:// reads only under the roots: the fixtures (target/test-classes) and JUnit's temp
        // folders; target also holds the data dir, which stays unreadable although a root contains it
        "peftd.models.roots=target,${java.io.tmpdir}",
        "peftd.limits.models-per-tenant=30",
})
@Import(TestDb.class)
public @interface ServiceTest {
}
