// Kept-alive connections of HttpsClient (issue 15), against a loopback TLS
// server written here with OpenSSL so that the test sees and controls every
// connection: how many were accepted, which resumed a TLS session, which
// client certificate each one presented, and when the server closes one.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "edxgate/base/ossl.h"
#include "edxgate/gateway/https_client.h"
#include "test_support.h"

namespace edxgate::gateway {
namespace {

using testing::TempDir;
using testing::TestPki;
using SslCtxPtr = ossl::Ptr<SSL_CTX, SSL_CTX_free>;
using SslPtr = ossl::Ptr<SSL, SSL_free>;

// A TLS server that answers every request with "request <n>" (n counts the
// requests of the whole server), keeps connections open between requests,
// requires a client certificate from the test CA, and records what happened.
class CountingServer {
 public:
  struct Behaviour {
    // The n-th request (1-based, whole server) is read and its connection
    // closed without an answer; 0 = never.
    int drop_request = 0;
  };

  CountingServer(const TestPki& pki, const std::string& ca, Behaviour b) : behaviour_(b) {
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_use_certificate_chain_file(ctx_.get(), pki.cert("server").c_str());
    SSL_CTX_use_PrivateKey_file(ctx_.get(), pki.key("server").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    static const unsigned char kContext[] = "https_pool_test";
    SSL_CTX_set_session_id_context(ctx_.get(), kContext, sizeof kContext - 1);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listen_fd_, 16);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~CountingServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    close_idle();
    for (auto& t : handlers_) t.join();
  }

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }
  int handshakes() const { return handshakes_; }
  int resumed() const { return resumed_; }
  int requests() const { return requests_; }
  std::vector<std::string> client_subjects() const {
    std::lock_guard lock(mu_);
    return subjects_;
  }

  // Closes every open connection from the server's side, as an idle timeout
  // does (the peer sees the connection end).
  void close_idle() {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      ++accepted_;
      std::lock_guard lock(mu_);
      open_fds_.push_back(fd);
      handlers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    SslPtr ssl(SSL_new(ctx_.get()));
    SSL_set_fd(ssl.get(), fd);
    if (SSL_accept(ssl.get()) == 1) {
      ++handshakes_;
      if (SSL_session_reused(ssl.get()) == 1) ++resumed_;
      {
        std::lock_guard lock(mu_);
        X509* peer = SSL_get0_peer_certificate(ssl.get());
        ossl::OpensslStringPtr name(peer ? X509_NAME_oneline(X509_get_subject_name(peer), nullptr, 0) : nullptr);
        subjects_.push_back(name ? name.get() : "(none)");
      }
      while (answer_one(ssl.get())) {
      }
    }
    std::lock_guard lock(mu_);
    std::erase(open_fds_, fd);
    ::close(fd);
  }

  // Reads one request (headers and a Content-Length body) and answers it;
  // false when the connection is done.
  bool answer_one(SSL* ssl) {
    std::string in;
    char buf[16384];
    size_t header_end;
    while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) return false;
      in.append(buf, static_cast<size_t>(n));
    }
    size_t body = 0;
    auto cl = in.find("Content-Length: ");
    if (cl != std::string::npos && cl < header_end) body = std::stoul(in.substr(cl + 16));
    while (in.size() < header_end + 4 + body) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) return false;
      in.append(buf, static_cast<size_t>(n));
    }
    const int n = ++requests_;
    if (n == behaviour_.drop_request) return false;
    const bool close = in.find("Connection: close") < header_end;
    const std::string text = "request " + std::to_string(n);
    const std::string out =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(text.size()) + "\r\n" +
        (close ? "Connection: close\r\n" : "") + "\r\n" + text;
    if (SSL_write(ssl, out.data(), static_cast<int>(out.size())) <= 0) return false;
    return !close;
  }

  Behaviour behaviour_;
  SslCtxPtr ctx_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0}, handshakes_{0}, resumed_{0}, requests_{0};
  mutable std::mutex mu_;
  std::vector<int> open_fds_;
  std::vector<std::string> subjects_;
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

class HttpsPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path());
    pki_->client("axis-client", "/C=VN/O=edxgate test/CN=gateway");
    pki_->client("stranger", "/C=VN/O=elsewhere/CN=stranger", "foreign-ca");
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  static HttpsClient client(uint16_t port, bool keep_alive, const std::string& who = "axis-client") {
    ClientOptions co;
    co.ca_file = pki_->cert("ca");
    co.client_cert = pki_->cert(who);
    co.client_key = pki_->key(who);
    co.timeout = std::chrono::seconds(10);
    co.keep_alive = keep_alive;
    return HttpsClient::create("https://localhost:" + std::to_string(port), co).value();
  }

  static ClientRequest post(const std::string& body, bool idempotent = false) {
    ClientRequest r;
    r.path = "/sendEdoc";
    r.content_type = "text/plain";
    r.body = body;
    r.idempotent = idempotent;
    return r;
  }

  static TempDir* dir_;
  static TestPki* pki_;
};
TempDir* HttpsPoolTest::dir_ = nullptr;
TestPki* HttpsPoolTest::pki_ = nullptr;

