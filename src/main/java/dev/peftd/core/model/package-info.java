/**
 * Hugging Face decoder language models on DJL, computing what transformers computes.
 *
 * <p>{@link dev.peftd.core.model.ModelLoader} reads a model directory into a {@link dev.peftd.core.model.CausalLm};
 * each {@link dev.peftd.core.model.ModelFamily} maps its architecture's config.json keys (transformers 4.x and 5.x) to
 * a {@link dev.peftd.core.model.ModelConfig} and loads its weights. The families live in sub-packages ({@code llama}:
 * Llama, Mistral; {@code qwen2}; {@code gpt2}) and share the blocks here: {@link dev.peftd.core.model.LinearLayer}
 * (every linear layer, with the adapter hook), {@link dev.peftd.core.model.RmsNorm},
 * {@link dev.peftd.core.model.LayerNorm}, {@link dev.peftd.core.model.RotaryEmbedding},
 * {@link dev.peftd.core.model.CausalAttention}, {@link dev.peftd.core.model.GatedMlp} and
 * {@link dev.peftd.core.model.DecoderKvCache}.
 *
 * <p>Every forward call runs in its own NDScope ({@link dev.peftd.core.model.ForwardScope}), reads the weights only,
 * and may run on many threads at once.
 */
package dev.peftd.core.model;
