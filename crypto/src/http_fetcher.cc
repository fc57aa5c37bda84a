// A small blocking HTTP/1.1 client for CRL and OCSP (http:// only). Every
// socket operation is bounded by one deadline; answers by a size limit.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "edxgate/base/fs.h"
#include "edxgate/crypto/revocation.h"

namespace edxgate::crypto {

namespace {

using Clock = std::chrono::steady_clock;

struct Url {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};

Result<Url> parse_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return make_error(ErrorKind::invalid, "fetch.url", "only http:// URLs are fetched");
  std::string rest = url.substr(kScheme.size());
  Url u;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.target = rest.substr(slash);
  if (authority.find('@') != std::string::npos || authority.empty()) {
    return make_error(ErrorKind::invalid, "fetch.url", "the URL has no usable host");
  }
  if (authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return make_error(ErrorKind::invalid, "fetch.url", "bad IPv6 literal in URL");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = authority.substr(close + 2);
  } else if (size_t colon = authority.find(':'); colon != std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
  }
  for (char c : u.target) {
    if (c <= 0x20 || c == 0x7f)
      return make_error(ErrorKind::invalid, "fetch.url", "the URL path has control characters");
  }
  return u;
}

class Connection {
 public:
  Connection(Clock::time_point deadline) : deadline_(deadline) {}

  Status connect(const Url& u) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &res) != 0 || !res) {
      return make_error(ErrorKind::unavailable, "fetch.resolve", "cannot resolve host '" + u.host + "'");
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> hold(res, freeaddrinfo);
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      fs::UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (fd.get() < 0) continue;
      if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) continue;
      if (!wait(fd.get(), POLLOUT)) continue;
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) continue;
      fd_ = std::move(fd);
      return {};
    }
    return make_error(ErrorKind::unavailable, "fetch.connect", "cannot connect to '" + u.host + ":" + u.port + "'");
  }

  Status send_all(std::string_view data) {
    while (!data.empty()) {
      if (!wait(fd_.get(), POLLOUT))
        return make_error(ErrorKind::unavailable, "fetch.timeout", "timed out sending the request");
      ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return make_error(ErrorKind::unavailable, "fetch.io", "connection lost while sending the request");
      data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
  }

  // Reads until EOF (the request said Connection: close), at most `limit`.
  Result<std::string> read_all(uint64_t limit) {
    std::string out;
    char buf[16384];
    for (;;) {
      if (!wait(fd_.get(), POLLIN))
        return make_error(ErrorKind::unavailable, "fetch.timeout", "timed out reading the answer");
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n < 0) return make_error(ErrorKind::unavailable, "fetch.io", "connection error while reading the answer");
      if (n == 0) return out;
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > limit)
        return make_error(ErrorKind::too_large, "fetch.too_large", "the answer exceeds the size limit");
    }
  }

 private:
  bool wait(int fd, short events) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd, events, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left));
      if (rc < 0 && errno == EINTR) continue;
      return rc > 0;
    }
  }
  Clock::time_point deadline_;
  fs::UniqueFd fd_;
};

size_t hex_value(char c) {
  if (c >= '0' && c <= '9') return static_cast<size_t>(c - '0');
  return static_cast<size_t>(std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
}

Result<std::string> dechunk(std::string_view body) {
  std::string out;
  for (;;) {
    size_t eol = body.find("\r\n");
    if (eol == std::string_view::npos)
      return make_error(ErrorKind::unavailable, "fetch.http", "malformed chunked answer");
    size_t size = 0;
    size_t i = 0;
    for (; i < eol && std::isxdigit(static_cast<unsigned char>(body[i])); ++i) {
      if (size > (1ull << 40)) return make_error(ErrorKind::unavailable, "fetch.http", "malformed chunk size");
      size = size * 16 + hex_value(body[i]);
    }
    if (i == 0) return make_error(ErrorKind::unavailable, "fetch.http", "malformed chunk size");
    body.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (body.size() < size + 2) return make_error(ErrorKind::unavailable, "fetch.http", "truncated chunked answer");
    out.append(body.substr(0, size));
    body.remove_prefix(size + 2);
  }
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class HttpFetcher : public Fetcher {
 public:
  explicit HttpFetcher(HttpFetcherOptions o) : options_(o) {}

  Result<std::vector<uint8_t>> fetch(const std::string& url, std::string_view content_type,
                                     std::span<const uint8_t> body) override {
    auto u = parse_url(url);
    if (!u.ok()) return u.error();
    Connection conn(Clock::now() + std::chrono::seconds(options_.timeout_s));
    EDX_TRY(conn.connect(*u));
    std::string req = (body.empty() ? "GET " : "POST ") + u->target + " HTTP/1.1\r\nHost: " + u->host +
                      "\r\nConnection: close\r\nUser-Agent: edxgate\r\n";
    if (!body.empty()) {
      req +=
          "Content-Type: " + std::string(content_type) + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n";
    req.append(reinterpret_cast<const char*>(body.data()), body.size());
    EDX_TRY(conn.send_all(req));
    auto raw = conn.read_all(options_.max_bytes + 64 * 1024);
    if (!raw.ok()) return raw.error();
    return parse_answer(*raw);
  }

 private:
  Result<std::vector<uint8_t>> parse_answer(const std::string& raw) {
    size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos || raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) {
      return make_error(ErrorKind::unavailable, "fetch.http", "the answer is not HTTP/1.x");
    }
    std::string status = raw.substr(9, 3);
    if (status != "200")
      return make_error(ErrorKind::unavailable, "fetch.status", "the server answered HTTP " + status);
    std::string head = lower(raw.substr(0, head_end));
    std::string_view payload(raw);
    payload.remove_prefix(head_end + 4);
    std::string decoded;
    if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      auto d = dechunk(payload);
      if (!d.ok()) return d.error();
      decoded = std::move(d.value());
      payload = decoded;
    } else if (size_t cl = head.find("\r\ncontent-length:"); cl != std::string::npos) {
      uint64_t len = std::strtoull(head.c_str() + cl + 17, nullptr, 10);
      if (len > payload.size()) return make_error(ErrorKind::unavailable, "fetch.http", "the answer is truncated");
      payload = payload.substr(0, len);
    }
    if (payload.size() > options_.max_bytes)
      return make_error(ErrorKind::too_large, "fetch.too_large", "the answer is too large");
    return std::vector<uint8_t>(payload.begin(), payload.end());
  }

  HttpFetcherOptions options_;
};

}  // namespace

std::unique_ptr<Fetcher> make_http_fetcher(HttpFetcherOptions options) {
  return std::make_unique<HttpFetcher>(options);
}

}  // namespace edxgate::crypto
