package dev.peftd.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Fast path of the deployment checks, inside {@code mvn test}: the Helm chart lints strictly and renders only fields
 * that Kubernetes knows. The schema validation in {@code .ci/deploy-checks} checks required fields and types but lets
 * a misspelt field (say {@code nodeSelectr}) through, which a cluster would reject or silently drop; here every
 * rendered object is read into fabric8's typed model, where a field the API does not have lands in
 * {@code additionalProperties}, and any such field fails the test. Helm itself runs in-process (helm-java).
 */
class HelmChartTest {

    private static final Path CHART = Path.of("helm/peftd");
    private static final String MODEL_PACKAGE = "io.fabric8.kubernetes.api.model";
    private static final KubernetesSerialization KUBERNETES = new KubernetesSerialization();

    @Test
    void chartLintsStrictly() {
        LintResult result = new Helm(CHART).lint().strict().call();

        assertThat(result.isFailed()).as(String.join("\n", result.getMessages())).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "ci/gpu-values.yaml"})
    void renderedObjectsUseOnlyFieldsKubernetesKnows(String valuesFile) {
        List<HasMetadata> objects = render(valuesFile);

        List<String> unknown = new ArrayList<>();
        for (HasMetadata object : objects) {
            unknownFields(object, object.getKind() + "/" + object.getMetadata().getName(), unknown);
        }

        assertThat(objects).extracting(HasMetadata::getKind)
                .contains("Deployment", "Service", "ConfigMap", "PodDisruptionBudget");
        assertThat(objects).as("every kind the chart renders has a typed model")
                .noneMatch(GenericKubernetesResource.class::isInstance);
        assertThat(unknown).isEmpty();
    }

    @Test
    void aMisspeltFieldIsReported() {
        String deployment = """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web}
                spec:
                  selector: {matchLabels: {app: web}}
                  template:
                    metadata: {labels: {app: web}}
                    spec:
                      nodeSelectr: {gpu: "true"}
                      containers: [{name: web, image: web, resources: {limitz: {cpu: "1"}}}]
                """;
        List<String> unknown = new ArrayList<>();

        unknownFields(KUBERNETES.unmarshal(deployment), "Deployment/web", unknown);

        assertThat(unknown).containsExactlyInAnyOrder(
                "Deployment/web.spec.template.spec: unknown field(s) [nodeSelectr]",
                "Deployment/web.spec.template.spec.containers[0].resources: unknown field(s) [limitz]");
    }

    @SuppressWarnings("unchecked")
    private static List<HasMetadata> render(String valuesFile) {
        var template = new Helm(CHART).template().withName("peftd");
        if (!valuesFile.isEmpty()) {
            template.withValuesFile(CHART.resolve(valuesFile));
        }
        String yaml = template.call();
        return (List<HasMetadata>) (List<?>) KUBERNETES.unmarshal(yaml);
    }

    /** Walks a fabric8 model object and records every non-empty {@code additionalProperties} with its path. */
    private static void unknownFields(Object node, String path, List<String> found) {
        if (node instanceof Collection<?> items) {
            int index = 0;
            for (Object item : items) {
                unknownFields(item, path + "[" + index++ + "]", found);
            }
            return;
        }
        if (node instanceof Map<?, ?> map) {
            map.forEach((key, value) -> unknownFields(value, path + "." + key, found));
            return;
        }
        if (node == null || !node.getClass().getPackageName().startsWith(MODEL_PACKAGE)) {
            return;   // strings, numbers, enums: leaves
        }
        for (Method getter : node.getClass().getMethods()) {
            if (!isPropertyGetter(getter)) {
                continue;
            }
            Object value = invoke(getter, node);
            if (getter.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    found.add(path + ": unknown field(s) " + extra.keySet());
                }
            } else {
                unknownFields(value, path + "." + propertyName(getter), found);
            }
        }
    }

    private static boolean isPropertyGetter(Method method) {
        return method.getName().startsWith("get") && method.getParameterCount() == 0
                && !Modifier.isStatic(method.getModifiers()) && method.getDeclaringClass() != Object.class;
    }

    private static String propertyName(Method getter) {
        String name = getter.getName().substring(3);
        return Character.toLowerCase(name.charAt(0)) + name.substring(1);
    }

    private static Object invoke(Method getter, Object target) {
        try {
            return getter.invoke(target);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read " + getter + ": " + e.getMessage(), e);
        }
    }
}
