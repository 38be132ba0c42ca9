package dev.peftd.api;

import dev.peftd.kernel.Settings;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/** @param jsonBodyMaxBytes {@code peftd.limits.json-body-max-bytes}: the largest JSON request body (bytes, or 1MB) */
@ConfigurationProperties("peftd.limits")
record ApiLimits(DataSize jsonBodyMaxBytes) {

    ApiLimits {
        if (Settings.required(jsonBodyMaxBytes, "peftd.limits.json-body-max-bytes").toBytes() < 1) {
            throw new IllegalArgumentException("peftd.limits.json-body-max-bytes must be >= 1, got " + jsonBodyMaxBytes);
        }
    }
}
