// A headless Chromium for tests, driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ended by NUL, commands on fd 3,
// answers and events on fd 4), so no port is opened and nothing but the
// browser and this process take part.
//
// Each Browser has its own user-data-dir and HOME (a temp dir given by the
// caller): its NSS database ($HOME/.pki/nssdb) holds the test CA as trusted
// and one client certificate with its key, and its profile's preferences
// tell it to present that certificate to the gateway's origin without asking
// (the per-profile form of the AutoSelectCertificateForUrls policy, so no
// machine-wide policy file is written).
//
// Every wait has a deadline and ends as soon as its condition holds; nothing
// sleeps for a fixed time.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "edxgate/base/base64.h"
#include "edxgate/base/json.h"
#include "test_support.h"

namespace edxgate::testing {

class Browser {
 public:
  struct Options {
    std::string dir;          // private to this browser: HOME, profile, log
    std::string origin;       // "https://127.0.0.1:PORT": where the certificate is presented
    std::string ca_pem;       // the CA of the gateway's TLS certificate
    std::string client_cert;  // PEM certificate and key presented to the gateway
    std::string client_key;
    std::string issuer_cn;  // the client certificate's issuer CN (the selection filter)
    int width = 1280, height = 900;
  };

  // The browser program: $EDXGATE_CHROMIUM, else Debian's chromium.
  static std::string program() {
    const char* env = std::getenv("EDXGATE_CHROMIUM");
    return env && *env ? env : "/usr/bin/chromium";
  }
  static bool available() { return ::access(program().c_str(), X_OK) == 0 && ::access("/usr/bin/certutil", X_OK) == 0; }

  explicit Browser(Options o) : opt_(std::move(o)) {
    prepare_profile();
    launch();
    auto v = send("Browser.getVersion", {});
    version_ = std::string(v.at("product").as_string());
    auto target = send("Target.createTarget", {{"url", "about:blank"}});
    const std::string target_id(target.at("targetId").as_string());
    auto attached = send("Target.attachToTarget", {{"targetId", target_id}, {"flatten", true}});
    session_ = std::string(attached.at("sessionId").as_string());
    send("Page.enable", {}, session_);
    send("Network.enable", {}, session_);
    send("Runtime.enable", {}, session_);
    // Collects Content-Security-Policy violations of every page it loads.
    send("Page.addScriptToEvaluateOnNewDocument",
         {{"source",
           "window.__csp = []; document.addEventListener('securitypolicyviolation', "
           "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"}},
         session_);
  }
  ~Browser() {
    if (pid_ > 0) {
      try {
        send_only("Browser.close", {}, "");
      } catch (...) {
      }
      for (int i = 0; i < 100 && pid_ > 0; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_)
          pid_ = -1;
        else
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (pid_ > 0) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
    }
    if (to_browser_ >= 0) ::close(to_browser_);
    if (from_browser_ >= 0) ::close(from_browser_);
  }
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  const std::string& version() const { return version_; }
  std::string log() const { return read_text(opt_.dir + "/chromium.log"); }

  // Loads `url` and waits for its load event; returns the HTTP status of the
  // document (0 when none came).
  unsigned navigate(const std::string& url, std::chrono::seconds limit = std::chrono::seconds(90)) {
    events_.clear();
    auto r = send("Page.navigate", {{"url", url}}, session_, limit);
    if (const auto* err = r.as_object().if_contains("errorText"); err && !err->as_string().empty()) {
      throw std::runtime_error("navigation to " + url + " failed: " + std::string(err->as_string()));
    }
    wait_event("Page.loadEventFired", limit);
    return last_document_status();
  }

  // Waits for the load event of a navigation the page itself started (a click).
  unsigned wait_for_load(std::chrono::seconds limit = std::chrono::seconds(90)) {
    wait_event("Page.loadEventFired", limit);
    return last_document_status();
  }
  void forget_events() { events_.clear(); }

  // A response header of the last page loaded (name in lower case as HTTP/1.1
  // sends it here; "" when absent).
  std::string header(const std::string& name) const {
    const json::bj::object* r = last_document_response();
    if (!r) return "";
    for (const auto& [k, v] : r->at("headers").as_object()) {
      std::string key(k);
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (key == name && v.is_string()) return std::string(v.as_string());
    }
    return "";
  }

