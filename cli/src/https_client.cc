#include "https_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "edxgate/base/json.h"
#include "edxgate/base/ossl.h"

namespace edxgate::cli {
namespace {

using SslCtxPtr = ossl::Ptr<SSL_CTX, SSL_CTX_free>;
using SslPtr = ossl::Ptr<SSL, SSL_free>;

struct Url {
  std::string host;
  std::string port;
  std::string prefix;
};

Result<Url> parse_url(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0) return make_error(ErrorKind::usage, "https.url", "the URL must start with https://");
  std::string rest = url.substr(kScheme.size());
  Url u;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return make_error(ErrorKind::usage, "https.url", "unbalanced [ in the URL's host");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = authority.substr(close + 2);
  } else {
    size_t colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.port.empty()) u.port = "443";
  if (u.host.empty() || !std::all_of(u.port.begin(), u.port.end(), [](unsigned char c) { return std::isdigit(c); }))
    return make_error(ErrorKind::usage, "https.url", "the URL needs a host and a numeric port");
  return u;
}

Error tls_error(const std::string& what) {
  return make_error(ErrorKind::unavailable, "https.tls", what + ": " + ossl::last_error());
}

Result<SslCtxPtr> make_context(const HttpsOptions& o) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return tls_error("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (o.ca.empty() ? SSL_CTX_set_default_verify_paths(ctx.get()) != 1
                   : SSL_CTX_load_verify_locations(ctx.get(), o.ca.c_str(), nullptr) != 1)
    return tls_error("cannot load the CA bundle " + o.ca);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!o.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert.c_str()) != 1)
      return tls_error("cannot load the client certificate " + o.cert);
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1)
      return tls_error("cannot load the client key " + o.key + " (or it does not match the certificate)");
  }
  return ctx;
}

void set_timeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

Status write_all(SSL* ssl, std::string_view data) {
  while (!data.empty()) {
    size_t n = 0;
    if (SSL_write_ex(ssl, data.data(), data.size(), &n) != 1)
      return make_error(ErrorKind::unavailable, "https.io", "the connection failed while sending the request");
    data.remove_prefix(n);
  }
  return {};
}

// Decodes a chunked body; false when malformed.
bool unchunk(std::string_view in, std::string& out) {
  for (;;) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return false;
    std::string_view size_text = in.substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));
    uint64_t size = 0;
    auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || end != size_text.data() + size_text.size()) return false;
    in.remove_prefix(eol + 2);
    if (size == 0) return true;
    if (in.size() < size + 2) return false;
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

Result<HttpsReply> parse_reply(const std::string& raw) {
  auto malformed = [] {
    return make_error(ErrorKind::unavailable, "https.malformed", "the server's answer is not HTTP/1.1");
  };
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.rfind("HTTP/1.", 0) != 0) return malformed();
  HttpsReply r;
  size_t sp = raw.find(' ');
  if (sp == std::string::npos || sp + 4 > head_end) return malformed();
  auto [end, ec] = std::from_chars(raw.data() + sp + 1, raw.data() + sp + 4, r.status);
  if (ec != std::errc()) return malformed();
  size_t line = raw.find("\r\n") + 2;
  while (line < head_end) {
    size_t next = raw.find("\r\n", line);
    std::string h = raw.substr(line, next - line);
    size_t colon = h.find(':');
    if (colon != std::string::npos) {
      std::string name = h.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      size_t v = h.find_first_not_of(" \t", colon + 1);
      r.headers[name] = v == std::string::npos ? "" : h.substr(v);
    }
    line = next + 2;
  }
  std::string_view body(raw.data() + head_end + 4, raw.size() - head_end - 4);
  auto te = r.headers.find("transfer-encoding");
  if (te != r.headers.end() && te->second.find("chunked") != std::string::npos) {
    if (!unchunk(body, r.body)) return malformed();
  } else if (auto cl = r.headers.find("content-length"); cl != r.headers.end()) {
    uint64_t n = 0;
    auto [e2, ec2] = std::from_chars(cl->second.data(), cl->second.data() + cl->second.size(), n);
    if (ec2 != std::errc() || n > body.size()) return malformed();
    r.body.assign(body.substr(0, n));
  } else {
    r.body.assign(body);
  }
  return r;
}

}  // namespace

