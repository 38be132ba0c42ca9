package dev.peftd.core.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A Hugging Face chat template (Jinja) from tokenizer_config.json, rendered with jinjava the way transformers'
 * {@code apply_chat_template} renders it: {@code trim_blocks} and {@code lstrip_blocks} on, with the variables
 * {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} and the functions
 * {@code raise_exception(msg)} and {@code strftime_now(fmt)}.
 */
public final class ChatTemplate {

    /** transformers compiles templates with these flags; without them block tags leave stray newlines. */
    private static final JinjavaConfig CONFIG = JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            .withLstripBlocks(true)
            .withMaxOutputSize(16L << 20)
            .build();

    private final String name;
    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    ChatTemplate(String name, String source, String bosToken, String eosToken) {
        this.name = name;
        this.source = source;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.jinjava = new Jinjava(CONFIG);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "raise_exception", TemplateFunctions.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "strftime_now", TemplateFunctions.class, "strftimeNow", String.class));
    }

    public String name() {
        return name;
    }

    public String source() {
        return source;
    }

    /**
     * @param addGenerationPrompt end with the header of an assistant turn, so that the model answers next
     * @throws ChatTemplateException when the template calls {@code raise_exception} or cannot be rendered
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** As {@link #render(List, boolean)}, with extra template variables (e.g. {@code tools}, {@code date_string}). */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> extraVariables) {
        Map<String, Object> variables = new HashMap<>(extraVariables);
        variables.put("messages", messages.stream().map(ChatMessage::asTemplateValue).toList());
        variables.put("add_generation_prompt", addGenerationPrompt);
        variables.put("bos_token", bosToken == null ? "" : bosToken);
        variables.put("eos_token", eosToken == null ? "" : eosToken);
        RenderResult result = jinjava.renderForResult(source, variables);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException("chat template '" + name + "': " + raisedMessage(error), error.getException());
            }
        }
        return result.getOutput();
    }

    /** The message the template passed to raise_exception, otherwise jinjava's description of the failure. */
    private static String raisedMessage(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof TemplateFunctions.RaisedByTemplate raised) {
                return raised.getMessage();
            }
        }
        return error.getMessage();
    }

    /** Static functions a template may call; jinjava binds functions to static methods. */
    public static final class TemplateFunctions {
        private TemplateFunctions() {
        }

        public static String raiseException(String message) {
            throw new RaisedByTemplate(message);
        }

        /** Python strftime for the directives chat templates use (Llama 3.1: {@code "%d %b %Y"}); others stay as written. */
        public static String strftimeNow(String format) {
            LocalDateTime now = LocalDateTime.now();
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < format.length(); i++) {
                char c = format.charAt(i);
                if (c != '%' || i + 1 == format.length()) {
                    out.append(c);
                    continue;
                }
                char directive = format.charAt(++i);
                String pattern = switch (directive) {
                    case 'd' -> "dd";
                    case 'b' -> "MMM";
                    case 'B' -> "MMMM";
                    case 'Y' -> "yyyy";
                    case 'y' -> "yy";
                    case 'm' -> "MM";
                    case 'H' -> "HH";
                    case 'M' -> "mm";
                    case 'S' -> "ss";
                    default -> null;
                };
                out.append(pattern == null ? "%" + directive
                        : now.format(DateTimeFormatter.ofPattern(pattern, Locale.ENGLISH)));
            }
            return out.toString();
        }

        static final class RaisedByTemplate extends RuntimeException {
            RaisedByTemplate(String message) {
                super(message);
            }
        }
    }
}
