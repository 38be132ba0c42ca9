package dev.peftd.security;

import dev.peftd.api.ProblemWriter;
import dev.peftd.ops.DataDirectory;
import jakarta.servlet.DispatcherType;
import java.io.IOException;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.util.StringUtils;

/**
 * Stateless bearer-key security: {@code /actuator/health/**} and the API docs are open, everything else needs a key.
 * Failures are problem+json like every other error.
 */
@Configuration(proxyBeanMethods = false)
class SecurityConfiguration {

    @Bean
    ApiKeys apiKeys(@Value("${peftd.api-keys:}") String configured, DataDirectory dataDirectory) throws IOException {
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
    SecurityFilterChain api(HttpSecurity http, ApiKeys keys, ProblemWriter problems) throws Exception {
        return http
                .csrf(csrf -> csrf.disable())
                .httpBasic(basic -> basic.disable())
                .formLogin(form -> form.disable())
                .logout(logout -> logout.disable())
                .requestCache(cache -> cache.disable())
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .addFilterBefore(new ApiKeyFilter(keys), AnonymousAuthenticationFilter.class)
                .authorizeHttpRequests(auth -> auth
                        // SSE streams and error pages are re-dispatched after the authenticated request returned
                        .dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR).permitAll()
                        .requestMatchers("/actuator/health", "/actuator/health/**", "/actuator/info").permitAll()
                        .requestMatchers("/v3/api-docs", "/v3/api-docs/**", "/swagger-ui.html", "/swagger-ui/**").permitAll()
                        .anyRequest().authenticated())
                .exceptionHandling(errors -> errors
                        .authenticationEntryPoint((request, response, e) -> {
                            response.setHeader("WWW-Authenticate", "Bearer realm=\"peftd\"");
                            problems.write(response, ProblemWriter.unauthorized(request.getHeader("Authorization") == null
                                    ? "missing 'Authorization: Bearer <key>' header"
                                    : "the API key is not valid"));
                        })
                        .accessDeniedHandler((request, response, e) ->
                                problems.write(response, ProblemWriter.forbidden(e.getMessage()))))
                .build();
    }
}
