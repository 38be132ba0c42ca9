package dev.peftd.security;

/** Who owns a request and everything it creates. Controllers receive it with {@code @AuthenticationPrincipal}. */
public record Tenant(String name) {

    @Override
    public String toString() {
        return name;
    }
}
