package dev.peftd.kernel;

import java.time.Duration;

/**
 * Checks the {@code @ConfigurationProperties} records run in their compact constructors, so a missing or bad setting
 * stops start-up with the property's name (Spring adds "Failed to bind properties under 'peftd.…'" around it). The
 * defaults live in {@code application.properties} only; a record never invents one.
 */
public final class Settings {

    private Settings() {
    }

    public static <T> T required(T value, String property) {
        if (value == null) {
            throw new IllegalArgumentException(property + " is not set (application.properties gives every peftd.* "
                    + "property its default)");
        }
        return value;
    }

    /** Blank is a meaningful value for optional text settings ("not configured"); null becomes blank. */
    public static String text(String value) {
        return value == null ? "" : value.trim();
    }

    public static int atLeast(int value, int min, String property) {
        if (value < min) {
            throw new IllegalArgumentException(property + " must be at least " + min + ", got " + value);
        }
        return value;
    }

    public static Duration positive(Duration value, String property) {
        required(value, property);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(property + " must be a positive duration, got " + value);
        }
        return value;
    }
}
