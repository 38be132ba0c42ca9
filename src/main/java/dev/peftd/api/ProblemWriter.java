package dev.peftd.api;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/** Writes problem+json outside Spring MVC (security filters answer before any controller runs). */
@Component
public class ProblemWriter {

    private final JsonMapper json;

    ProblemWriter(JsonMapper json) {
        this.json = json;
    }

    public static ApiProblem unauthorized(String detail) {
        return new ApiProblem(ApiProblem.Type.UNAUTHORIZED, detail);
    }

    public static ProblemDetail forbidden(String detail) {
        ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.FORBIDDEN, detail);
        body.setType(URI.create(ApiProblem.Type.BASE + "forbidden"));
        body.setTitle("Forbidden");
        return body;
    }

    public void write(HttpServletResponse response, ApiProblem problem) throws IOException {
        write(response, ProblemHandler.render(problem));
    }

    public void write(HttpServletResponse response, ProblemDetail body) throws IOException {
        response.setStatus(body.getStatus());
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        json.writeValue(response.getOutputStream(), body);
    }
}
