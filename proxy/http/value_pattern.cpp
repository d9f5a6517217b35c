#include "proxy/http/value_pattern.h"

#include <stdexcept>

#include <boost/regex.hpp>

namespace proxy::http {

struct ValuePattern::Impl {
  boost::regex re;
};

ValuePattern::ValuePattern(std::unique_ptr<Impl> impl, std::string text)
    : impl_(std::move(impl)), text_(std::move(text)) {}

ValuePattern::~ValuePattern() = default;

std::shared_ptr<const ValuePattern> ValuePattern::compile(std::string_view text, std::string& error,
                                                          size_t& offset) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->re.assign(text.data(), text.data() + text.size(), boost::regex::perl);
  } catch (const boost::regex_error& e) {
    error = boost::BOOST_REGEX_DETAIL_NS::get_default_error_string(e.code());
    offset = e.position() < 0 ? 0 : static_cast<size_t>(e.position());
    if (offset > text.size()) offset = text.size();
    return nullptr;
  }
  return std::make_shared<const ValuePattern>(std::move(impl), std::string(text));
}

bool ValuePattern::search(std::string_view value, std::vector<std::string_view>& captures) const {
  boost::match_results<std::string_view::const_iterator> m;
  try {
    if (!boost::regex_search(value.begin(), value.end(), m, impl_->re)) return false;
  } catch (const std::runtime_error&) {
    return false;  // the matcher's complexity or memory bound
  }
  captures.clear();
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i].matched)
      captures.emplace_back(value.data() + (m[i].first - value.begin()),
                            static_cast<size_t>(m[i].second - m[i].first));
    else
      captures.emplace_back();
  }
  return true;
}

unsigned ValuePattern::groups() const {
  return static_cast<unsigned>(impl_->re.mark_count());
}

}  // namespace proxy::http
