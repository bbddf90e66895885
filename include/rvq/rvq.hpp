/// @file rvq.hpp
/// @brief Umbrella header (hosted): the quantizer, every policy, training and file formats.
/// Firmware includes <rvq/quantizer.hpp> alone.
#pragma once
#include "config.hpp"
#include "core/extents.hpp"
#include "core/footprint.hpp"
#include "core/packing.hpp"
#include "core/span.hpp"
#include "core/status.hpp"
#include "policies.hpp"
#include "quantizer.hpp"
#if RVQ_HOSTED
#include "eval.hpp"
#include "exceptions.hpp"
#include "pipeline.hpp"
#include "storage/projection.hpp"
#include "io/codegen.hpp"
#include "io/mapped_model.hpp"
#include "io/model_file.hpp"
#include "io/pipeline_file.hpp"
#include "io/npy.hpp"
#include "io/safetensors.hpp"
#include "io/faiss.hpp"
#include "io/vecs.hpp"
#include "io/visit_model.hpp"
#include "train/kmeans.hpp"
#include "train/refine.hpp"
#include "train/residual.hpp"
#include "train/calibrate.hpp"
#include "train/compact.hpp"
#include "train/compress.hpp"
#endif
