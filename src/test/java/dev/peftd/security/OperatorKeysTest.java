package dev.peftd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockFilterChain;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;

/** Which roles a key gets: tenant keys, operator keys, and the sole tenant that is the operator too. */
class OperatorKeysTest {

    private static final String A = "team-a-key-0123456789";
    private static final String B = "team-b-key-0123456789";
    private static final String OPS = "operator-key-0123456789";

    @AfterEach
    void clear() {
        SecurityContextHolder.clearContext();
    }

    @Test
    void withSeveralTenantsOnlyOperatorKeysOperate() throws Exception {
        ApiKeyFilter filter = new ApiKeyFilter(ApiKeys.parse("a:" + A + ",b:" + B), OperatorKeys.parse(OPS));

        assertThat(rolesOf(filter, A)).containsExactly("ROLE_TENANT");
        assertThat(rolesOf(filter, OPS)).containsExactly("ROLE_OPERATOR");
        assertThat(rolesOf(filter, "unknown-key-0123456789")).isEmpty();
    }

    @Test
    void aSoleTenantIsTheOperatorToo() throws Exception {
        ApiKeyFilter generated = new ApiKeyFilter(ApiKeys.single("default", A), OperatorKeys.parse(""));
        // one tenant holding two keys (rotation) is still one tenant
        ApiKeyFilter rotating = new ApiKeyFilter(ApiKeys.parse("a:" + A + ",a:" + B), OperatorKeys.parse(null));

        assertThat(rolesOf(generated, A)).containsExactly("ROLE_TENANT", "ROLE_OPERATOR");
        assertThat(rolesOf(rotating, B)).containsExactly("ROLE_TENANT", "ROLE_OPERATOR");
    }

    @Test
    void badEntriesAreRefusedByPosition() {
        assertThatThrownBy(() -> OperatorKeys.parse(OPS + ",short")).hasMessageContaining("entry 2")
                .hasMessageContaining("at least 16");
        assertThatThrownBy(() -> OperatorKeys.parse("prometheus:" + OPS)).hasMessageContaining("entry 1")
                .hasMessageContaining("bare keys");
        assertThat(OperatorKeys.parse(" , " + OPS + " ,").size()).isEqualTo(1);
    }

    private static java.util.List<String> rolesOf(ApiKeyFilter filter, String key) throws Exception {
        SecurityContextHolder.clearContext();
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/actuator/prometheus");
        request.addHeader("Authorization", "Bearer " + key);
        filter.doFilter(request, new MockHttpServletResponse(), new MockFilterChain());
        Authentication auth = SecurityContextHolder.getContext().getAuthentication();
        return auth == null ? java.util.List.of()
                : auth.getAuthorities().stream().map(GrantedAuthority::getAuthority).toList();
    }
}
