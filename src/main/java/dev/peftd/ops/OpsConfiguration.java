package dev.peftd.ops;

import java.nio.file.Path;
import java.time.Clock;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Beans every feature shares: the data folder and the clock (tests replace it to drive lease expiry). */
@Configuration(proxyBeanMethods = false)
@org.springframework.scheduling.annotation.EnableScheduling
class OpsConfiguration {

    @Bean
    DataDirectory dataDirectory(@Value("${peftd.data-dir}") Path root) {
        return new DataDirectory(root);
    }

    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }
}
