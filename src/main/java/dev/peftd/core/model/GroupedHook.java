package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import java.util.List;

/**
 * Many adapters in one forward pass: the batch's rows come in groups of consecutive rows, each group with its own
 * hook (an adapter) or none (the bare base). Every linear layer computes its base output once for the whole batch;
 * each group's hook then sees only its own rows (views of the input and of the base output, axis 0) and adds its
 * delta there. A hook that adds in place to the view it was given (a factored adapter on a float32 base) has thereby
 * written into the shared output and nothing is copied; a hook that returns a new array (on a half base) has its
 * rows put together with the others' by one concatenation.
 *
 * <p>Only {@link LinearHook#apply} is called: {@link LinearHook#output} overrides (a merged weight in a training
 * pass) would recompute the base for their rows, and inference hooks do not have them. A merged adapter is a model
 * of its own and never shares a batch with its base.
 */
public final class GroupedHook implements LinearHook {

    /** {@code rows} consecutive rows of the batch and their hook ({@code null}: the bare base). */
    public record Group(int rows, LinearHook hook) {
    }

    private final List<Group> groups;

    public GroupedHook(List<Group> groups) {
        this.groups = List.copyOf(groups);
    }

    /** @return the hook for a batch of these groups: the single group's own hook when there is one group */
    public static LinearHook of(List<Group> groups) {
        return groups.size() == 1 ? groups.get(0).hook() : new GroupedHook(groups);
    }

    /**
     * @param input      {@code [B, ..., in]}
     * @param baseOutput {@code [B, ..., out]}
     * @return {@code [B, ..., out]}, each group's rows with its own delta
     */
    @Override
    public NDArray apply(String module, NDArray input, NDArray baseOutput) {
        NDList parts = new NDList(groups.size());
        boolean inPlace = true;
        long from = 0;
        for (Group group : groups) {
            long to = from + group.rows();
            NDArray rows = baseOutput.get(NDIndex.sliceAxis(0, from, to)); // [b, ..., out], a view
            NDArray out = group.hook() == null ? rows
                    : group.hook().apply(module, input.get(NDIndex.sliceAxis(0, from, to)), rows);
            inPlace &= out == rows;
            parts.add(out);
            from = to;
        }
        if (from != baseOutput.getShape().get(0)) {
            throw new IllegalArgumentException("the groups cover " + from + " rows; the batch has "
                    + baseOutput.getShape().get(0));
        }
        return inPlace ? baseOutput : NDArrays.concat(parts, 0);
    }

    @Override
    public boolean adapts(String module) {
        return groups.stream().anyMatch(g -> g.hook() != null && g.hook().adapts(module));
    }
}
