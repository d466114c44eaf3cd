// Internal to qreg_core (ONNX protobuf types): the standard-ONNX form of the ActQuant node, written
// by export_onnx and recognised by import_onnx (docs/onnx.md, "Activation quantizer"):
//   s = Div(M, q)             M: the running-max initializer [1]; q: scalar constant 2^B − 1
//   y = Mul(Clip(Round(Div(x, s)), 0, q), s)
// Every step is the float operation core/ops/act_quant.cpp performs, so a runtime computes the
// engine's outputs bitwise.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace qreg::onnx_detail {

/// Appends the pattern computing `y` from `x` (nodes named "<node_name>/Div_scale" ...). `unique`
/// turns a wanted tensor name into one not yet used in the model.
void write_act_quant(onnx::GraphProto* gp, const std::string& node_name, const std::string& x,
                     const std::string& running_max, const std::string& y, int bits,
                     const std::function<std::string(const std::string&)>& unique);

/// 2^B − 1 → B for B in [2, 16]; 0 for any other value.
int act_quant_bits(float qmax);

/// The rest of the pattern after node `div` = Div(x, s), where s = M / qmax: the Round, Clip and
/// Mul nodes (their indices) and the pattern's output name. Throws Error (naming the node) when
/// the chain is broken. `constant(name)` is the float constant of that name or nullptr; `uses`
/// counts the consumers of every name.
struct ActQuantChain {
  std::vector<int> nodes;  // Round, Clip, Mul
  std::string output;
};
ActQuantChain match_act_quant_chain(const onnx::GraphProto& gp, int div, float qmax,
                                    const std::function<const Tensor*(const std::string&)>& constant,
                                    const std::map<std::string, int>& uses);

}  // namespace qreg::onnx_detail