TEST_F(HttpsPoolTest, ManyRequestsTravelOnOneKeptConnection) {
  CountingServer server(*pki_, pki_->cert("ca"), {});
  HttpsClient c = client(server.port(), true);
  for (int i = 1; i <= 20; ++i) {
    auto r = c.send(post("document " + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->body, "request " + std::to_string(i));
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests(), 20);
  EXPECT_EQ(c.stats().connections, 1u);
  EXPECT_EQ(c.stats().reused, 19u);
}

TEST_F(HttpsPoolTest, WithoutKeepAliveEveryRequestHasItsOwnConnection) {
  CountingServer server(*pki_, pki_->cert("ca"), {});
  HttpsClient c = client(server.port(), false);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.send(post("x")).ok());
  EXPECT_EQ(server.accepted(), 3);
  EXPECT_EQ(c.stats().reused, 0u);
  // Each new connection resumed the TLS session of the one before.
  EXPECT_EQ(c.stats().resumed, 2u);
  EXPECT_EQ(server.resumed(), 2);
}

TEST_F(HttpsPoolTest, ConcurrentCallersShareABoundedPool) {
  CountingServer server(*pki_, pki_->cert("ca"), {});
  HttpsClient c = client(server.port(), true);
  std::atomic<int> good{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10; ++i) good += c.send(post("y")).ok() ? 1 : 0;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(good.load(), 40);
  EXPECT_EQ(server.requests(), 40);
  // At most one connection per concurrent caller, never one per request.
  EXPECT_GE(server.accepted(), 1);
  EXPECT_LE(server.accepted(), 4);
}

TEST_F(HttpsPoolTest, AConnectionTheServerClosedWhileIdleIsReplacedAndTheSessionResumed) {
  CountingServer server(*pki_, pki_->cert("ca"), {});
  HttpsClient c = client(server.port(), true);
  ASSERT_TRUE(c.send(post("first")).ok());
  server.close_idle();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the FIN reaches the client
  auto r = c.send(post("second"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "request 2");
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests(), 2);  // the dead connection was not written to
  EXPECT_EQ(c.stats().retried, 0u);
  // The new connection resumed the first one's TLS session, and the server
  // still knows the client certificate behind it.
  EXPECT_EQ(server.resumed(), 1);
  EXPECT_EQ(c.stats().resumed, 1u);
  auto subjects = server.client_subjects();
  ASSERT_EQ(subjects.size(), 2u);
  for (const auto& s : subjects) EXPECT_NE(s.find("CN=gateway"), std::string::npos) << s;
}

TEST_F(HttpsPoolTest, AnIdempotentRequestLostOnAKeptConnectionIsSentAgainOnAFreshOne) {
  CountingServer server(*pki_, pki_->cert("ca"), {.drop_request = 2});
  HttpsClient c = client(server.port(), true);
  ASSERT_TRUE(c.send(post("list")).ok());
  auto r = c.send(post("list", /*idempotent=*/true));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "request 3");
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(c.stats().retried, 1u);
}

TEST_F(HttpsPoolTest, ANonIdempotentRequestTheServerMayHaveSeenIsNotSentTwice) {
  CountingServer server(*pki_, pki_->cert("ca"), {.drop_request = 2});
  HttpsClient c = client(server.port(), true);
  ASSERT_TRUE(c.send(post("doc 1")).ok());
  auto r = c.send(post("doc 2"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "client.io");
  EXPECT_EQ(server.requests(), 2);  // delivered once; the caller's own retry decides
  EXPECT_EQ(c.stats().retried, 0u);
  // The broken connection is gone; the next request opens a fresh one.
  auto next = c.send(post("doc 3"));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(HttpsPoolTest, EachClientPresentsItsOwnCertificateOnEveryNewConnection) {
  CountingServer server(*pki_, pki_->cert("ca"), {});
  HttpsClient good = client(server.port(), true);
  ASSERT_TRUE(good.send(post("a")).ok());  // leaves an idle, authenticated connection
  // Another client to the same host does not get it: its own certificate
  // (from a CA the server does not trust) is refused at its own handshake.
  HttpsClient stranger = client(server.port(), true, "stranger");
  for (int i = 0; i < 2; ++i) {
    auto r = stranger.send(post("b"));
    ASSERT_FALSE(r.ok());  // refused in the handshake or, with TLS 1.3, at the first read
  }
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(stranger.stats().reused, 0u);
  ASSERT_TRUE(good.send(post("c")).ok());
  EXPECT_EQ(good.stats().reused, 1u);
}

TEST_F(HttpsPoolTest, AServerWhoseCertificateIsNotTrustedIsRefusedOnEveryConnection) {
  CountingServer server(*pki_, pki_->cert("ca"), {});
  ClientOptions co;
  co.ca_file = pki_->cert("foreign-ca");
  co.client_cert = pki_->cert("axis-client");
  co.client_key = pki_->key("axis-client");
  co.keep_alive = true;
  HttpsClient c = HttpsClient::create("https://localhost:" + std::to_string(server.port()), co).value();
  for (int i = 0; i < 2; ++i) {
    auto r = c.send(post("x"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "client.tls");
  }
  EXPECT_EQ(server.requests(), 0);
}

}  // namespace
}  // namespace edxgate::gateway
