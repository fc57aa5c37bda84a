// The plain HTTP/1.1 client behind Fetcher, against a loopback server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "edxgate/crypto/revocation.h"

namespace edxgate::crypto {
namespace {

// Serves one connection: reads the request head (and body if POST), then
// writes `answer` (or nothing, staying silent, when empty). Records the request.
class OneShotServer {
 public:
  explicit OneShotServer(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 1);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::string request;

 private:
  void serve() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    if (answer_.empty()) {
      ::usleep(1500 * 1000);  // silent: the client must time out
    } else {
      ::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
    }
    ::close(c);
  }
  std::string answer_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

std::string text(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

TEST(HttpFetcher, GetsABodyByContentLength) {
  OneShotServer s("HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: 5\r\n\r\nhello");
  auto r = make_http_fetcher()->fetch(s.url("/inter.crl"), "", {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text(*r), "hello");
  EXPECT_EQ(s.request.rfind("GET /inter.crl HTTP/1.1\r\n", 0), 0u) << s.request;
}

TEST(HttpFetcher, DecodesChunkedAnswersAndPostsBodies) {
  OneShotServer s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n");
  std::vector<uint8_t> body{1, 2, 3};
  auto r = make_http_fetcher()->fetch(s.url("/"), "application/ocsp-request", body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text(*r), "abc0123456789");
  EXPECT_NE(s.request.find("Content-Type: application/ocsp-request"), std::string::npos);
}

TEST(HttpFetcher, ReportsNon200Answers) {
  OneShotServer s("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  auto r = make_http_fetcher()->fetch(s.url("/missing"), "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "fetch.status");
}

TEST(HttpFetcher, TimesOutOnASilentServer) {
  OneShotServer s("");
  auto r = make_http_fetcher({1, 1024})->fetch(s.url("/"), "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "fetch.timeout");
}

TEST(HttpFetcher, RefusesAnswersOverTheSizeLimit) {
  OneShotServer s("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
  auto r = make_http_fetcher({5, 10})->fetch(s.url("/"), "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "fetch.too_large");
}

TEST(HttpFetcher, RefusesOtherSchemesAndUserinfo) {
  auto f = make_http_fetcher();
  EXPECT_EQ(f->fetch("https://example.test/x.crl", "", {}).error().code, "fetch.url");
  EXPECT_EQ(f->fetch("file:///etc/passwd", "", {}).error().code, "fetch.url");
  EXPECT_EQ(f->fetch("http://user@127.0.0.1/x", "", {}).error().code, "fetch.url");
  EXPECT_EQ(f->fetch("http://127.0.0.1/a b", "", {}).error().code, "fetch.url");
}

}  // namespace
}  // namespace edxgate::crypto
