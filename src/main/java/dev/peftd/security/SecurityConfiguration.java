package dev.peftd.security;

import dev.peftd.api.ProblemWriter;
import dev.peftd.kernel.DataDirectory;
import jakarta.servlet.DispatcherType;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.util.StringUtils;

/**
 * Stateless bearer-key security. Open: {@code /actuator/health/**} (probes) and the API docs. Operator keys only:
 * {@code /actuator/prometheus} and {@code /actuator/metrics}, because the registry is process-wide and its per-job
 * series carry every tenant's job ids (a tenant follows its own jobs' metrics in the job events). Any key:
 * {@code /actuator/info}. Tenant keys: the API. Failures are problem+json like every other error.
 */
@Configuration(proxyBeanMethods = false)
class SecurityConfiguration {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfiguration.class);
    private static final String[] METRICS = {"/actuator/prometheus", "/actuator/metrics", "/actuator/metrics/**"};
    static final String METRICS_DENIED = "the metrics endpoints are process-wide and need an operator key "
            + "(PEFTD_OPERATOR_KEYS); a tenant reads its jobs' metrics in /v1/fine_tuning/jobs/{id}/events";
    static final String TENANT_API_DENIED = "an operator key reads the metrics endpoints only; the API needs a tenant "
            + "key (PEFTD_API_KEYS)";

    @Bean
    ApiKeys apiKeys(KeyProperties properties, DataDirectory dataDirectory) throws IOException {
        String configured = properties.apiKeys();
        if (StringUtils.hasText(configured)) {
            return ApiKeys.parse(configured);
        }
        return GeneratedApiKey.loadOrCreate(dataDirectory.root().resolve("api-key"), System.out);
    }

    @Bean
    ConfiguredTenants configuredTenants(ApiKeys keys) {
        return new ConfiguredTenants(keys.tenants());
    }

    @Bean
    OperatorKeys operatorKeys(KeyProperties properties, ApiKeys tenants) {
        OperatorKeys operators = OperatorKeys.parse(properties.operatorKeys());
        log.info("metrics endpoints: {} operator key(s){}", operators.size(),
                tenants.tenantCount() == 1 ? "; the sole tenant is an operator too" : "");
        return operators;
    }

    @Bean
    SecurityFilterChain api(HttpSecurity http, ApiKeys keys, OperatorKeys operators, ProblemWriter problems)
            throws Exception {
        return http
                .csrf(csrf -> csrf.disable())
                .httpBasic(basic -> basic.disable())
                .formLogin(form -> form.disable())
                .logout(logout -> logout.disable())
                .requestCache(cache -> cache.disable())
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .addFilterBefore(new ApiKeyFilter(keys, operators), AnonymousAuthenticationFilter.class)
                .authorizeHttpRequests(auth -> auth
                        // SSE streams and error pages are re-dispatched after the authenticated request returned
                        .dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR).permitAll()
                        .requestMatchers("/actuator/health", "/actuator/health/**").permitAll()
                        .requestMatchers("/v3/api-docs", "/v3/api-docs/**", "/swagger-ui.html", "/swagger-ui/**").permitAll()
                        .requestMatchers(METRICS).hasRole(ApiKeyFilter.OPERATOR)
                        .requestMatchers("/actuator/**").authenticated()
                        .anyRequest().hasRole(ApiKeyFilter.TENANT))
                .exceptionHandling(errors -> errors
                        .authenticationEntryPoint((request, response, e) -> {
                            response.setHeader("WWW-Authenticate", "Bearer realm=\"peftd\"");
                            problems.write(response, ProblemWriter.unauthorized(request.getHeader("Authorization") == null
                                    ? "missing 'Authorization: Bearer <key>' header"
                                    : "the API key is not valid"));
                        })
                        .accessDeniedHandler((request, response, e) ->
                                problems.write(response, ProblemWriter.forbidden(request.getRequestURI()
                                        .startsWith("/actuator/") ? METRICS_DENIED : TENANT_API_DENIED))))
                .build();
    }
}
