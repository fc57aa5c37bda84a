// The Beast/Asio HTTP(S) listener behind server.h: accepting, TLS, reading
// requests (bodies spooled), handing them to the router on the worker pool,
// writing answers. One of the few translation units that include Beast (with
// beast_impl.cc and https_client.cc; compiled with
// BOOST_{ASIO,BEAST}_SEPARATE_COMPILATION). The slot policy is in
// connection_slots.cc and the certificate mapping in identity.cc (Beast-free).
#include "edxgate/gateway/server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "connection_slots.h"
#include "edxgate/base/log.h"
#include "edxgate/base/mutex.h"
#include "edxgate/base/ossl.h"

namespace edxgate::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

struct Server::Impl {
  ListenerOptions opt;
  std::shared_ptr<const Router> router;
  HttpMetrics* metrics = nullptr;
  std::atomic<bool> stopping{false};
  Mutex stop_mu;  // one stop() at a time
  bool stopped GUARDED_BY(stop_mu) = false;

  std::optional<ConnectionSlots> slots;  // set by start()

  std::string bound;
  uint16_t bound_port = 0;

  // Destroyed first (declared last): the worker pool, then the sockets, then
  // the I/O context, so nothing outlives what it refers to.
  net::io_context ioc;
  // Keeps run() going while a handler is on the worker pool and nothing else
  // is pending (as when the acceptor is closed during a graceful stop).
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<ssl::context> tls;
  // The acceptor and its retry timer run on one strand: accepting (and so
  // evicting) is serialised, and stop() closes the acceptor on it.
  std::optional<net::strand<net::io_context::executor_type>> accept_strand;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_retry;
  std::vector<std::thread> threads;
  std::optional<net::thread_pool> workers;

  void refused(const char* reason) { slots->refused(reason); }
  bool counts_as_authenticated(const Caller& caller) const {
    if (!caller.role) return false;
    const auto& roles = opt.authenticated_roles;
    return roles.empty() || std::find(roles.begin(), roles.end(), *caller.role) != roles.end();
  }
  void set_phase(uint64_t id, Phase phase, bool authenticated) { slots->set_phase(id, phase, authenticated); }
  void release(uint64_t id) { slots->release(id); }
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

namespace {

Status configure_tls(ssl::context& ctx, const ListenerOptions& o) {
  SSL_CTX* c = ctx.native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(
      c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // TLS 1.2: forward secrecy and AEAD only. TLS 1.3 suites are all AEAD.
  if (SSL_CTX_set_cipher_list(c,
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256") != 1)
    return make_error(ErrorKind::usage, "tls.config", "cannot set the TLS 1.2 cipher list");
  if (SSL_CTX_use_certificate_chain_file(c, o.tls_cert.c_str()) != 1)
    return make_error(ErrorKind::usage, "tls.cert", "cannot load the TLS certificate chain " + o.tls_cert);
  if (SSL_CTX_use_PrivateKey_file(c, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return make_error(ErrorKind::usage, "tls.key", "cannot load the TLS private key " + o.tls_key);
  if (SSL_CTX_check_private_key(c) != 1)
    return make_error(ErrorKind::usage, "tls.key", "the TLS private key does not match the certificate");
  static const unsigned char kSidContext[] = "edxgate";
  SSL_CTX_set_session_id_context(c, kSidContext, sizeof kSidContext - 1);
  if (!o.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(c, o.client_ca.c_str(), nullptr) != 1)
      return make_error(ErrorKind::usage, "tls.client_ca", "cannot load the client CA bundle " + o.client_ca);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca.c_str());
    if (names) SSL_CTX_set_client_CA_list(c, names);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_verify_depth(c, 4);
  }
  return {};
}

Result<tcp::endpoint> parse_endpoint(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return make_error(ErrorKind::io, "server.listen", "listen address '" + listen + "' is not HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec) return make_error(ErrorKind::io, "server.listen", "listen host '" + host + "' is not an IP address");
  unsigned long port = 0;
  try {
    port = std::stoul(listen.substr(colon + 1));
  } catch (...) {
    port = 70000;
  }
  if (port > 65535) return make_error(ErrorKind::io, "server.listen", "listen port in '" + listen + "' is not a port");
  return tcp::endpoint(addr, static_cast<uint16_t>(port));
}

template <bool Tls>
using StreamOf = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

// One connection. All its handlers run on its strand (the socket's executor);
// the handler of a request runs on the worker pool while the session waits.
template <bool Tls>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Tls>> {
 public:
  Session(Server::Impl* srv, tcp::socket&& socket, uint64_t id, std::string address, unsigned refuse,
          SteadyClock::time_point accepted)
      : srv_(srv),
        stream_(make_stream(srv, std::move(socket))),
        timer_(stream_.get_executor()),
        id_(id),
        address_(std::move(address)),
        refuse_(refuse),
        accepted_(accepted) {}

  ~Session() override { srv_->release(id_); }

  void start() override {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

  void on_server_stop() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->handshake_done_ || (self->waiting_for_request_ && (!self->parser_ || !self->parser_->got_some())))
        self->close_now();
    });
  }

  void force_close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close_now(); });
  }

