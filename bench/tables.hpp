// The driver's tables (tables.cpp): the "runs", "bf16" and "matmul" sections of results.json printed
// with their targets, and the small helpers the driver shares with them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace bench {

// j[key] as a number, NaN when it is not one (a side that failed to report it).
double number(const nlohmann::json& j, const char* key);
// |a - b| / |b| (b at least 1e-12).
double relative_difference(double a, double b);
// ctrans and gpt: the workloads with attention, a bf16 row and the matmul-share target.
bool is_transformer(const std::string& workload);

// Time per step and its ratio to LibTorch's against the targets, then peak RSS, the matmul share and the losses.
void print_runs(const nlohmann::json& runs);
// The bf16 mode against float32 and LibTorch (nothing when rows is empty).
void print_bf16(const nlohmann::json& rows);
// float32 matmul GFLOP/s, attograd against bare oneDNN.
void print_matmul(const nlohmann::json& rows);

}  // namespace bench
