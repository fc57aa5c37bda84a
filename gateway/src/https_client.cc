// Blocking HTTP(S) client over Beast (see https_client.h). Each step runs on
// a private io_context with the stream's deadline, so a silent or slow peer
// costs at most `timeout`.
#include "edxgate/gateway/https_client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace edxgate::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

struct HttpsClient::Impl {
  bool tls = true;
  std::string host;
  std::string port;
  std::string prefix;
  ClientOptions opt;
  std::shared_ptr<ssl::context> ctx;
};

namespace {

Error io_error(const beast::error_code& ec, const char* what) {
  if (ec == beast::error::timeout)
    return make_error(ErrorKind::unavailable, "client.timeout", std::string(what) + " timed out");
  return make_error(ErrorKind::unavailable, "client.io", std::string(what) + " failed: " + ec.message());
}

// Runs the operation started by `start` to completion on `ioc`.
template <class Start>
beast::error_code run(net::io_context& ioc, Start&& start) {
  beast::error_code result = net::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

template <class Stream, class Body>
Result<ClientResponse> exchange(net::io_context& ioc, Stream& stream, beast::tcp_stream& tcp_layer,
                                http::request<Body>& req, const HttpsClient::Impl& c,
                                const std::string& response_file) {
  auto ec = run(ioc, [&](auto h) { http::async_write(stream, req, h); });
  if (ec) return io_error(ec, "sending the request");
  beast::flat_buffer buffer;
  ClientResponse out;
  auto finish = [&](auto& parser) -> Result<ClientResponse> {
    parser.header_limit(64 * 1024);
    parser.body_limit(c.opt.max_response_bytes);
    auto e = run(ioc, [&](auto h) { http::async_read(stream, buffer, parser, h); });
    if (e == http::error::body_limit)
      return make_error(ErrorKind::too_large, "client.too_large", "the response is larger than allowed");
    if (e && e != http::error::end_of_stream) {
      if (e == beast::error::timeout) return io_error(e, "reading the response");
      return make_error(ErrorKind::unavailable, "client.malformed", "the response could not be read: " + e.message());
    }
    auto& msg = parser.get();
    out.status = msg.result_int();
    for (const auto& f : msg) out.headers.add(std::string(f.name_string()), std::string(f.value()));
    return out;
  };
  Result<ClientResponse> r = make_error(ErrorKind::unavailable, "client.io", "no response");
  if (response_file.empty()) {
    http::response_parser<http::string_body> p;
    r = finish(p);
    if (r.ok()) r->body = std::move(p.get().body());
  } else {
    http::response_parser<http::file_body> p;
    beast::error_code fe;
    p.get().body().open(response_file.c_str(), beast::file_mode::write, fe);
    if (fe)
      return make_error(ErrorKind::unavailable, "client.io", "cannot open " + response_file + " for the response");
    r = finish(p);
    p.get().body().close();
  }
  tcp_layer.expires_after(std::chrono::seconds(1));
  return r;
}

// A file followed by a few bytes, streamed (the axis SDK sends a sendEdoc
// file followed by CRLF). The file is read in pieces, never whole.
struct FileThenBytesBody {
  struct value_type {
    beast::file file;
    uint64_t file_size = 0;
    std::string suffix;
  };
  static uint64_t size(const value_type& v) { return v.file_size + v.suffix.size(); }

  class writer {
   public:
    using const_buffers_type = net::const_buffer;
    template <bool isRequest, class Fields>
    writer(http::header<isRequest, Fields>&, value_type& b) : body_(b) {}
    void init(beast::error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (sent_ < body_.file_size) {
        const auto want = static_cast<size_t>(std::min<uint64_t>(buf_.size(), body_.file_size - sent_));
        const size_t n = body_.file.read(buf_.data(), want, ec);
        if (ec) return boost::none;
        if (n == 0) {
          ec = http::error::short_read;  // the file shrank while it was sent
          return boost::none;
        }
        sent_ += n;
        return {{net::const_buffer(buf_.data(), n), true}};
      }
      if (!suffix_sent_ && !body_.suffix.empty()) {
        suffix_sent_ = true;
        return {{net::const_buffer(body_.suffix.data(), body_.suffix.size()), false}};
      }
      return boost::none;
    }

   private:
    value_type& body_;
    uint64_t sent_ = 0;
    bool suffix_sent_ = false;
    std::vector<char> buf_ = std::vector<char>(64 * 1024);
  };
};

template <class Body>
void fill_request(http::request<Body>& req, const ClientRequest& r, const HttpsClient::Impl& c) {
  req.method_string(r.method);
  req.target(c.prefix + r.path);
  req.version(11);
  req.set(http::field::host, c.host);
  req.set(http::field::connection, "close");
  if (!r.content_type.empty()) req.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) req.set(k, v);
}

}  // namespace

