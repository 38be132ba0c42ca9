package dev.peftd.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real-world chat templates (Qwen2 ChatML, Llama 3, Llama 2) against transformers' apply_chat_template. */
class ChatTemplateTest {

    @ParameterizedTest
    @ValueSource(strings = {"bytelevel-chatml", "bytelevel-llama3", "bytefallback-llama2", "vocab-specials-llama2"})
    void rendersAndEncodesLikeApplyChatTemplate(String name) throws IOException {
        JsonObject expected = TokenizerFixtures.expected(name);
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory(name))) {
            ChatTemplate template = tokenizer.chatTemplate().orElseThrow();
            for (JsonElement element : expected.getAsJsonArray("chats")) {
                JsonObject chat = element.getAsJsonObject();
                List<ChatMessage> messages = TokenizerFixtures.messages(chat.get("messages"));
                boolean generationPrompt = chat.get("add_generation_prompt").getAsBoolean();
                assertThat(template.render(messages, generationPrompt)).isEqualTo(chat.get("text").getAsString());
                assertThat(tokenizer.encodeChat(messages, generationPrompt))
                        .containsExactly(TokenizerFixtures.ids(chat.get("ids")));
            }
        }
    }

    @Test
    void aTemplateThatRendersBosDoesNotGetASecondOne() {
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory("bytelevel-llama3"))) {
            long bos = tokenizer.bosTokenId().getAsLong();
            long[] ids = tokenizer.encodeChat(List.of(new ChatMessage("user", "hi")), true);
            assertThat(ids[0]).isEqualTo(bos);
            assertThat(java.util.Arrays.stream(ids).filter(id -> id == bos).count()).isEqualTo(1);
        }
    }

    @Test
    void picksANamedTemplateFromAList() throws IOException {
        JsonObject expected = TokenizerFixtures.expected("named-templates");
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory("named-templates"))) {
            assertThat(tokenizer.chatTemplate().orElseThrow().name()).isEqualTo("default");
            ChatTemplate toolUse = tokenizer.chatTemplate("tool_use").orElseThrow();
            JsonObject chat = expected.getAsJsonArray("chats").get(2).getAsJsonObject();
            assertThat(toolUse.render(TokenizerFixtures.messages(chat.get("messages")), true))
                    .isEqualTo(chat.get("text").getAsString());
            assertThat(tokenizer.chatTemplate("missing")).isEmpty();
        }
    }

    @Test
    void aChatTemplateJinjaFileIsTheDefaultTemplate(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws IOException {
        java.nio.file.Path source = TokenizerFixtures.directory("bytelevel-chatml");
        java.nio.file.Files.copy(source.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        java.nio.file.Files.copy(source.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        java.nio.file.Files.writeString(dir.resolve("chat_template.jinja"),
                "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}");
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            assertThat(tokenizer.chatTemplate().orElseThrow().render(List.of(new ChatMessage("user", "hi")), false))
                    .isEqualTo("<user>hi\n");
        }
    }

    @Test
    void raiseExceptionInTheTemplateReachesTheCaller() {
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory("bytefallback-llama2"))) {
            List<ChatMessage> assistantFirst = List.of(new ChatMessage("assistant", "hi"), new ChatMessage("user", "hello"));
            assertThatThrownBy(() -> tokenizer.encodeChat(assistantFirst, true))
                    .isInstanceOf(ChatTemplateException.class)
                    .hasMessageContaining("Conversation roles must alternate user/assistant/user/assistant/...");
        }
    }
}
