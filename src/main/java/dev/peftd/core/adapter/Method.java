package dev.peftd.core.adapter;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The five adapter methods, with the names the command line, the API and {@code peftd.json} use. */
public enum Method {
    LORA("lora"),
    LORA_FA("lora_fa"),
    VERA("vera"),
    DELTA_LORA("delta_lora"),
    LORA_PLUS("lora_plus");

    private final String id;

    Method(String id) {
        this.id = id;
    }

    /** The external name, e.g. {@code delta_lora}. */
    public String id() {
        return id;
    }

    public static Method fromId(String id) {
        for (Method m : values()) {
            if (m.id.equals(id)) {
                return m;
            }
        }
        throw new AdapterConfigException("method", "unknown method '" + id + "'; known: "
                + Arrays.stream(values()).map(Method::id).collect(Collectors.joining(", ")));
    }
}
