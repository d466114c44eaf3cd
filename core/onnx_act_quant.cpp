#include "core/onnx_act_quant.hpp"

#include "core/error.hpp"
#include "core/onnx_proto.hpp"

namespace qreg::onnx_detail {
namespace {

onnx::NodeProto* add_node(onnx::GraphProto* gp, const std::string& name, const char* op,
                          std::initializer_list<std::string> inputs, const std::string& output) {
  auto* np = gp->add_node();
  np->set_name(name);
  np->set_op_type(op);
  for (const auto& in : inputs) np->add_input(in);
  np->add_output(output);
  return np;
}

int count(const std::map<std::string, int>& uses, const std::string& name) {
  const auto it = uses.find(name);
  return it == uses.end() ? 0 : it->second;
}

/// The only consumer of `name` after node `after`, which must be a `op` node reading it as one of
/// its inputs; Error naming `from` otherwise.
int next_consumer(const onnx::GraphProto& gp, int after, const std::string& name, const char* op,
                  const std::map<std::string, int>& uses, const onnx::NodeProto& from) {
  if (count(uses, name) != 1)
    node_error(from, "activation quantizer pattern: '" + name + "' must feed exactly one " + op + " node");
  for (int j = after + 1; j < gp.node_size(); ++j) {
    const auto& n = gp.node(j);
    for (const auto& in : n.input())
      if (in == name) {
        if (n.op_type() != op)
          node_error(from,
                     std::string("activation quantizer pattern: expected ") + op + " after it, found " + n.op_type());
        return j;
      }
  }
  node_error(from, std::string("activation quantizer pattern: no ") + op + " node reads '" + name + "'");
}

bool is_scalar(const Tensor* t, float value) { return t && t->size() == 1 && (*t)[0] == value; }

}  // namespace

void write_act_quant(onnx::GraphProto* gp, const std::string& node_name, const std::string& x,
                     const std::string& running_max, const std::string& y, int bits,
                     const std::function<std::string(const std::string&)>& unique) {
  const std::string qmax = unique(y + "_qmax"), zero = unique(y + "_zero");
  from_tensor(Tensor(Shape{}, static_cast<float>((1 << bits) - 1)), qmax, gp->add_initializer());
  from_tensor(Tensor(Shape{}, 0.0f), zero, gp->add_initializer());
  const std::string s = unique(y + "_scale"), t = unique(y + "_scaled"), r = unique(y + "_rounded"),
                    c = unique(y + "_clipped");
  add_node(gp, node_name + "/Div_scale", "Div", {running_max, qmax}, s);
  add_node(gp, node_name + "/Div", "Div", {x, s}, t);
  add_node(gp, node_name + "/Round", "Round", {t}, r);
  add_node(gp, node_name + "/Clip", "Clip", {r, zero, qmax}, c);
  add_node(gp, node_name + "/Mul", "Mul", {c, s}, y);
}

int act_quant_bits(float qmax) {
  for (int b = 2; b <= 16; ++b)
    if (qmax == static_cast<float>((1 << b) - 1)) return b;
  return 0;
}

ActQuantChain match_act_quant_chain(const onnx::GraphProto& gp, int div, float qmax,
                                    const std::function<const Tensor*(const std::string&)>& constant,
                                    const std::map<std::string, int>& uses) {
  const auto& d = gp.node(div);
  const std::string& s = d.input(1);
  if (count(uses, s) != 2) node_error(d, "activation quantizer pattern: the scale '" + s + "' must feed Div and Mul");
  const int round = next_consumer(gp, div, d.output(0), "Round", uses, d);
  const auto& rn = gp.node(round);
  const int clip = next_consumer(gp, round, rn.output(0), "Clip", uses, rn);
  const auto& cn = gp.node(clip);
  if (cn.input_size() != 3 || cn.input(0) != rn.output(0) || !is_scalar(constant(cn.input(1)), 0.0f) ||
      !is_scalar(constant(cn.input(2)), qmax))
    node_error(cn, "activation quantizer pattern: Clip must bound to the constants 0 and " + std::to_string(qmax));
  const int mul = next_consumer(gp, clip, cn.output(0), "Mul", uses, cn);
  const auto& mn = gp.node(mul);
  if (mn.input_size() != 2 || (mn.input(0) != s && mn.input(1) != s))
    node_error(mn, "activation quantizer pattern: Mul must multiply by the scale '" + s + "'");
  allow_attrs(d, {});
  allow_attrs(rn, {});
  allow_attrs(cn, {});
  allow_attrs(mn, {});
  return {{round, clip, mul}, mn.output(0)};
}

}  // namespace qreg::onnx_detail