Result<HttpsClient> HttpsClient::create(const std::string& base_url, ClientOptions options) {
  auto impl = std::make_shared<Impl>();
  std::string rest;
  if (base_url.rfind("https://", 0) == 0) {
    rest = base_url.substr(8);
  } else if (base_url.rfind("http://", 0) == 0) {
    impl->tls = false;
    rest = base_url.substr(7);
  } else {
    return make_error(ErrorKind::usage, "client.url", "the URL '" + base_url + "' is neither https:// nor http://");
  }
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  impl->prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!impl->prefix.empty() && impl->prefix.back() == '/') impl->prefix.pop_back();
  auto colon = authority.rfind(':');
  if (colon == std::string::npos || (!authority.empty() && authority.front() == '[' && authority.find(']') > colon)) {
    impl->host = authority;
    impl->port = impl->tls ? "443" : "80";
  } else {
    impl->host = authority.substr(0, colon);
    impl->port = authority.substr(colon + 1);
  }
  if (impl->host.size() > 2 && impl->host.front() == '[') impl->host = impl->host.substr(1, impl->host.size() - 2);
  if (impl->host.empty()) return make_error(ErrorKind::usage, "client.url", "the URL '" + base_url + "' has no host");
  impl->opt = std::move(options);
  if (impl->tls) {
    impl->ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* c = impl->ctx->native_handle();
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_cipher_list(c,
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
    int ok = impl->opt.ca_file.empty() ? SSL_CTX_set_default_verify_paths(c)
                                       : SSL_CTX_load_verify_locations(c, impl->opt.ca_file.c_str(), nullptr);
    if (ok != 1)
      return make_error(ErrorKind::unavailable, "client.tls", "cannot load the CA bundle " + impl->opt.ca_file);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    if (!impl->opt.client_cert.empty()) {
      if (SSL_CTX_use_certificate_chain_file(c, impl->opt.client_cert.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(c, impl->opt.client_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(c) != 1)
        return make_error(ErrorKind::unavailable, "client.tls",
                          "cannot load the client certificate " + impl->opt.client_cert);
    }
  }
  return HttpsClient(std::move(impl));
}

const std::string& HttpsClient::host() const { return impl_->host; }

Result<ClientResponse> HttpsClient::send(const ClientRequest& r, const std::string& response_file) const {
  const Impl& c = *impl_;
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(c.host, c.port, tcp::resolver::numeric_service, ec);
  if (ec) return make_error(ErrorKind::unavailable, "client.connect", "cannot resolve " + c.host + ": " + ec.message());
  const auto deadline = std::chrono::steady_clock::now() + c.opt.timeout;

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::tcp_stream* tcp_layer = nullptr;
  if (c.tls) {
    secure.emplace(ioc, *c.ctx);
    tcp_layer = &beast::get_lowest_layer(*secure);
  } else {
    plain.emplace(ioc);
    tcp_layer = &*plain;
  }
  tcp_layer->expires_at(deadline);
  ec = run(ioc, [&](auto h) { tcp_layer->async_connect(endpoints, h); });
  if (ec) {
    if (ec == beast::error::timeout) return io_error(ec, "connecting");
    return make_error(ErrorKind::unavailable, "client.connect",
                      "cannot connect to " + c.host + ":" + c.port + ": " + ec.message());
  }
  if (c.tls) {
    SSL* ssl_handle = secure->native_handle();
    boost::system::error_code ip_ec;
    net::ip::make_address(c.host, ip_ec);
    if (ip_ec) SSL_set_tlsext_host_name(ssl_handle, c.host.c_str());
    secure->set_verify_callback(ssl::host_name_verification(c.host));
    ec = run(ioc, [&](auto h) { secure->async_handshake(ssl::stream_base::client, h); });
    if (ec) {
      if (ec == beast::error::timeout) return io_error(ec, "the TLS handshake");
      return make_error(ErrorKind::unavailable, "client.tls",
                        "TLS handshake with " + c.host + " failed: " + ec.message());
    }
  }
  auto go = [&](auto& req) -> Result<ClientResponse> {
    fill_request(req, r, c);
    req.prepare_payload();
    Result<ClientResponse> res = c.tls ? exchange(ioc, *secure, *tcp_layer, req, c, response_file)
                                       : exchange(ioc, *plain, *tcp_layer, req, c, response_file);
    if (c.tls) run(ioc, [&](auto h) { secure->async_shutdown(h); });
    return res;
  };
  if (!r.body_file.empty() && !r.body_file_suffix.empty()) {
    http::request<FileThenBytesBody> req;
    req.body().file.open(r.body_file.c_str(), beast::file_mode::scan, ec);
    if (!ec) req.body().file_size = req.body().file.size(ec);
    if (ec) return make_error(ErrorKind::unavailable, "client.io", "cannot open " + r.body_file + " to send it");
    req.body().suffix = r.body_file_suffix;
    return go(req);
  }
  if (!r.body_file.empty()) {
    http::request<http::file_body> req;
    req.body().open(r.body_file.c_str(), beast::file_mode::scan, ec);
    if (ec) return make_error(ErrorKind::unavailable, "client.io", "cannot open " + r.body_file + " to send it");
    return go(req);
  }
  http::request<http::string_body> req;
  req.body() = r.body;
  return go(req);
}

}  // namespace edxgate::gateway
