package dev.peftd.security;

import java.util.Set;

/**
 * The tenants the configured API keys belong to. Features that must behave differently once several tenants share
 * one service (what a {@code file://} model source may read, for one) ask this rather than the keys.
 */
public record ConfiguredTenants(Set<String> names) {

    public ConfiguredTenants {
        names = Set.copyOf(names);
    }

    /** More than one tenant: one tenant's request must not reach another's data. */
    public boolean multiTenant() {
        return names.size() > 1;
    }
}
