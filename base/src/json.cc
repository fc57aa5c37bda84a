// The one translation unit that compiles Boost.JSON.
#include <boost/json/src.hpp>

#include "edxgate/base/json.h"

namespace edxgate::json {

Result<bj::value> parse(std::string_view text, unsigned max_depth) {
  bj::parse_options opt;
  opt.max_depth = max_depth;
  boost::system::error_code ec;
  bj::value v = bj::parse(bj::string_view(text.data(), text.size()), ec, {}, opt);
  if (ec) return make_error(ErrorKind::invalid, "json.syntax", "invalid JSON: " + ec.message());
  return v;
}

namespace {
void pretty_to(std::string& out, const bj::value& v, int indent) {
  auto pad = [&](int n) { out.append(static_cast<size_t>(n) * 2, ' '); };
  switch (v.kind()) {
    case bj::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      size_t i = 0;
      for (const auto& kv : o) {
        pad(indent + 1);
        out += bj::serialize(bj::value(kv.key()));
        out += ": ";
        pretty_to(out, kv.value(), indent + 1);
        out += (++i < o.size()) ? ",\n" : "\n";
      }
      pad(indent);
      out += "}";
      return;
    }
    case bj::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (size_t i = 0; i < a.size(); ++i) {
        pad(indent + 1);
        pretty_to(out, a[i], indent + 1);
        out += (i + 1 < a.size()) ? ",\n" : "\n";
      }
      pad(indent);
      out += "]";
      return;
    }
    default:
      out += bj::serialize(v);
  }
}
}  // namespace

std::string pretty(const bj::value& v) {
  std::string out;
  pretty_to(out, v, 0);
  out += '\n';
  return out;
}

}  // namespace edxgate::json
