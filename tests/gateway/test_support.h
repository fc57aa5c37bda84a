// Shared fixtures for the gateway tests: a temp directory, a test PKI made
// with the openssl CLI, a raw TLS/TCP client for abuse tests (so the tests can
// send exactly the bytes they mean), and helpers to run programs.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/run_cli.h"

namespace edxgate::testing {

// Writing to a socket the server has closed must fail, not kill the test.
inline const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

inline std::string run_capture(const std::string& cmd, int* status = nullptr) {
  auto r = edxgate::test::run_command(cmd);
  if (status) *status = r.code;
  return r.out;
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

// A child process, its stdout and stderr appended to a log file.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { stop(); }

  void start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::string& log) {
    stop();
    log_ = log;
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 2);
        ::dup2(fd, 1);
      }
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  bool running() {
    if (pid_ <= 0) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // SIGKILL and reap.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGTERM, then SIGKILL after 10 s.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill();
  }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_text(log_); }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// The axis simulator (edxgate-axis-sim) as a child of a test suite, on a port
// it picks itself. Its output goes to DIR/sim.log.
class AxisSimulator {
 public:
  // Starts it with `options` (all but --port-file) and waits up to 15 s for
  // its port; false if it did not come up (log() says why).
  bool start(const std::string& dir, const std::vector<std::string>& options) {
    const std::string port_file = dir + "/sim.port";
    std::vector<std::string> argv{std::string(EDXGATE_BINARY_DIR) + "/bin/edxgate-axis-sim", "--port-file", port_file};
    argv.insert(argv.end(), options.begin(), options.end());
    port_.clear();
    process_.start(argv, {}, dir + "/sim.log");
    for (int i = 0; i < 300 && port_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const std::string p = read_text(port_file);
      if (!p.empty() && p.back() == '\n') port_ = p.substr(0, p.size() - 1);
    }
    return !port_.empty();
  }
  const std::string& port() const { return port_; }  // empty until it started
  std::string url() const { return "https://127.0.0.1:" + port_; }
  std::string log() const { return process_.log(); }
  void stop() { process_.stop(); }

  // The value of a --system option: system `id` of `organ`, its secret in
  // `secret_file`; with `push_url`, the simulator pushes its documents there.
  static std::string system(const std::string& id, const std::string& organ, const std::string& secret_file,
                            const std::string& push_url = "") {
    return "id=" + id + ",organ=" + organ + ",secret-file=" + secret_file +
           (push_url.empty() ? "" : ",push=" + push_url);
  }

 private:
  Process process_;
  std::string port_;
};

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
