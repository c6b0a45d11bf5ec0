// Where the time of a step goes, in seconds: waiting for data, forward, backward, the all-reduce
// (which may overlap backward), the part of it backward did not hide ("exposed"), the update, the
// whole step.
#pragma once

#include <string>
#include <vector>

namespace alexnet {

struct Phases {
  double data = 0, forward = 0, backward = 0, allreduce = 0, exposed = 0, update = 0, step = 0;

  // Names in the order of values(): what tables and JSON files call them.
  static const std::vector<std::string>& names() {
    static const std::vector<std::string> n = {"data",   "forward", "backward", "all-reduce", "all-reduce exposed",
                                               "update", "step"};
    return n;
  }
  std::vector<double> values() const { return {data, forward, backward, allreduce, exposed, update, step}; }
  Phases& operator+=(const Phases& o) {
    data += o.data, forward += o.forward, backward += o.backward, allreduce += o.allreduce;
    exposed += o.exposed, update += o.update, step += o.step;
    return *this;
  }
  Phases scaled(double f) const {
    return {data * f, forward * f, backward * f, allreduce * f, exposed * f, update * f, step * f};
  }
};

}  // namespace alexnet