Result<HttpsReply> https_request(const HttpsOptions& o, const std::string& method, const std::string& path,
                                 const std::string& content_type, const std::string& body) {
  auto url = parse_url(o.url);
  if (!url.ok()) return url.error();
  auto ctx = make_context(o);
  if (!ctx.ok()) return ctx.error();
  const std::string address =
      (url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host) + ":" + url->port;
  ossl::BioPtr conn(BIO_new_connect(address.c_str()));
  if (!conn) return tls_error("cannot create a connection");
  if (BIO_do_connect(conn.get()) != 1)
    return make_error(ErrorKind::unavailable, "https.connect",
                      "cannot connect to " + address + ": " + ossl::last_error());
  int fd = -1;
  BIO_get_fd(conn.get(), &fd);
  if (fd >= 0) set_timeouts(fd, o.timeout);
  SslPtr ssl(SSL_new(ctx->get()));
  if (!ssl) return tls_error("cannot create a TLS session");
  // The server's certificate must name the host (or IP) we asked for.
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, url->host.c_str()) != 1) {
    if (SSL_set1_host(ssl.get(), url->host.c_str()) != 1) return tls_error("cannot set the expected host name");
    SSL_set_tlsext_host_name(ssl.get(), url->host.c_str());
  }
  BIO* raw = conn.release();  // the SSL object owns it from here
  SSL_set_bio(ssl.get(), raw, raw);
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    std::string why = verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify)) : ossl::last_error();
    return make_error(ErrorKind::unavailable, "https.tls", "TLS with " + address + " failed: " + why);
  }
  std::string head = method + " " + url->prefix + path + " HTTP/1.1\r\nHost: " + url->host + ":" + url->port +
                     "\r\nConnection: close\r\nUser-Agent: edxgate-cli\r\nAccept: application/json\r\n";
  if (method != "GET" || !body.empty()) {
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (!content_type.empty()) head += "Content-Type: " + content_type + "\r\n";
  }
  head += "\r\n";
  EDX_TRY(write_all(ssl.get(), head));
  EDX_TRY(write_all(ssl.get(), body));
  std::string raw_reply;
  char buf[16384];
  for (;;) {
    size_t n = 0;
    if (SSL_read_ex(ssl.get(), buf, sizeof buf, &n) == 1) {
      raw_reply.append(buf, n);
      if (raw_reply.size() > o.max_response_bytes + 64 * 1024)
        return make_error(ErrorKind::too_large, "https.too_large", "the server's answer is larger than allowed");
      continue;
    }
    const int err = SSL_get_error(ssl.get(), 0);
    if (err == SSL_ERROR_ZERO_RETURN) break;
    // A server that closes without close_notify after a complete answer.
    if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL) {
      ERR_clear_error();
      if (raw_reply.find("\r\n\r\n") != std::string::npos) break;
    }
    return make_error(ErrorKind::unavailable, "https.io",
                      "the connection failed while reading the answer (timeout or reset)");
  }
  SSL_shutdown(ssl.get());
  return parse_reply(raw_reply);
}

Error problem_error(const HttpsReply& reply) {
  auto v = json::parse(reply.body);
  std::string code = "http." + std::to_string(reply.status),
              detail = "the gateway answered HTTP " + std::to_string(reply.status);
  if (v.ok() && v->is_object()) {
    const auto& o = v->as_object();
    constexpr std::string_view kType = "urn:edxgate:problem:";
    if (const auto* t = o.if_contains("type"); t && t->is_string() && t->as_string().starts_with(kType))
      code = std::string(t->as_string()).substr(kType.size());
    if (const auto* d = o.if_contains("detail"); d && d->is_string()) detail = std::string(d->as_string());
  }
  ErrorKind kind = ErrorKind::unavailable;
  if (reply.status == 404)
    kind = ErrorKind::not_found;
  else if (reply.status == 409)
    kind = ErrorKind::conflict;
  else if (reply.status == 401)
    kind = ErrorKind::unauthorized;
  else if (reply.status == 403)
    kind = ErrorKind::forbidden;
  else if (reply.status == 422)
    kind = ErrorKind::invalid;
  else if (reply.status == 400)
    kind = ErrorKind::malformed;
  return make_error(kind, code, detail);
}

}  // namespace edxgate::cli