  // Evaluates an expression in the page; its value (JSON), promises awaited.
  json::bj::value eval(const std::string& expression, std::chrono::seconds limit = std::chrono::seconds(60)) {
    auto r = send("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}},
                  session_, limit);
    if (const auto* ex = r.as_object().if_contains("exceptionDetails")) {
      throw std::runtime_error("script failed: " + expression + ": " + json::bj::serialize(*ex));
    }
    const auto& result = r.at("result").as_object();
    const auto* value = result.if_contains("value");
    return value ? *value : json::bj::value();
  }
  std::string eval_string(const std::string& expression) {
    auto v = eval(expression);
    return v.is_string() ? std::string(v.as_string()) : json::bj::serialize(v);
  }

  // Waits, inside the page, until `condition` (a JS expression) is truthy.
  bool wait_for(const std::string& condition, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const std::string js = "new Promise(done => { const end = Date.now() + " + std::to_string(limit.count() * 1000) +
                           "; (function check() { let ok = false; try { ok = !!(" + condition +
                           "); } catch (e) {} if (ok) return done(true); if (Date.now() > end) return done(false); "
                           "setTimeout(check, 50); })(); })";
    auto v = eval(js, limit + std::chrono::seconds(30));
    return v.is_bool() && v.as_bool();
  }

  // Types text into the focused element as a user would (input events).
  void type(const std::string& text) { send("Input.insertText", {{"text", text}}, session_); }

  // A PNG of the whole page, or of its top `height` CSS pixels, written to `path`.
  void screenshot(const std::string& path, int height = 0) {
    json::bj::object params{{"format", "png"}, {"captureBeyondViewport", true}};
    if (height > 0) {
      params["clip"] = json::bj::object{{"x", 0}, {"y", 0}, {"width", opt_.width}, {"height", height}, {"scale", 1}};
    }
    auto r = send("Page.captureScreenshot", std::move(params), session_);
    std::string png;
    if (!base64::decode(r.at("data").as_string(), png)) throw std::runtime_error("screenshot: bad base64");
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_text(path, png);
  }

  // Sends a command and waits for its answer (its "result"); throws on an
  // error answer or when the deadline passes.
  json::bj::value send(const std::string& method, json::bj::object params, const std::string& session = "",
                       std::chrono::seconds limit = std::chrono::seconds(60)) {
    const int64_t id = send_only(method, std::move(params), session);
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
      json::bj::value m = read_message(end, method);
      const auto& o = m.as_object();
      const auto* mid = o.if_contains("id");
      if (!mid) {
        events_.push_back(std::move(m));
        continue;
      }
      if (mid->as_int64() != id) continue;
      if (const auto* err = o.if_contains("error")) {
        throw std::runtime_error(method + " failed: " + json::bj::serialize(*err));
      }
      return o.at("result");
    }
  }

 private:
  void sh(const std::string& cmd) {
    int st = 0;
    std::string out = run_capture(cmd + " </dev/null", &st);  // certutil asks on a terminal otherwise
    if (st != 0) throw std::runtime_error("command failed: " + cmd + "\n" + out);
  }

  void prepare_profile() {
    const std::string& d = opt_.dir;
    const std::string nss = d + "/home/.pki/nssdb";
    if (std::filesystem::exists(nss)) throw std::runtime_error("browser directory in use: " + d);
    std::filesystem::create_directories(nss);
    std::filesystem::create_directories(d + "/profile/Default");
    sh("certutil -N -d sql:" + nss + " --empty-password");
    sh("certutil -A -d sql:" + nss + " -n edxgate-test-ca -t C,, -i " + opt_.ca_pem);
    sh("openssl pkcs12 -export -in " + opt_.client_cert + " -inkey " + opt_.client_key +
       " -name client -passout pass: -out " + d + "/client.p12");
    sh("pk12util -i " + d + "/client.p12 -d sql:" + nss + " -W ''");
    // The content setting the AutoSelectCertificateForUrls policy would set.
    json::bj::object filter{{"ISSUER", json::bj::object{{"CN", opt_.issuer_cn}}}};
    json::bj::object setting{{"filters", json::bj::array{filter}}};
    json::bj::object exceptions{
        {"auto_select_certificate",
         json::bj::object{
             {opt_.origin + ",*", json::bj::object{{"last_modified", "13370000000000000"}, {"setting", setting}}}}}};
    json::bj::object prefs{
        {"profile", json::bj::object{{"content_settings", json::bj::object{{"exceptions", exceptions}}}}}};
    write_text(d + "/profile/Default/Preferences", json::bj::serialize(prefs));
  }