 private:
  static StreamOf<Tls> make_stream(Server::Impl* srv, tcp::socket&& s) {
    if constexpr (Tls)
      return StreamOf<Tls>(std::move(s), *srv->tls);
    else
      return StreamOf<Tls>(std::move(s));
  }
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  // Reads are bounded by our own timer, not the stream's: a stream timeout
  // closes the socket, and a timed-out request must still get its 408. The
  // timer cancels the pending read instead; the generation counter makes a
  // late firing harmless.
  void arm_read_deadline(SteadyClock::time_point at) {
    tcp_layer().expires_never();
    timed_out_ = false;
    const uint64_t gen = ++timer_gen_;
    timer_.expires_at(at);
    timer_.async_wait([self = this->shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->timer_gen_) return;
      self->timed_out_ = true;
      self->tcp_layer().cancel();
    });
  }
  void disarm(beast::error_code& ec) {
    ++timer_gen_;
    timer_.cancel();
    if (ec == net::error::operation_aborted && timed_out_) ec = beast::error::timeout;
  }
  const config::Limits& limits() const { return srv_->opt.limits; }

  // TLS: one deadline from accept to the end of the handshake. Until the
  // client's first byte arrives nothing is read and no TLS work is done: the
  // connection is "silent", past its first second the first kind to give up
  // its slot.
  void begin() {
    if constexpr (Tls) {
      arm_read_deadline(accepted_ + std::chrono::seconds(limits().handshake_timeout_s));
      tcp_layer().socket().async_wait(tcp::socket::wait_read, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->on_handshake(ec);
        self->srv_->set_phase(self->id_, Phase::handshake, false);
        self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code e) { self->on_handshake(e); });
      });
    } else {
      after_handshake();
    }
  }

  void on_handshake(beast::error_code ec) {
    disarm(ec);
    if (ec) {
      if (closed_) return;  // evicted or stopped: counted there
      srv_->refused(ec == beast::error::timeout ? "handshake_timeout" : "tls_handshake");
      log::debug("TLS handshake failed", {{"listener", srv_->opt.name}, {"peer", address_}, {"error", ec.message()}});
      return close_now();
    }
    if constexpr (Tls) {
      ossl::X509Ptr peer(SSL_get1_peer_certificate(stream_.native_handle()));
      if (peer && SSL_get_verify_result(stream_.native_handle()) == X509_V_OK) {
        caller_ = identify_certificate(peer.get(), srv_->opt.clients);
      }
    }
    after_handshake();
  }

  void after_handshake() {
    handshake_done_ = true;
    if (refuse_ != 0) {
      srv_->refused(refuse_ == 503 ? "max_connections" : "max_connections_per_client");
      label_ = "refused";
      started_ = SteadyClock::now();
      method_ = "-";
      return send(Response::problem(refuse_, refuse_ == 503 ? "http.busy" : "http.too_many_connections",
                                    refuse_ == 503 ? "The gateway has too many open connections; retry later."
                                                   : "This client has too many open connections; close some first."),
                  true);
    }
    authenticated_ = srv_->counts_as_authenticated(caller_);
    read_request();
  }

  // The idle deadline: a request must have arrived whole idle_timeout_s after
  // the previous response, or, for the first, after accept (the handshake
  // included; at least a second is left after a slow handshake).
  void read_request() {
    if (srv_->stopping) return close_now();
    req_ = Request{};
    label_ = "unmatched";
    method_ = "-";
    route_ = nullptr;
    parser_.emplace();
    parser_->header_limit(limits().max_header_bytes);
    parser_->body_limit(limits().max_body_bytes);
    waiting_for_request_ = true;
    request_started_ = false;
    header_bytes_ = 0;
    srv_->set_phase(id_, Phase::waiting, authenticated_);
    const auto now = SteadyClock::now();
    const auto idle = std::chrono::seconds(limits().idle_timeout_s);
    auto deadline = now + idle;
    if (first_request_) {
      first_request_ = false;
      deadline = std::max(accepted_ + idle, now + std::chrono::seconds(1));
    }
    arm_read_deadline(deadline);
    read_header_some();
  }

  // Beast's header_limit bounds only the bytes of one parse call: complete
  // fields are consumed as they arrive, so headers trickled in small reads
  // were never limited. The header is therefore read piece by piece and the
  // bytes the parser consumed are added up here.
  void read_header_some() {
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                            self->header_bytes_ += n;
                            if (n > 0 && !self->request_started_) {
                              self->request_started_ = true;
                              self->srv_->set_phase(self->id_, Phase::in_flight, self->authenticated_);
                            }
                            if (!ec && self->header_bytes_ > self->limits().max_header_bytes)
                              ec = http::error::header_limit;
                            if (!ec && !self->parser_->is_header_done()) return self->read_header_some();
                            self->on_header(ec);
                          });
  }

  void on_header(beast::error_code ec) {
    disarm(ec);
    waiting_for_request_ = false;
    started_ = SteadyClock::now();
    deadline_ = started_ + std::chrono::seconds(limits().request_timeout_s);
    if (ec) {
      if (!parser_->got_some()) return close_now();  // idle or closed between requests
      if (ec == http::error::header_limit)
        return fail(431, "http.header_too_large", "The request line and headers are larger than allowed.");
      if (ec == http::error::body_limit)
        return fail(413, "http.body_too_large", "The request body is larger than allowed.");
      if (ec == beast::error::timeout) return fail(408, "http.timeout", "The request headers did not arrive in time.");
      if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::ssl::error::stream_truncated)
        return close_now();
      return fail(400, "http.malformed", "The request is not valid HTTP/1.1: " + ec.message() + ".");
    }
    auto& h = parser_->get();
    req_.method = std::string(h.method_string());
    req_.target = std::string(h.target());
    auto q = req_.target.find('?');
    req_.path = req_.target.substr(0, q);
    if (q != std::string::npos) req_.query = req_.target.substr(q + 1);
    for (const auto& f : h) req_.headers.add(std::string(f.name_string()), std::string(f.value()));
    req_.remote_address = address_;
    method_ = req_.method;
    keep_alive_ = h.keep_alive();
    if (req_.path.empty() || req_.path.front() != '/')
      return fail(400, "http.target", "The request target must be an absolute path.");

    RouteMatch m = srv_->router->match(req_.method, req_.path, caller_);
    label_ = m.label;
    if (m.status == 403)
      return fail(403, "http.forbidden",
                  caller_.role ? "Your role may not call this route."
                               : "This route needs a client certificate registered with the gateway.");
    if (m.status == 404) return fail(404, "http.not_found", "No such route.");
    if (m.status == 405) return fail(405, "http.method", "This route does not accept that method.");
    route_ = m.route;
    params_ = std::move(m.params);
    body_limit_ = limits().max_body_bytes;
    if (route_->max_body_bytes) body_limit_ = std::min(body_limit_, route_->max_body_bytes);
    if (auto len = parser_->content_length(); len && *len > body_limit_)
      return fail(413, "http.body_too_large", "The request body is larger than this route accepts.");
    if (route_->check_head) {
      if (auto refusal = route_->check_head(req_, caller_)) return send(std::move(*refusal), true);
    }
    body_started_ = SteadyClock::now();
    if (parser_->is_done()) return dispatch_handler();
    auto expect = h[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, h.version());
      tcp_layer().expires_after(std::chrono::seconds(limits().idle_timeout_s));
      return http::async_write(stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code e, size_t) {
        if (e) return self->close_now();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    auto now = SteadyClock::now();
    if (now >= deadline_) return fail(408, "http.timeout", "The request did not complete in time.");
    arm_read_deadline(std::min(deadline_, now + std::chrono::seconds(limits().idle_timeout_s)));
    if (!chunk_) chunk_ = std::make_unique<char[]>(kChunkBytes);  // only once a route admitted the caller
    parser_->get().body().data = chunk_.get();
    parser_->get().body().size = kChunkBytes;
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    disarm(ec);
    if (ec == http::error::need_buffer) ec = {};
    const size_t got = kChunkBytes - parser_->get().body().size;
    if (got > 0) {
      if (req_.body.size() + got > body_limit_)
        return fail(413, "http.body_too_large", "The request body is larger than this route accepts.");
      auto st = req_.body.append(chunk_.get(), got, srv_->opt.memory_body_bytes, srv_->opt.spool_dir);
      if (!st.ok()) {
        log::error("cannot spool a request body", {{"listener", srv_->opt.name}, {"error", st.error().message}});
        return fail(503, "http.spool", "The gateway cannot store the request body now; retry later.");
      }
    }
    if (ec) {
      if (ec == beast::error::timeout) return fail(408, "http.timeout", "The request body did not arrive in time.");
      if (ec == http::error::body_limit)
        return fail(413, "http.body_too_large", "The request body is larger than allowed.");
      if (ec == http::error::partial_message || ec == http::error::end_of_stream || ec == net::error::eof ||
          ec == net::ssl::error::stream_truncated)
        return close_now();
      return fail(400, "http.malformed", "The request body is malformed: " + ec.message() + ".");
    }
    if (too_slow()) {
      srv_->refused("slow_body");
      return fail(408, "http.slow_body", "The request body arrives slower than the minimum rate.");
    }
    if (parser_->is_done()) return dispatch_handler();
    read_body();
  }

  // A body must keep up with min_body_rate_bps after a two-second start.
  bool too_slow() const {
    const uint32_t rate = limits().min_body_rate_bps;
    if (rate == 0) return false;
    const double elapsed = std::chrono::duration<double>(SteadyClock::now() - body_started_).count();
    if (elapsed < 2.0) return false;
    return static_cast<double>(req_.body.size()) < rate * (elapsed - 2.0);
  }

  void dispatch_handler() {
    log::debug("request",
               {{"listener", srv_->opt.name}, {"method", req_.method}, {"route", label_}, {"peer", address_}});
    req_.body.finish();
    net::post(*srv_->workers, [self = this->shared_from_this()] {
      Response r;
      try {
        r = self->route_->handler(self->req_, self->caller_, self->params_);
      } catch (const std::exception& e) {
        log::error("handler failed", {{"route", self->label_}, {"error", e.what()}});
        r = Response::problem(500, "internal", "The gateway failed to handle this request.");
      }
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r)]() mutable { self->send(std::move(r), !self->keep_alive_); });
    });
  }

  void fail(unsigned status, std::string_view code, std::string_view detail) {
    send(Response::problem(status, code, detail), true);
  }

  void set_common(http::response_header<>& h, const Response& r, bool close) {
    h.result(r.status);
    h.version(11);
    h.set(http::field::content_type, r.content_type);
    h.set(http::field::cache_control, "no-store");
    h.set("X-Content-Type-Options", "nosniff");
    for (const auto& [k, v] : r.headers.fields()) h.insert(k, v);
    h.set(http::field::connection, close ? "close" : "keep-alive");
  }

  void send(Response r, bool close) {
    if (r.drop_connection) return close_now();
    close = close || srv_->stopping;
    status_ = r.status;
    tcp_layer().expires_after(std::chrono::seconds(limits().request_timeout_s));
    auto done = [self = this->shared_from_this(), close](auto msg) {
      return [self, close, msg](beast::error_code ec, size_t) { self->on_sent(ec, close); };
    };
    if (!r.body_file.empty()) {
      auto msg = std::make_shared<http::response<http::file_body>>();
      set_common(msg->base(), r, close);
      beast::error_code ec;
      msg->body().open(r.body_file.c_str(), beast::file_mode::scan, ec);
      if (ec) return send(Response::problem(500, "io.open", "The gateway cannot read the response file."), true);
      msg->prepare_payload();
      return http::async_write(stream_, *msg, done(msg));
    }
    auto msg = std::make_shared<http::response<http::string_body>>();
    set_common(msg->base(), r, close);
    msg->body() = std::move(r.body);
    msg->prepare_payload();
    http::async_write(stream_, *msg, done(msg));
  }

  void on_sent(beast::error_code ec, bool close) {
    log::debug("response sent", {{"listener", srv_->opt.name},
                                 {"status", std::to_string(status_)},
                                 {"close", close ? "1" : "0"},
                                 {"error", ec.message()}});
    if (srv_->metrics && method_ != "-") {
      srv_->metrics->requests.inc({srv_->opt.name, label_, method_, std::to_string(status_)});
      srv_->metrics->latency.observe({srv_->opt.name, label_},
                                     std::chrono::duration<double>(SteadyClock::now() - started_).count());
    }
    req_ = Request{};  // drop any spooled body now
    if (ec) return shutdown();
    // After an error the client may still be sending (an oversized body): a
    // close with unread input makes the kernel reset the connection, which
    // can destroy the answer before the client reads it. So read and drop
    // what keeps coming, bounded in bytes and time, then close.
    if (close && status_ >= 400 && refuse_ == 0) return drain(0);
    if (close) return shutdown();
    read_request();
  }

  static constexpr uint64_t kDrainMaxBytes = 4 * 1024 * 1024;
  static constexpr std::chrono::seconds kDrainTime{2};

  void drain(uint64_t drained) {
    if (drained == 0) {
      srv_->set_phase(id_, Phase::closing, authenticated_);
      if constexpr (!Tls) {
        beast::error_code ignored;
        tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
      }
      drain_until_ = SteadyClock::now() + kDrainTime;
      drain_buf_.resize(64 * 1024);
    }
    const auto left = drain_until_ - SteadyClock::now();
    if (drained >= kDrainMaxBytes || left <= SteadyClock::duration::zero()) return shutdown();
    tcp_layer().expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(left));
    stream_.async_read_some(net::buffer(drain_buf_),
                            [self = this->shared_from_this(), drained](beast::error_code e, size_t n) {
                              if (e) return self->close_now();  // the peer closed, or time is up
                              self->drain(drained + n);
                            });
  }

  // Orderly close: TLS close_notify (bounded), then the socket.
  void shutdown() {
    srv_->set_phase(id_, Phase::closing, authenticated_);
    if constexpr (Tls) {
      tcp_layer().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close_now(); });
    } else {
      beast::error_code ec;
      tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
      close_now();
    }
  }

  void close_now() {
    closed_ = true;
    ++timer_gen_;
    timer_.cancel();
    beast::error_code ec;
    tcp_layer().socket().close(ec);
  }

  Server::Impl* srv_;
  StreamOf<Tls> stream_;
  net::steady_timer timer_;  // read deadlines (see arm_read_deadline)
  uint64_t timer_gen_ = 0;
  bool timed_out_ = false;
  uint64_t id_;
  std::string address_;
  unsigned refuse_;
  SteadyClock::time_point accepted_;
  bool handshake_done_ = false;
  bool authenticated_ = false;  // a caller of authenticated_roles (see server.h)
  bool first_request_ = true;
  bool request_started_ = false;  // a byte of the current request arrived
  bool closed_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  static constexpr size_t kChunkBytes = 64 * 1024;
  std::unique_ptr<char[]> chunk_;  // body reads; allocated by the first one
  Caller caller_;
  Request req_;
  const Route* route_ = nullptr;
  PathParams params_;
  uint64_t body_limit_ = 0;
  bool keep_alive_ = true;
  bool waiting_for_request_ = false;
  uint64_t header_bytes_ = 0;  // consumed by the parser for the current request's header
  SteadyClock::time_point drain_until_{};
  std::vector<char> drain_buf_;
  std::string label_ = "unmatched";
  std::string method_ = "-";
  unsigned status_ = 0;
  SteadyClock::time_point started_, deadline_, body_started_;
};

}  // namespace

