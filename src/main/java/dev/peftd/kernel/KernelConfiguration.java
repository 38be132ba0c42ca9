package dev.peftd.kernel;

import java.time.Clock;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The shared kernel's beans, which every feature may use: the data folder (locked to this process) and the clock (tests replace it to drive lease expiry). */
@Configuration(proxyBeanMethods = false)
@org.springframework.scheduling.annotation.EnableScheduling
class KernelConfiguration {

    /**
     * Every bean that touches the data folder gets it from here, so taking the folder's lock here means it is held
     * before the embedded PostgreSQL, the store or the work folders see the folder.
     */
    @Bean
    DataDirectory dataDirectory(KernelProperties properties) {
        DataDirectory directory = new DataDirectory(properties.dataDir());
        DataDirectoryLock.acquire(directory);
        return directory;
    }

    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }
}
