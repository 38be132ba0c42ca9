package dev.peftd.catalog;

import dev.peftd.kernel.Settings;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The catalog's settings: {@code peftd.hub.endpoint} (blank: {@code HF_ENDPOINT} or huggingface.co),
 * {@code peftd.models.roots} ({@code PEFTD_MODEL_ROOTS}, folders {@code file://} sources must lie in) and
 * {@code peftd.limits.models-per-tenant}.
 */
@ConfigurationProperties("peftd")
record CatalogProperties(Hub hub, Models models, Limits limits) {

    CatalogProperties {
        Settings.required(hub, "peftd.hub.endpoint");
        Settings.required(models, "peftd.models.roots");
        Settings.required(limits, "peftd.limits.models-per-tenant");
    }

    record Hub(String endpoint) {
        Hub {
            endpoint = Settings.text(endpoint);
        }
    }

    record Models(String roots) {
        Models {
            roots = Settings.text(roots);
        }
    }

    record Limits(int modelsPerTenant) {
        Limits {
            Settings.atLeast(modelsPerTenant, 1, "peftd.limits.models-per-tenant");
        }
    }
}
