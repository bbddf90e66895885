/// @file messages.hpp
/// @brief Error messages that more than one function reports, each written once.
#pragma once

/// Messages of rvq::status that several functions share; compare a status's message with these.
namespace rvq::msg {
/// The quantizer holds no layers (default-constructed, or moved from).
inline constexpr const char no_codebooks[] = "the quantizer has no codebooks";
/// A model (file or object) holds no layers.
inline constexpr const char model_no_codebooks[] = "the model has no codebooks";
/// A matrix_view whose stride is below its row length.
inline constexpr const char malformed_view[] = "malformed matrix view (stride below the row length)";
/// A code at or above its layer's K.
inline constexpr const char code_out_of_range[] = "code out of range";
/// A row of codes whose length is not the model's layer count.
inline constexpr const char codes_length[] = "codes length differs from the number of layers";
/// NaN or Inf among codewords.
inline constexpr const char codebook_non_finite[] = "codebook contains NaN or Inf";
/// NaN or Inf among sub-codewords (pq/rpq).
inline constexpr const char sub_codebook_non_finite[] = "sub-codebook contains NaN or Inf";
/// NaN or Inf in training data.
inline constexpr const char training_non_finite[] = "training data contains NaN or Inf";
/// A finite input whose projection (pipeline stage) is not finite: the weights overflowed float.
inline constexpr const char projection_overflow[] =
    "a projection overflowed float on a finite input row (its weights or bias are too large for the data)";
/// A finite input whose residual between pipeline stages is not finite.
inline constexpr const char residual_overflow[] =
    "the residual between pipeline stages overflowed float on a finite input row";
/// Finite training data whose intermediate values (norms, residuals, centroid sums) overflowed float.
inline constexpr const char training_overflow[] =
    "training overflowed float on finite data (values too close to the float range: scale the data down)";
/// No training vectors.
inline constexpr const char empty_training[] = "the training set is empty";
/// K outside what a layer may hold.
inline constexpr const char k_out_of_range[] = "codewords per layer out of range (1 to 65536)";
/// A layer count above rvq::max_layers.
inline constexpr const char layers_out_of_range[] = "layer count out of range (1 to 4096)";
/// A dimension of zero or above the limit (rvq::max_dim; pq/rpq: rvq::product_max_dim).
inline constexpr const char dim_out_of_range[] = "dimension out of range (1 to 2^24; pq/rpq: 1 to 16384)";
/// More codewords in all layers than rvq::max_total_codewords.
inline constexpr const char total_out_of_range[] = "more than 2^26 codewords in all layers";
/// A model whose loaded form would exceed rvq::io::memory_bound() of its file size.
inline constexpr const char model_expands[] =
    "the model would take more memory than its file can justify (1024 bytes per byte of file, at least 64 MiB)";
/// A layer's K of zero or above the static extents.
inline constexpr const char bad_layer_k[] = "a layer's K is zero or above the extents";
/// A beam width of 0 or above the smallest K.
inline constexpr const char bad_beam[] = "beam width must be between 1 and the smallest layer's K";
/// A pipeline without stages.
inline constexpr const char no_stages[] = "the pipeline has no stages";
/// A model whose metric is not the Config's.
inline constexpr const char metric_differs[] = "the model's metric differs from the quantizer's Config::metric";
/// Hamming without binary codewords, or binary codewords with another metric.
inline constexpr const char hamming_binary[] = "the hamming metric goes with binary codewords, and only with them";
}  // namespace rvq::msg
