package dev.peftd.catalog;

import java.util.List;

/** Adapters a tenant uploaded for serving (serving keeps them); listed as models, each usable as a request's model. */
public interface UploadedAdapters {

    /** @param name the optional name a request may use instead of the id */
    record UploadedAdapter(String id, String name, String base, long createdAt) {
    }

    List<UploadedAdapter> uploadedAdapters(String tenant);
}
