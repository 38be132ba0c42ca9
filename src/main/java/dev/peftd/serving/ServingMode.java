package dev.peftd.serving;

/**
 * How a request is served: on the bare base, with an adapter applied unmerged, or on a merged checkpoint. The meters
 * tag requests and tokens with it (the merged-vs-unmerged share); a type of its own so the meters need nothing else of
 * serving.
 */
enum ServingMode {
    BASE("base"), UNMERGED("unmerged"), MERGED("merged");

    private final String tag;

    ServingMode(String tag) {
        this.tag = tag;
    }

    String tag() {
        return tag;
    }
}
