package dev.peftd.api;

import dev.peftd.kernel.Refusal;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Caps every request body except multipart uploads (which have their own limit, {@code PEFTD_FILES_MAX_SIZE}) at
 * {@code PEFTD_LIMITS_JSON_BODY_MAX_BYTES}, before anything parses it: a declared Content-Length over the limit is
 * refused unread, and a chunked body is counted while it is read, failing at the first byte past the limit. Either
 * way the client gets a 413 problem naming the limit. Runs ahead of authentication, so it also bounds what an
 * unauthenticated client can make the server read.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
class BodySizeLimitFilter extends OncePerRequestFilter {

    private final ProblemWriter problems;
    private final long maxBytes;

    BodySizeLimitFilter(ProblemWriter problems, ApiLimits limits) {
        this.problems = problems;
        this.maxBytes = limits.jsonBodyMaxBytes().toBytes();
    }

    /** The 413 a body over {@code maxBytes} gets. */
    static ApiProblem tooLarge(long maxBytes) {
        return new ApiProblem(ApiProblem.Type.PAYLOAD_TOO_LARGE, "request body exceeds the limit of " + maxBytes
                + " bytes", List.of(new Refusal.FieldError("body", "larger than " + maxBytes + " bytes")));
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String type = request.getContentType();
        return type != null && type.toLowerCase(java.util.Locale.ROOT).startsWith(MediaType.MULTIPART_FORM_DATA_VALUE);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (request.getContentLengthLong() > maxBytes) {
            response.setHeader("Connection", "close"); // do not make the server read the rest to keep the connection
            problems.write(response, tooLarge(maxBytes));
            return;
        }
        chain.doFilter(new Limited(request, maxBytes), response);
    }

    /** Thrown while reading past the limit; {@link ProblemHandler} turns it (wrapped by any parser) into the 413. */
    static final class BodyTooLargeException extends IOException {
        final long maxBytes;

        BodyTooLargeException(long maxBytes) {
            super("request body exceeds the limit of " + maxBytes + " bytes");
            this.maxBytes = maxBytes;
        }
    }

    /** The request with a body stream that counts what it hands out. */
    private static final class Limited extends HttpServletRequestWrapper {
        private final long maxBytes;
        private ServletInputStream counted;

        Limited(HttpServletRequest request, long maxBytes) {
            super(request);
            this.maxBytes = maxBytes;
        }

        @Override
        public ServletInputStream getInputStream() throws IOException {
            if (counted == null) {
                counted = new CountingInputStream(super.getInputStream(), maxBytes);
            }
            return counted;
        }
    }

    private static final class CountingInputStream extends ServletInputStream {
        private final ServletInputStream in;
        private final long maxBytes;
        private long read;

        CountingInputStream(ServletInputStream in, long maxBytes) {
            this.in = in;
            this.maxBytes = maxBytes;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = in.read(buffer, offset, length);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws BodyTooLargeException {
            read += n;
            if (read > maxBytes) {
                throw new BodyTooLargeException(maxBytes);
            }
        }

        @Override
        public boolean isFinished() {
            return in.isFinished();
        }

        @Override
        public boolean isReady() {
            return in.isReady();
        }

        @Override
        public void setReadListener(ReadListener listener) {
            in.setReadListener(listener);
        }
    }
}
