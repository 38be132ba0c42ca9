package dev.peftd.job;

import dev.peftd.catalog.BaseModel;
import dev.peftd.catalog.Files;
import dev.peftd.catalog.StoredFile;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.train.data.DatasetException;
import dev.peftd.core.train.data.JsonlDataset;
import dev.peftd.kernel.Refusal;
import dev.peftd.security.Tenant;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Before a job is queued: does its data fit its base model? The upload already checked each record's shape; what a
 * run would still refuse depends on the model, so it is checked here on the user's files with the base model's own
 * tokenizer, and a refusal names the request's field and the user's file id and line
 * ({@code training_file: file-abc line 3: …}), never a copy's path.
 *
 * <ul>
 * <li>{@code messages} records need a chat template: the whole file is scanned for the first one when the base has
 * none (a cheap look at each record's keys).</li>
 * <li>The first {@value #HEAD_RECORDS} records are read exactly as the run reads them (the chat template renders
 * each conversation, records longer than the context are cut to it and those left with nothing to learn are
 * dropped): a record the run would refuse there is refused now with the run's reason; a file within that head that
 * leaves no usable example is refused as the run would refuse it.</li>
 * </ul>
 * Tokenizing a whole file could take minutes on the largest uploads, so records past the head are left to the run.
 */
final class DatasetChecks {

    /** Records read as the run reads them; a few hundred tokenize in well under a second on CPU. */
    static final int HEAD_RECORDS = 256;

    private final Files files;
    private final JsonMapper json;

    DatasetChecks(Files files, JsonMapper json) {
        this.files = files;
        this.json = json;
    }

    /** The job's datasets on {@code base}, with the method's {@code max_seq_length}. */
    void check(Tenant tenant, BaseModel base, String trainingFile, String validationFile, int maxSeqLength) {
        if (base.localPath() == null) {
            return;
        }
        Path modelDir = Path.of(base.localPath());
        int contextLength;
        Tokenizer tokenizer;
        try {
            contextLength = Math.min(maxSeqLength, ModelLoader.readConfig(modelDir).maxPositionEmbeddings());
            tokenizer = Tokenizer.load(modelDir);
        } catch (IOException | RuntimeException e) {
            return;   // the model was readable when it became ready; a run reports what changed since
        }
        try (tokenizer) {
            checkFile(tenant, base, "training_file", trainingFile, tokenizer, contextLength);
            if (validationFile != null) {
                checkFile(tenant, base, "validation_file", validationFile, tokenizer, contextLength);
            }
        }
    }

    private void checkFile(Tenant tenant, BaseModel base, String field, String fileId, Tokenizer tokenizer,
                           int contextLength) {
        StoredFile file = files.get(tenant, fileId);
        if (tokenizer.chatTemplate().isEmpty()) {
            int line = firstChatRecord(file);
            if (line > 0) {
                throw Refusal.invalidField(field, fileId + " line " + line + ": \"messages\" records need a chat"
                        + " template, and base model '" + base.id() + "' has none (its tokenizer_config.json has no"
                        + " chat_template); use \"text\" or \"prompt\"/\"completion\" records, or a base model with a"
                        + " chat template");
            }
        }
        try (BufferedReader in = reader(file)) {
            JsonlDataset.read(in, fileId, tokenizer, contextLength, HEAD_RECORDS);
        } catch (DatasetException e) {
            throw Refusal.invalidField(field, e.getMessage());
        } catch (IOException | UncheckedIOException e) {
            throw unreadable(fileId, e);
        }
    }

    /** The store's message names its location; the client learns the kind only. */
    private static Refusal unreadable(String fileId, Exception e) {
        return new Refusal(Refusal.Kind.STORAGE_UNAVAILABLE, "could not read file '" + fileId + "' to check it ("
                + e.getClass().getSimpleName() + "); the object store is unavailable");
    }

    /** The line of the first record with {@code messages}, or 0; the text is searched before a line is parsed. */
    private int firstChatRecord(StoredFile file) {
        try (BufferedReader in = reader(file)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.contains("\"messages\"")) {
                    JsonNode record = json.readTree(line);
                    if (record != null && record.has("messages")) {
                        return number;
                    }
                }
            }
            return 0;
        } catch (IOException | UncheckedIOException e) {
            throw unreadable(file.id(), e);
        }
    }

    private BufferedReader reader(StoredFile file) {
        return new BufferedReader(new InputStreamReader(files.open(file), StandardCharsets.UTF_8));
    }
}