  void launch() {
    int to[2], from[2];
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const std::vector<std::string> argv = {
        program(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--password-store=basic",
        "--lang=vi",
        "--user-data-dir=" + opt_.dir + "/profile",
        "--window-size=" + std::to_string(opt_.width) + "," + std::to_string(opt_.height),
        "--remote-debugging-pipe",
        "about:blank"};
    const std::string home = opt_.dir + "/home";
    const std::string log = opt_.dir + "/chromium.log";
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::setpgid(0, 0);  // its helpers form one group, ended together
      // fds 3 and 4 as the protocol wants them (dup2 clears close-on-exec).
      int in = ::fcntl(to[0], F_DUPFD_CLOEXEC, 10), out = ::fcntl(from[1], F_DUPFD_CLOEXEC, 10);
      ::dup2(in, 3);
      ::dup2(out, 4);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null >= 0) ::dup2(null, 0);
      ::setenv("HOME", home.c_str(), 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    to_browser_ = to[1];
    from_browser_ = from[0];
  }

  int64_t send_only(const std::string& method, json::bj::object params, const std::string& session) {
    json::bj::object m{{"id", ++next_id_}, {"method", method}, {"params", std::move(params)}};
    if (!session.empty()) m["sessionId"] = session;
    std::string text = json::bj::serialize(m);
    text.push_back('\0');
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = ::write(to_browser_, text.data() + off, text.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("the browser closed its pipe (" + method + ")");
      off += static_cast<size_t>(n);
    }
    return next_id_;
  }

  json::bj::value read_message(std::chrono::steady_clock::time_point end, const std::string& waiting_for) {
    for (;;) {
      const size_t nul = buffer_.find('\0');
      if (nul != std::string::npos) {
        std::string text = buffer_.substr(0, nul);
        buffer_.erase(0, nul + 1);
        auto v = json::parse(text, 256);
        if (!v.ok() || !v->is_object()) throw std::runtime_error("the browser sent bad JSON: " + text.substr(0, 200));
        return *v;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw std::runtime_error("the browser did not answer in time: " + waiting_for);
      pollfd p{from_browser_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      char buf[65536];
      ssize_t n = ::read(from_browser_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("the browser closed its pipe (" + waiting_for + "):\n" + log());
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

  bool has_event(const std::string& method) const {
    for (const auto& e : events_) {
      const auto& o = e.as_object();
      if (o.at("method").as_string() == method && o.contains("sessionId") && o.at("sessionId").as_string() == session_)
        return true;
    }
    return false;
  }

  void wait_event(const std::string& method, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!has_event(method)) events_.push_back(read_message(end, method));
  }

  const json::bj::object* last_document_response() const {
    const json::bj::object* out = nullptr;
    for (const auto& e : events_) {
      const auto& o = e.as_object();
      if (o.at("method").as_string() != "Network.responseReceived") continue;
      const auto& p = o.at("params").as_object();
      if (p.at("type").as_string() != "Document") continue;
      out = &p.at("response").as_object();
    }
    return out;
  }
  unsigned last_document_status() const {
    const json::bj::object* r = last_document_response();
    return r ? static_cast<unsigned>(r->at("status").to_number<int64_t>()) : 0;
  }

  Options opt_;
  pid_t pid_ = -1;
  int to_browser_ = -1, from_browser_ = -1;
  int64_t next_id_ = 0;
  std::string buffer_;
  std::deque<json::bj::value> events_;
  std::string session_;
  std::string version_;
};

}  // namespace edxgate::testing
