package dev.peftd.security;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Reads {@code Authorization: Bearer <key>} and, when the key is known, authenticates the request: a tenant key as its
 * tenant ({@code ROLE_TENANT}), an operator key as the operator ({@code ROLE_OPERATOR}). With a single tenant there is
 * nobody its metrics could leak to, so that tenant is the operator as well (the embedded quick start needs no second
 * key). A missing or unknown key leaves the request anonymous; the authorization rules then answer 401 for protected
 * paths.
 */
final class ApiKeyFilter extends OncePerRequestFilter {

    static final String TENANT = "TENANT";
    static final String OPERATOR = "OPERATOR";
    private static final String BEARER = "bearer ";

    private final ApiKeys keys;
    private final OperatorKeys operators;
    private final boolean soleTenantOperates;

    ApiKeyFilter(ApiKeys keys, OperatorKeys operators) {
        this.keys = keys;
        this.operators = operators;
        this.soleTenantOperates = keys.tenantCount() == 1;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String header = request.getHeader("Authorization");
        if (header != null && header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            String key = header.substring(BEARER.length()).trim();
            Optional<Tenant> tenant = keys.tenantOf(key);
            boolean operator = operators.matches(key) || (tenant.isPresent() && soleTenantOperates);
            List<GrantedAuthority> roles = new ArrayList<>();
            tenant.ifPresent(t -> roles.add(new SimpleGrantedAuthority("ROLE_" + TENANT)));
            if (operator) {
                roles.add(new SimpleGrantedAuthority("ROLE_" + OPERATOR));
            }
            if (!roles.isEmpty()) {
                Object principal = tenant.<Object>map(t -> t).orElse("operator");
                SecurityContextHolder.getContext()
                        .setAuthentication(new UsernamePasswordAuthenticationToken(principal, null, roles));
            }
        }
        chain.doFilter(request, response);
    }
}
