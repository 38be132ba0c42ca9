package dev.peftd;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.PropertiesPropertySourceLoader;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.ClassPathResource;

/**
 * What Spring Boot binds the settings records from, without starting a context: the real
 * {@code application.properties} under a stand-in for the process environment (a {@link SystemEnvironmentPropertySource}
 * under the name Boot gives the real one, so {@code PEFTD_SERVING_MAX_CONCURRENT} binds by relaxed binding as it does
 * in the service).
 */
public final class SettingsSources {

    private SettingsSources() {
    }

    public static Binder binder(Map<String, String> environment) {
        StandardEnvironment env = new StandardEnvironment();
        MutablePropertySources sources = env.getPropertySources();
        sources.remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        sources.replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, new SystemEnvironmentPropertySource(
                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, new HashMap<>(environment)));
        for (PropertySource<?> source : applicationProperties()) {
            sources.addLast(source);
        }
        ConfigurationPropertySources.attach(env);
        return Binder.get(env);
    }

    private static java.util.List<PropertySource<?>> applicationProperties() {
        try {
            return new PropertiesPropertySourceLoader().load("application.properties",
                    new ClassPathResource("application.properties"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
