// Shared fixtures for the gateway tests: a temp directory, a test PKI made
// with the openssl CLI, a raw TLS/TCP client for abuse tests (so the tests can
// send exactly the bytes they mean), and helpers to run programs.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace edxgate::testing {

// Writing to a socket the server has closed must fail, not kill the test.
inline const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

inline std::string run_capture(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edxgate-gw-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A test PKI: one CA for the server and the clients it knows, another CA
// nobody trusts. Certificates are ECDSA P-256.
class TestPki {
 public:
  explicit TestPki(const std::string& dir) : dir_(dir) {
    ca("ca", "/C=VN/O=edxgate test/CN=Test Root");
    ca("foreign-ca", "/C=VN/O=elsewhere/CN=Foreign Root");
    leaf("server", "ca", "/C=VN/O=edxgate test/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "serverAuth");
  }
  // Issues a client certificate; returns nothing, files at path(name).
  void client(const std::string& name, const std::string& subject, const std::string& issuer = "ca") {
    leaf(name, issuer, subject, "", "clientAuth");
  }
  std::string cert(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  std::string fingerprint(const std::string& name) const {
    std::string out = run_capture("openssl x509 -in " + cert(name) + " -noout -fingerprint -sha256");
    auto eq = out.find('=');
    std::string hex;
    for (char c : out.substr(eq + 1))
      if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
    return "sha256:" + hex;
  }

 private:
  void sh(const std::string& cmd) {
    int st = 0;
    std::string out = run_capture(cmd, &st);
    if (st != 0) throw std::runtime_error("command failed: " + cmd + "\n" + out);
  }
  void ca(const std::string& name, const std::string& subject) {
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj '" + subject +
       "' -keyout " + key(name) + " -out " + cert(name) +
       " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
  }
  void leaf(const std::string& name, const std::string& issuer, const std::string& subject, const std::string& san,
            const std::string& eku) {
    const std::string ext = dir_ + "/" + name + ".ext";
    write_text(ext, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=" + eku + "\n" +
                        (san.empty() ? "" : san + "\n"));
    sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '" + subject + "' -keyout " +
       key(name) + " -out " + dir_ + "/" + name + ".csr");
    sh("openssl x509 -req -in " + dir_ + "/" + name + ".csr -CA " + cert(issuer) + " -CAkey " + key(issuer) +
       " -CAcreateserial -days 30 -extfile " + ext + " -out " + cert(name));
  }
  std::string dir_;
};

// A blocking client that sends raw bytes over TCP or TLS, with a receive timeout.
class RawClient {
 public:
  struct Options {
    bool tls = true;
    std::string ca, cert, key;
    int max_tls_version = 0;  // e.g. TLS1_1_VERSION to test refusal
    std::string ciphers;      // TLS 1.2 cipher list to offer
    int recv_timeout_ms = 5000;
  };

  RawClient(uint16_t port, Options o) : opt_(std::move(o)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    timeval tv{opt_.recv_timeout_ms / 1000, (opt_.recv_timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!opt_.tls) {
      connected_ = true;
      return;
    }
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (opt_.max_tls_version) {
      SSL_CTX_set_security_level(ctx_, 0);
      SSL_CTX_set_min_proto_version(ctx_, 0);
      SSL_CTX_set_max_proto_version(ctx_, opt_.max_tls_version);
    }
    if (!opt_.ciphers.empty()) {
      SSL_CTX_set_max_proto_version(ctx_, TLS1_2_VERSION);
      SSL_CTX_set_cipher_list(ctx_, opt_.ciphers.c_str());
    }
    SSL_CTX_load_verify_locations(ctx_, opt_.ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!opt_.cert.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_, opt_.cert.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, opt_.key.c_str(), SSL_FILETYPE_PEM);
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    // With TLS 1.3 a refused client certificate shows only on the first read.
    connected_ = SSL_connect(ssl_) == 1;
  }
  RawClient(RawClient&& o) noexcept : opt_(o.opt_), fd_(o.fd_), ctx_(o.ctx_), ssl_(o.ssl_), connected_(o.connected_) {
    o.fd_ = -1;
    o.ctx_ = nullptr;
    o.ssl_ = nullptr;
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  RawClient& operator=(RawClient&&) = delete;
  ~RawClient() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }

  bool send(const std::string& bytes) {
    if (!connected_) return false;
    size_t off = 0;
    while (off < bytes.size()) {
      int n = opt_.tls ? SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off))
                       : static_cast<int>(::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL));
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads until the peer closes, the timeout passes, or `until` appears with
  // a complete body (Content-Length honoured).
  std::string receive() {
    std::string out;
    char buf[16384];
    while (true) {
      int n = opt_.tls ? SSL_read(ssl_, buf, sizeof buf) : static_cast<int>(::recv(fd_, buf, sizeof buf, 0));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (complete(out)) break;
    }
    return out;
  }

  // Status code of the first response in `raw` (0 if none).
  static int status_of(const std::string& raw) {
    if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return 0;
    return std::atoi(raw.substr(9, 3).c_str());
  }
  static std::string body_of(const std::string& raw) {
    auto p = raw.find("\r\n\r\n");
    return p == std::string::npos ? "" : raw.substr(p + 4);
  }

 private:
  static bool complete(const std::string& s) {
    auto end = s.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    std::string head = s.substr(0, end);
    for (auto& c : head) c = static_cast<char>(std::tolower(c));
    auto cl = head.find("content-length:");
    if (cl == std::string::npos) return false;
    size_t len = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
    return s.size() >= end + 4 + len;
  }
  Options opt_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
};

}  // namespace edxgate::testing
