#include "edxgate/hsm/uri.h"

#include <charconv>

#include "edxgate/base/hex.h"

namespace edxgate::hsm {
namespace {

Result<std::string> percent_decode(std::string_view in, std::string_view attr) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    int hi = i + 2 < in.size() ? hex_digit(in[i + 1]) : -1;
    int lo = i + 2 < in.size() ? hex_digit(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return make_error(ErrorKind::usage, "uri.encoding",
                        "bad percent-encoding in pkcs11 URI attribute '" + std::string(attr) + "'");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// RFC 7512 pk11-pchar / pk11-qchar: unreserved, ":[]@!$'()*+,=" and "&" in
// the path, "/?|" ... ; everything else is encoded. We encode conservatively.
bool keep_literal(unsigned char c, bool in_query) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case ':':
    case '[':
    case ']':
    case '@':
    case '!':
    case '$':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case '=':
      return true;
    case '/':
      return in_query;
    default:
      return false;
  }
}

std::string percent_encode(std::string_view in, bool in_query, bool encode_all = false) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (!encode_all && keep_literal(c, in_query)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status set_once(std::optional<std::string>& slot, std::string_view name, std::string value) {
  if (slot) {
    return make_error(ErrorKind::usage, "uri.duplicate",
                      "attribute '" + std::string(name) + "' appears twice in the pkcs11 URI");
  }
  slot = std::move(value);
  return {};
}

Status parse_path_attr(Pkcs11Uri& u, std::string_view name, std::string value) {
  if (name == "token") return set_once(u.token, name, std::move(value));
  if (name == "manufacturer") return set_once(u.manufacturer, name, std::move(value));
  if (name == "serial") return set_once(u.serial, name, std::move(value));
  if (name == "model") return set_once(u.model, name, std::move(value));
  if (name == "object") return set_once(u.object, name, std::move(value));
  if (name == "type") {
    if (value != "private" && value != "public" && value != "cert" && value != "secret-key" && value != "data") {
      return make_error(ErrorKind::usage, "uri.type",
                        "pkcs11 URI type must be private, public, cert, "
                        "secret-key or data");
    }
    return set_once(u.type, name, std::move(value));
  }
  if (name == "id") {
    if (u.id) return make_error(ErrorKind::usage, "uri.duplicate", "attribute 'id' appears twice in the pkcs11 URI");
    u.id = std::vector<uint8_t>(value.begin(), value.end());
    return {};
  }
  if (name == "slot-id") {
    if (u.slot_id) {
      return make_error(ErrorKind::usage, "uri.duplicate", "attribute 'slot-id' appears twice in the pkcs11 URI");
    }
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
      return make_error(ErrorKind::usage, "uri.slot_id", "pkcs11 URI slot-id must be a decimal number");
    }
    u.slot_id = v;
    return {};
  }
  // Library and slot attributes narrow nothing we select on; accept them as
  // RFC 7512 allows, vendor attributes ("x-...") too.
  if (name == "library-manufacturer" || name == "library-description" || name == "library-version" ||
      name == "slot-description" || name == "slot-manufacturer" || name.rfind("x-", 0) == 0) {
    return {};
  }
  return make_error(ErrorKind::usage, "uri.attribute", "unknown pkcs11 URI attribute '" + std::string(name) + "'");
}

Status parse_query_attr(Pkcs11Uri& u, std::string_view name, std::string value) {
  if (name == "module-path") return set_once(u.module_path, name, std::move(value));
  if (name == "pin-source") {
    if (value.rfind("file:", 0) == 0) value.erase(0, 5);
    return set_once(u.pin_source, name, std::move(value));
  }
  if (name == "pin-value") {
    return make_error(ErrorKind::usage, "uri.pin_value",
                      "a PIN in a pkcs11 URI is refused; use --pin-file or "
                      "--pin-credential");
  }
  if (name == "module-name" || name.rfind("x-", 0) == 0) return {};
  return make_error(ErrorKind::usage, "uri.attribute",
                    "unknown pkcs11 URI query attribute '" + std::string(name) + "'");
}

template <class F>
Status for_each_pair(std::string_view text, char sep, F&& f) {
  while (!text.empty()) {
    size_t end = text.find(sep);
    std::string_view pair = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return make_error(ErrorKind::usage, "uri.syntax",
                        "pkcs11 URI attribute without '=': '" + std::string(pair.substr(0, 40)) + "'");
    }
    std::string_view name = pair.substr(0, eq);
    auto value = percent_decode(pair.substr(eq + 1), name);
    if (!value.ok()) return value.error();
    EDX_TRY(f(name, std::move(value.value())));
  }
  return {};
}

}  // namespace

Result<Pkcs11Uri> Pkcs11Uri::parse(std::string_view text) {
  constexpr std::string_view kScheme = "pkcs11:";
  if (text.size() < kScheme.size() || !std::equal(kScheme.begin(), kScheme.end(), text.begin(),
                                                  [](char a, char b) { return a == (b | 0x20) || a == b; })) {
    return make_error(ErrorKind::usage, "uri.scheme", "a pkcs11 URI starts with 'pkcs11:'");
  }
  if (text.size() > 4096) return make_error(ErrorKind::usage, "uri.length", "the pkcs11 URI is too long");
  text.remove_prefix(kScheme.size());
  Pkcs11Uri u;
  size_t q = text.find('?');
  std::string_view path = text.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : text.substr(q + 1);
  EDX_TRY(
      for_each_pair(path, ';', [&](std::string_view n, std::string v) { return parse_path_attr(u, n, std::move(v)); }));
  EDX_TRY(for_each_pair(query, '&',
                        [&](std::string_view n, std::string v) { return parse_query_attr(u, n, std::move(v)); }));
  return u;
}

std::string Pkcs11Uri::to_string() const {
  std::string out = "pkcs11:";
  bool first = true;
  auto add = [&](std::string_view name, std::string_view value, bool all = false) {
    if (!first) out.push_back(';');
    first = false;
    out.append(name).push_back('=');
    out += percent_encode(value, false, all);
  };
  if (model) add("model", *model);
  if (manufacturer) add("manufacturer", *manufacturer);
  if (serial) add("serial", *serial);
  if (token) add("token", *token);
  if (slot_id) add("slot-id", std::to_string(*slot_id));
  if (id) add("id", std::string_view(reinterpret_cast<const char*>(id->data()), id->size()), true);
  if (object) add("object", *object);
  if (type) add("type", *type);
  char sep = '?';
  auto addq = [&](std::string_view name, std::string_view value) {
    out.push_back(sep);
    sep = '&';
    out.append(name).push_back('=');
    out += percent_encode(value, true);
  };
  if (module_path) addq("module-path", *module_path);
  if (pin_source) addq("pin-source", *pin_source);
  return out;
}

Result<std::vector<uint8_t>> parse_hex_id(std::string_view hex) {
  if (hex.rfind("0x", 0) == 0 || hex.rfind("0X", 0) == 0) hex.remove_prefix(2);
  if (hex.empty() || hex.size() % 2 != 0 || hex.size() > 256) {
    return make_error(ErrorKind::usage, "usage.id", "a key id is an even number of hex digits (e.g. 01ab)");
  }
  std::vector<uint8_t> out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(ErrorKind::usage, "usage.id", "a key id is an even number of hex digits (e.g. 01ab)");
    }
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return out;
}

std::string to_hex(const std::vector<uint8_t>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace edxgate::hsm
