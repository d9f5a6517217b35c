#include "proxy/metrics/exposition.h"

#include <prometheus/text_serializer.h>

namespace proxy::metrics {

std::vector<prometheus::MetricFamily> collect(const Sources& s) {
  std::vector<prometheus::MetricFamily> out;
  out.reserve(48);
  collect_listeners(s, out);
  collect_nodes(s, out);
  collect_node_state(s, out);
  collect_login_shield(s, out);
  collect_process(s, out);
  return out;
}

std::string render(const Sources& s) {
  return prometheus::TextSerializer().Serialize(collect(s));
}

}  // namespace proxy::metrics
