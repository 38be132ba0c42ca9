package dev.peftd.security;

import dev.peftd.kernel.Settings;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code peftd.api-keys} ({@code PEFTD_API_KEYS}: {@code tenant:key,…}; blank generates one key) and
 * {@code peftd.operator-keys} ({@code PEFTD_OPERATOR_KEYS}); their formats are checked by {@link ApiKeys} and
 * {@link OperatorKeys}.
 */
@ConfigurationProperties("peftd")
record KeyProperties(String apiKeys, String operatorKeys) {

    KeyProperties {
        apiKeys = Settings.text(apiKeys);
        operatorKeys = Settings.text(operatorKeys);
    }
}
