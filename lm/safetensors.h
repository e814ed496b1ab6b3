// safetensors files (Hugging Face's weight format): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}}, then
// the raw tensor bytes. Read by memory map; written atomically.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

namespace r1lab {

// Every tensor of one file by name, as stored (F32, F16, BF16, F64, I64,
// I32, I16, I8, U8, BOOL), backed by a private memory map of the file.
// IoError naming the file (and tensor) when it cannot be read or its
// header is inconsistent; InputError for a dtype torch has no type for.
std::map<std::string, torch::Tensor> LoadSafetensors(const std::string& path);

// A Hugging Face model folder's weights: model.safetensors, or the shards
// model.safetensors.index.json lists (each tensor from the shard its
// weight_map names). IoError naming what is missing.
std::map<std::string, torch::Tensor> LoadSafetensorsFolder(const std::string& folder);

// Writes `tensors` (any device; contiguous copies are made) to `path`
// atomically, keys in sorted order, the header padded to 8 bytes.
// `metadata` goes in "__metadata__" ({"format": "pt"} is what transformers
// writes).
void SaveSafetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                     const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace r1lab
