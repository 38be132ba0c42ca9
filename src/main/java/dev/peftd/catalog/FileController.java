package dev.peftd.catalog;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.peftd.api.ApiProblem;
import dev.peftd.api.ListPage;
import dev.peftd.security.Tenant;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardCopyOption;
import java.nio.file.Path;
import java.util.Map;
import org.springframework.core.io.InputStreamResource;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.http.MediaType;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** OpenAI's Files API: {@code purpose=fine-tune} JSONL uploads, and the {@code fine-tune-results} CSV of each job. */
@RestController
class FileController {

    private final Files files;
    private final Path spool;

    FileController(Files files, dev.peftd.kernel.DataDirectory dataDirectory) {
        this.files = files;
        this.spool = dataDirectory.resolve("tmp");
    }

    /** OpenAI's file object. */
    record FileView(String id, String object, long bytes, @JsonProperty("created_at") long createdAt, String filename,
                    String purpose, String status, @JsonProperty("line_count") int lineCount) {
        static FileView of(StoredFile f) {
            return new FileView(f.id(), "file", f.bytes(), f.createdAt().getEpochSecond(), f.filename(), f.purpose(),
                    "processed", f.lineCount());
        }
    }

    /**
     * Reads the {@code file} part straight from the servlet request: clients that send it without a file name
     * (OpenAI's SDK does for byte arrays) would otherwise be seen as a plain form field.
     */
    @PostMapping(path = "/v1/files", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    @ResponseStatus(HttpStatus.OK)
    FileView upload(@AuthenticationPrincipal Tenant tenant, HttpServletRequest request,
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey)
            throws IOException, ServletException {
        Part file = request.getPart("file");
        if (file == null) {
            throw ApiProblem.invalidField("file", "missing multipart part 'file'");
        }
        Part purposePart = request.getPart("purpose");
        if (purposePart == null) {
            throw ApiProblem.invalidField("purpose", "missing; must be '" + Files.PURPOSE + "'");
        }
        String purpose = new String(purposePart.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        Path content = java.nio.file.Files.createTempFile(spool, "upload-", ".jsonl");
        try (InputStream in = file.getInputStream()) {
            java.nio.file.Files.copy(in, content, StandardCopyOption.REPLACE_EXISTING);
            var upload = new Files.Upload(file.getSubmittedFileName(), purpose, content, file.getSize());
            return FileView.of(files.upload(tenant, upload, idempotencyKey));
        } finally {
            java.nio.file.Files.deleteIfExists(content);
        }
    }

    @GetMapping("/v1/files")
    ListPage<FileView> list(@AuthenticationPrincipal Tenant tenant, @RequestParam(required = false) String after,
            @RequestParam(required = false) Integer limit) {
        ListPage<StoredFile> page = files.list(tenant, after, ListPage.limit(limit));
        return ListPage.of(page.data().stream().map(FileView::of).toList(), page.hasMore());
    }

    @GetMapping("/v1/files/{id}")
    FileView get(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        return FileView.of(files.get(tenant, id));
    }

    /**
     * OpenAI's {@code files.content}: the stored bytes, streamed from the store (never held whole in memory), as
     * {@code application/jsonl} for datasets and {@code text/csv} for results files.
     */
    @GetMapping("/v1/files/{id}/content")
    ResponseEntity<InputStreamResource> content(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        Files.Content content = files.content(tenant, id);
        StoredFile file = content.file();
        MediaType type = Files.RESULTS_PURPOSE.equals(file.purpose())
                ? new MediaType("text", "csv", StandardCharsets.UTF_8)
                : new MediaType("application", "jsonl", StandardCharsets.UTF_8);
        return ResponseEntity.ok().contentType(type).contentLength(file.bytes())
                .header(HttpHeaders.CONTENT_DISPOSITION, ContentDisposition.attachment()
                        .filename(file.filename(), StandardCharsets.UTF_8).build().toString())
                .body(new InputStreamResource(content.bytes()));
    }

    @DeleteMapping("/v1/files/{id}")
    Map<String, Object> delete(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        files.delete(tenant, id);
        return Map.of("id", id, "object", "file", "deleted", true);
    }
}
