#include "edxgate/base/result.h"

namespace edxgate {

// Transitional (issue 14): the kind the boundaries used to infer from the
// code. Call sites move to make_error(kind, ...) part by part; this goes when
// none is left.
ErrorKind kind_of_code(const std::string& c) {
  auto starts = [&](const char* p) { return c.rfind(p, 0) == 0; };
  if (c == "http.too_large" || c == "store.too_large") return ErrorKind::too_large;
  if (c == "submit.sender" || c == "api.forbidden") return ErrorKind::forbidden;
  if (c == "store.not_found") return ErrorKind::not_found;
  if (c == "store.conflict" || c == "store.illegal_transition") return ErrorKind::conflict;
  if (starts("multipart.") || starts("api.") || starts("http.")) return ErrorKind::malformed;
  if (c == "token.absent" || c == "sign.no_token" || c == "ready.token") return ErrorKind::unavailable;
  if (starts("pin.")) return c == "pin.missing" ? ErrorKind::invalid : ErrorKind::forbidden;
  if (starts("usage.") || starts("config.")) return ErrorKind::usage;
  if (starts("io.")) return ErrorKind::io;
  if (starts("edxml.") || starts("json.") || starts("xml.") || starts("submit.") || starts("sig.") ||
      starts("sign.") || starts("cert.") || starts("c14n.") || starts("report.") || starts("revocation."))
    return ErrorKind::invalid;
  return ErrorKind::internal;
}

}  // namespace edxgate