void Server::Impl::do_accept() {
  acceptor->async_accept(net::make_strand(ioc),
                         [this](beast::error_code ec, tcp::socket s) { on_accept(ec, std::move(s)); });
}

// Runs on accept_strand, one at a time. It must keep pace with a flood: it
// decides under the lock, closes an evicted connection by posting to that
// connection's strand, and leaves every handshake to the new session.
void Server::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == net::error::operation_aborted || stopping) return;
    // Out of descriptors (EMFILE) and the like: accepting again at once would
    // spin on the same error; the backlog holds newcomers meanwhile.
    log::warn("accept failed", {{"listener", opt.name}, {"error", ec.message()}});
    accept_retry->expires_after(std::chrono::milliseconds(100));
    accept_retry->async_wait([this](beast::error_code e) {
      if (!e && !stopping) do_accept();
    });
    return;
  }
  // No Nagle: a response written in pieces (head, body, TLS records) must
  // not wait for the peer's delayed ACK on a kept-alive connection (~40 ms).
  beast::error_code nd_ec;
  socket.set_option(tcp::no_delay(true), nd_ec);
  beast::error_code ep_ec;
  auto ep = socket.remote_endpoint(ep_ec);
  std::string address = ep_ec ? "?" : ep.address().to_string();
  const auto now = SteadyClock::now();
  beast::error_code avail_ec;
  const bool sent_something = socket.available(avail_ec) > 0 && !avail_ec;
  auto admission = slots->admit(address, tls.has_value(), sent_something, now);
  if (admission.victim) {
    admission.victim->force_close();
    admission.victim.reset();
  }
  if (admission.id == 0) {
    beast::error_code ignored;
    socket.close(ignored);
    return do_accept();
  }
  const uint64_t id = admission.id;
  const unsigned refuse = admission.refuse;
  std::shared_ptr<SessionBase> session;
  if (tls) {
    session = std::make_shared<Session<true>>(this, std::move(socket), id, address, refuse, now);
  } else {
    session = std::make_shared<Session<false>>(this, std::move(socket), id, address, refuse, now);
  }
  slots->attach(id, session, now);  // evictable only from now on, with its session to close
  session->start();
  if (!stopping) do_accept();
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::start(ListenerOptions options, std::shared_ptr<const Router> router,
                                              HttpMetrics* metrics) {
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->router = std::move(router);
  impl->metrics = metrics;
  const auto& o = impl->opt;
  impl->slots.emplace(o.name, o.limits, metrics);
  if (o.tls) {
    impl->tls.emplace(ssl::context::tls_server);
    EDX_TRY(configure_tls(*impl->tls, o));
  }
  auto ep = parse_endpoint(o.listen);
  if (!ep.ok()) return ep.error();
  beast::error_code ec;
  impl->accept_strand.emplace(net::make_strand(impl->ioc));
  impl->acceptor.emplace(*impl->accept_strand);
  impl->accept_retry.emplace(*impl->accept_strand);
  impl->acceptor->open(ep->protocol(), ec);
  if (!ec) impl->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(*ep, ec);
  if (!ec) impl->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return make_error(ErrorKind::io, "server.listen", "cannot listen on " + o.listen + ": " + ec.message());
  auto local = impl->acceptor->local_endpoint();
  impl->bound_port = local.port();
  impl->bound = (local.address().is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string()) +
                ":" + std::to_string(local.port());
  impl->workers.emplace(std::max(1u, o.worker_threads));
  impl->work.emplace(impl->ioc.get_executor());
  impl->do_accept();
  Impl* raw = impl.get();
  for (unsigned i = 0; i < std::max(1u, o.io_threads); ++i) raw->threads.emplace_back([raw] { raw->ioc.run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() {
  try {
    stop(std::chrono::milliseconds(0));
  } catch (...) {  // a destructor must not throw: the listener is going away either way
  }
}

std::string Server::local_address() const { return impl_->bound; }
uint16_t Server::port() const { return impl_->bound_port; }

size_t Server::connections() const { return impl_->slots->connections(); }

ListenerLoad Server::load() const { return impl_->slots->load(SteadyClock::now()); }

void Server::stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  MutexLock stop_lock(s.stop_mu);
  if (s.stopped) return;
  s.stopping = true;
  net::post(*s.accept_strand, [&s] {
    beast::error_code ec;
    s.acceptor->close(ec);
    s.accept_retry->cancel();
  });
  s.slots->for_each_session([](SessionBase& x) { x.on_server_stop(); });
  s.slots->wait_empty(grace);
  s.slots->for_each_session([](SessionBase& x) { x.force_close(); });
  s.slots->wait_empty(std::chrono::seconds(2));
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  s.workers->join();
  s.stopped = true;
}

}  // namespace edxgate::gateway
