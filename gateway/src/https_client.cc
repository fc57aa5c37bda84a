// Blocking HTTP(S) client over Beast (see https_client.h). Each step runs on
// the connection's private io_context with the stream's deadline, so a silent
// or slow peer costs at most `timeout`.
#include "edxgate/gateway/https_client.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <deque>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <optional>
#include <vector>

#include "edxgate/base/mutex.h"
#include "edxgate/base/ossl.h"

namespace edxgate::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

using SslSessionPtr = ossl::Ptr<SSL_SESSION, SSL_SESSION_free>;
using Clock = std::chrono::steady_clock;

// One connection with its own io_context (the streams are declared after it,
// so they are destroyed first).
struct Connection {
  net::io_context ioc;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  Clock::time_point idle_since;
  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

// Whether a kept connection can carry another request: the peer has neither
// closed it nor sent anything (a close_notify, a stray answer) since the last
// exchange. Checked without blocking.
bool still_open(Connection& c) {
  char b;
  const ssize_t n = ::recv(c.tcp().socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

struct HttpsClient::Impl {
  bool tls = true;
  std::string host;
  std::string port;
  std::string prefix;
  ClientOptions opt;
  std::shared_ptr<ssl::context> ctx;

  // The pool (keep_alive only): idle connections, newest last, and the TLS
  // session the next new connection offers to resume.
  mutable Mutex mu;
  mutable std::deque<std::unique_ptr<Connection>> idle GUARDED_BY(mu);
  mutable SslSessionPtr session GUARDED_BY(mu);
  mutable std::atomic<uint64_t> connections{0}, resumed{0}, reused{0}, retried{0};

  // The newest idle connection still open, or null; closes the stale ones.
  std::unique_ptr<Connection> take_idle() const {
    std::deque<std::unique_ptr<Connection>> stale;  // closed outside the lock
    std::unique_ptr<Connection> out;
    {
      MutexLock lock(mu);
      const auto now = Clock::now();
      while (!idle.empty()) {
        std::unique_ptr<Connection> c = std::move(idle.back());
        idle.pop_back();
        if (now - c->idle_since < opt.idle_timeout && still_open(*c)) {
          out = std::move(c);
          break;
        }
        stale.push_back(std::move(c));
      }
    }
    return out;
  }

  void put_idle(std::unique_ptr<Connection> c) const {
    c->idle_since = Clock::now();
    std::unique_ptr<Connection> evicted;
    MutexLock lock(mu);
    idle.push_back(std::move(c));
    if (idle.size() > opt.max_idle_connections) {
      evicted = std::move(idle.front());
      idle.pop_front();
    }
  }

  SslSessionPtr session_to_resume() const {
    MutexLock lock(mu);
    if (!session) return nullptr;
    SSL_SESSION_up_ref(session.get());
    return SslSessionPtr(session.get());
  }

  // A copy: OpenSSL marks a connection's own session not resumable when the
  // connection is freed without a TLS shutdown, as a kept connection the
  // server closed is.
  void remember_session(SSL* ssl) const {
    SslSessionPtr live(SSL_get1_session(ssl));
    if (!live || SSL_SESSION_is_resumable(live.get()) != 1) return;
    SslSessionPtr s(SSL_SESSION_dup(live.get()));
    if (!s) return;
    MutexLock lock(mu);
    session = std::move(s);
  }
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

// How an exchange ended, beyond its result: whether the request went out
// whole, whether any byte of the answer came back, and whether the connection
// can carry another request.
struct Outcome {
  bool written = false;
  bool answered = false;
  bool reusable = false;
};

template <class Stream, class Body>
Result<ClientResponse> exchange(net::io_context& ioc, Stream& stream, http::request<Body>& req,
                                const HttpsClient::Impl& c, const std::string& response_file, Outcome& outcome) {
  auto ec = run(ioc, [&](auto h) { http::async_write(stream, req, h); });
  if (ec) return io_error(ec, "sending the request");
  outcome.written = true;
  beast::flat_buffer buffer;
  ClientResponse out;
  auto finish = [&](auto& parser) -> Result<ClientResponse> {
    parser.header_limit(64 * 1024);
    parser.body_limit(c.opt.max_response_bytes);
    auto e = run(ioc, [&](auto h) { http::async_read(stream, buffer, parser, h); });
    outcome.answered = parser.got_some();
    // Another request may follow only on a connection whose answer was read
    // to its end, with nothing after it, and that the server keeps open.
    outcome.reusable = !e && parser.is_done() && parser.keep_alive() && buffer.size() == 0;
    if (e == http::error::body_limit)
      return make_error(ErrorKind::too_large, "client.too_large", "the response is larger than allowed");
    if (e && e != beast::error::timeout && !outcome.answered)
      return make_error(ErrorKind::unavailable, "client.io",
                        "the server closed the connection without answering: " + e.message());
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
  return r;
}

// A file followed by a few bytes, streamed (the axis SDK sends a sendEdoc
// file followed by CRLF). The file is read in pieces, never whole.
struct FileThenBytesBody {
  struct value_type {  // NOLINT(readability-identifier-naming): Beast's Body concept
    beast::file file;
    uint64_t file_size = 0;
    std::string suffix;
  };
  static uint64_t size(const value_type& v) { return v.file_size + v.suffix.size(); }

  class writer {  // NOLINT(readability-identifier-naming): Beast's Body concept
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
  if (!c.opt.keep_alive) req.set(http::field::connection, "close");
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

ClientStats HttpsClient::stats() const {
  return ClientStats{impl_->connections.load(), impl_->resumed.load(), impl_->reused.load(), impl_->retried.load()};
}

namespace {

// A new connection to the client's host: TCP, then the TLS handshake, which
// offers the last session for resumption when connections are kept alive.
Result<std::unique_ptr<Connection>> open_connection(const HttpsClient::Impl& c, Clock::time_point deadline) {
  auto conn = std::make_unique<Connection>();
  tcp::resolver resolver(conn->ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(c.host, c.port, tcp::resolver::numeric_service, ec);
  if (ec) return make_error(ErrorKind::unavailable, "client.connect", "cannot resolve " + c.host + ": " + ec.message());
  if (c.tls) {
    conn->secure.emplace(conn->ioc, *c.ctx);
  } else {
    conn->plain.emplace(conn->ioc);
  }
  conn->tcp().expires_at(deadline);
  ec = run(conn->ioc, [&](auto h) { conn->tcp().async_connect(endpoints, h); });
  if (ec) {
    if (ec == beast::error::timeout) return io_error(ec, "connecting");
    return make_error(ErrorKind::unavailable, "client.connect",
                      "cannot connect to " + c.host + ":" + c.port + ": " + ec.message());
  }
  ++c.connections;
  // No Nagle: the request's head and body go out at once, not after the
  // server's delayed ACK (~40 ms on a kept-alive connection).
  beast::error_code nd_ec;
  conn->tcp().socket().set_option(net::ip::tcp::no_delay(true), nd_ec);
  if (c.tls) {
    SSL* ssl_handle = conn->secure->native_handle();
    boost::system::error_code ip_ec;
    net::ip::make_address(c.host, ip_ec);
    if (ip_ec) SSL_set_tlsext_host_name(ssl_handle, c.host.c_str());
    conn->secure->set_verify_callback(ssl::host_name_verification(c.host));
    // A resumed session was verified (chain and host name) when this client
    // first made it with the same host.
    if (SslSessionPtr resume = c.session_to_resume()) SSL_set_session(ssl_handle, resume.get());
    ec = run(conn->ioc, [&](auto h) { conn->secure->async_handshake(ssl::stream_base::client, h); });
    if (ec) {
      if (ec == beast::error::timeout) return io_error(ec, "the TLS handshake");
      return make_error(ErrorKind::unavailable, "client.tls",
                        "TLS handshake with " + c.host + " failed: " + ec.message());
    }
    if (SSL_session_reused(ssl_handle) == 1) ++c.resumed;
  }
  return conn;
}

// One request on `conn`, its body built afresh (a file is reopened, so a
// second attempt sends it from its start).
Result<ClientResponse> send_on(const HttpsClient::Impl& c, Connection& conn, const ClientRequest& r,
                               const std::string& response_file, Outcome& outcome) {
  auto go = [&](auto& req) -> Result<ClientResponse> {
    fill_request(req, r, c);
    req.prepare_payload();
    return c.tls ? exchange(conn.ioc, *conn.secure, req, c, response_file, outcome)
                 : exchange(conn.ioc, *conn.plain, req, c, response_file, outcome);
  };
  beast::error_code ec;
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

}  // namespace

Result<ClientResponse> HttpsClient::send(const ClientRequest& r, const std::string& response_file) const {
  const Impl& c = *impl_;
  const auto deadline = Clock::now() + c.opt.timeout;
  const bool idempotent = r.idempotent || r.method == "GET" || r.method == "HEAD";
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> conn;
    if (c.opt.keep_alive && attempt == 0) conn = c.take_idle();
    const bool reused = conn != nullptr;
    if (reused) {
      ++c.reused;
      conn->tcp().expires_at(deadline);
    } else {
      auto made = open_connection(c, deadline);
      if (!made.ok()) return made.error();
      conn = std::move(*made);
    }
    Outcome outcome;
    Result<ClientResponse> res = send_on(c, *conn, r, response_file, outcome);
    if (!c.opt.keep_alive) {
      if (c.tls) {
        if (res.ok()) c.remember_session(conn->secure->native_handle());  // the next connection resumes it
        conn->tcp().expires_after(std::chrono::seconds(1));
        run(conn->ioc, [&](auto h) { conn->secure->async_shutdown(h); });
      }
      return res;
    }
    if (res.ok()) {
      if (c.tls && !reused) c.remember_session(conn->secure->native_handle());
      if (outcome.reusable) c.put_idle(std::move(conn));
      return res;
    }
    // A kept connection the peer dropped under this request: once more on a
    // fresh one, if that cannot deliver the request twice (https_client.h).
    const bool retry = reused && !outcome.answered && (!outcome.written || idempotent) &&
                       res.error().code != "client.timeout" && res.error().code != "client.too_large" &&
                       Clock::now() < deadline;
    if (!retry) return res;
    ++c.retried;
  }
}

}  // namespace edxgate::gateway
