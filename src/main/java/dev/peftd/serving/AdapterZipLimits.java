package dev.peftd.serving;

import dev.peftd.kernel.Settings;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/** {@code peftd.limits.adapter-zip-max-*}: what an uploaded adapter zip may expand to, counted while inflating. */
@ConfigurationProperties("peftd.limits")
record AdapterZipLimits(DataSize adapterZipMaxBytes, int adapterZipMaxEntries) {

    AdapterZipLimits {
        Settings.required(adapterZipMaxBytes, "peftd.limits.adapter-zip-max-bytes");
        Settings.atLeast(adapterZipMaxEntries, 1, "peftd.limits.adapter-zip-max-entries");
    }
}
