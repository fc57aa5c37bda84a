// The end-to-end world of e2e_test.cc: an axis simulator and two edxgated
// processes (ministry A, pull mode; ministry B, push mode) on loopback, each
// with its own SoftHSM2 token (signing key generated on the token, its
// certificate issued by a test signing CA with the openssl CLI), its own
// state directory and axis credentials; the callers' TLS client certificates;
// helpers to call the internal API and to wait with a bound.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../hsm/softhsm_fixture.h"
#include "edxgate/base/digest.h"
#include "edxgate/base/json.h"
#include "edxgate/crypto/x509.h"
#include "edxgate/gateway/https_client.h"
#include "test_support.h"

namespace edxgate::e2e {

namespace bj = json::bj;
using testing::Process;
using testing::read_text;
using testing::run_capture;
using testing::write_text;

inline constexpr const char* kOrganA = "000.00.00.G01";
inline constexpr const char* kOrganB = "000.00.00.G02";
inline constexpr const char* kOrganC = "000.00.00.G03";  // a third system on the axis, no gateway here
inline constexpr const char* kOrganD = "000.00.00.G04";  // the organ of sys-a2, a second system client of A
inline constexpr const char* kPin = "1234";

inline std::string bin(const std::string& name) { return std::string(EDXGATE_BINARY_DIR) + "/bin/" + name; }

inline void sh(const std::string& cmd) {
  int st = 0;
  std::string out = run_capture(cmd, &st);
  if (st != 0) throw std::runtime_error("command failed: " + cmd + "\n" + out);
}

inline std::string sha256_hex_of_file(const std::string& path) {
  auto h = sha256_file_hex(path);
  return h.ok() ? *h : "";
}

// A free loopback TCP port for a listener that must keep its port across
// restarts. Taken below the usual ephemeral range (32768-60999), so that no
// client connection of this or a parallel test takes it meanwhile, at random
// so that parallel tests rarely try the same one; checked bindable.
inline uint16_t free_port() {
  static std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                          static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  for (int attempt = 0; attempt < 200; ++attempt) {
    const uint16_t port = static_cast<uint16_t>(20000 + rng() % 12000);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 1) == 0;
    ::close(fd);
    if (ok) return port;
  }
  throw std::runtime_error("no free port");
}

inline bool port_open(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Polls `pred` every 100 ms until it holds or `limit` passes.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

struct Reply {
  unsigned status = 0;
  std::string body;
  gateway::Headers headers;
  std::string error;  // transport error
  bj::value json() const {
    auto v = json::parse(body);
    return v.ok() ? *v : bj::value();
  }
};

inline std::string str(const bj::value& v, std::string_view key) {
  if (!v.is_object()) return "";
  const auto* x = v.as_object().if_contains(key);
  return x && x->is_string() ? std::string(x->as_string()) : std::string();
}

// The reason code of a problem answer (its type is urn:edxgate:problem:<code>).
inline std::string problem_code(const Reply& r) {
  const std::string type = str(r.json(), "type");
  const std::string prefix = "urn:edxgate:problem:";
  return type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
}

// One gateway: its token, config, ports and process.
struct Gateway {
  std::string name;  // "a" | "b"
  std::string organ;
  std::string system_id;
  std::unique_ptr<testing::SoftHsmToken> token;
  std::string dir;  // its own directory
  uint16_t internal_port = 0, axis_port = 0, health_port = 0;
  std::string config;
  Process proc;
  std::string store_extra;   // more [store] keys (e.g. a PostgreSQL cluster's)
  std::string signing_mode;  // [signing] mode; "" = the default (personal)
  // [[clients]] remote_signing_certs by client name ("sha256:<hex>" of the DER).
  std::map<std::string, std::vector<std::string>> remote_signing_certs;
  uint32_t axis_timeout_s = 10;
  uint32_t push_timeout_ms = 3000;  // B: the simulator's pushes to it (large-document benches raise it)

  std::string state_dir() const { return dir + "/state"; }
};

class World {
 public:
  // `configure` may change A's and B's settings before their configs are written.
  // `sim_directory`: the JSON array the simulator serves as getAgenciesList
  // ("" = none, an empty directory).
  explicit World(const std::function<void(Gateway& a, Gateway& b)>& configure = {},
                 const std::string& sim_directory = "")
      : tls_(root_.path()) {
    if (!sim_directory.empty()) write_text(path("sim-agencies.json"), sim_directory);
    const std::string& d = root_.path();
    // Callers (TLS client certificates of the TLS test CA).
    for (const char* who : {"sys-a", "sys-a2", "leader-a", "officer-a", "sys-b", "officer-b", "leader-b", "axis"}) {
      tls_.client(who, std::string("/C=VN/O=edxgate e2e/CN=") + who);
    }
    make_signing_ca();
    a_.name = "a";
    a_.organ = kOrganA;
    a_.system_id = "SYS-A";
    b_.name = "b";
    b_.organ = kOrganB;
    b_.system_id = "SYS-B";
    sim_port_ = free_port();
    write_text(path("c.secret"), "secret-c-0123456789\n");
    for (Gateway* g : {&a_, &b_}) {
      g->dir = d + "/gw-" + g->name;
      std::filesystem::create_directories(g->dir);
      g->token = std::make_unique<testing::SoftHsmToken>("gw-" + g->name, kPin);
      make_token_key(*g);
      write_text(g->dir + "/axis.secret", "secret-" + g->name + "-0123456789\n");
      ::chmod((g->dir + "/axis.secret").c_str(), 0600);
      g->internal_port = free_port();
      g->health_port = free_port();
    }
    b_.axis_port = free_port();
    if (configure) configure(a_, b_);
    write_config(a_, "pull");
    write_config(b_, "push");
    start_first();
  }
  ~World() {
    a_.proc.stop();
    b_.proc.stop();
    sim_.stop();
  }

  Gateway& a() { return a_; }
  Gateway& b() { return b_; }
  Process& sim() { return sim_; }
  const std::string& dir() const { return root_.path(); }
  std::string path(const std::string& name) const { return root_.path() + "/" + name; }
  const testing::TestPki& tls() const { return tls_; }
  std::string signing_ca() const { return path("signca.pem"); }
  std::string sim_url() const { return "https://127.0.0.1:" + std::to_string(sim_port_); }

  // Rewrites g's config from its fields (after a change to them) and restarts it.
  void reconfigure(Gateway& g) {
    g.proc.stop();
    write_config(g, g.axis_port ? "push" : "pull");
    start(g);
  }

  // "sha256:<hex>" of a certificate file's DER, as [[clients]] lists certificates.
  static std::string certificate_fingerprint(const std::string& pem) {
    auto certs = crypto::Certificate::load_file(pem);
    if (!certs.ok() || certs->empty()) throw std::runtime_error("cannot read the certificate " + pem);
    return "sha256:" + certs->front().sha256_hex();
  }

  // Issues a certificate of the signing CA for a CSR (a leader's own token key).
  void issue_signer_csr(const std::string& csr, const std::string& out) { issue(csr, out); }

  // Issues a certificate of the signing CA for a software RSA key (remote signing).
  void issue_software_signer(const std::string& name, const std::string& cn) {
    sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + path(name + ".key") + " 2>/dev/null");
    sh("openssl req -new -utf8 -key " + path(name + ".key") + " -subj '/C=VN/O=edxgate e2e/CN=" + cn + "' -out " +
       path(name + ".csr"));
    issue(path(name + ".csr"), path(name + ".pem"));
  }

  void start_sim() {
    const std::string data = path("sim-data-" + std::to_string(++sim_starts_));
    std::filesystem::create_directories(data);
    auto sys = [&](Gateway& g, bool push) {
      return "id=" + g.system_id + ",organ=" + g.organ + ",secret-file=" + g.dir + "/axis.secret" +
             (push ? ",push=https://127.0.0.1:" + std::to_string(g.axis_port) : "");
    };
    std::vector<std::string> args{bin("edxgate-axis-sim"),
                                  "--tls-cert",
                                  tls_.cert("server"),
                                  "--tls-key",
                                  tls_.key("server"),
                                  "--data",
                                  data,
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(sim_port_),
                                  "--system",
                                  sys(a_, false),
                                  "--system",
                                  sys(b_, true),
                                  "--system",
                                  "id=SYS-C,organ=" + std::string(kOrganC) + ",secret-file=" + path("c.secret"),
                                  "--push-ca",
                                  tls_.cert("ca"),
                                  "--push-cert",
                                  tls_.cert("axis"),
                                  "--push-key",
                                  tls_.key("axis"),
                                  "--push-timeout-ms",
                                  std::to_string(b_.push_timeout_ms),
                                  "--push-retry-ms",
                                  "500"};
    if (std::filesystem::exists(path("sim-agencies.json"))) {
      args.push_back("--directory");
      args.push_back(path("sim-agencies.json"));
    }
    sim_.start(args, {}, path("sim.log"));
    if (!wait_until([&] { return port_open(sim_port_) || !sim_.running(); }, std::chrono::seconds(20)) ||
        !sim_.running()) {
      throw std::runtime_error("the simulator did not start:\n" + sim_.log());
    }
  }

  // The first start of the simulator and both gateways. free_port() checks a
  // port is free when it picks it, but a parallel test may bind it before
  // our process does (seconds later, under ASan): when a listener finds its
  // port taken, everything is stopped and started again on new ports (the
  // configs and the simulator's arguments name them), a few times.
  void start_first() {
    for (int attempt = 0;; ++attempt) {
      try {
        start_sim();
        start(a_);
        start(b_);
        return;
      } catch (const std::runtime_error& e) {
        if (attempt >= 4 || std::string(e.what()).find("Address already in use") == std::string::npos) throw;
        a_.proc.stop();
        b_.proc.stop();
        sim_.stop();
        sim_port_ = free_port();
        for (Gateway* g : {&a_, &b_}) {
          g->internal_port = free_port();
          g->health_port = free_port();
        }
        b_.axis_port = free_port();
        write_config(a_, "pull");
        write_config(b_, "push");
      }
    }
  }

  void start(Gateway& g) {
    g.proc.start({bin("edxgated"), "--config", g.config}, {{"SOFTHSM2_CONF", g.token->conf()}},
                 g.dir + "/edxgated.log");
    auto up = [&] {
      return port_open(g.internal_port) && (g.axis_port == 0 || port_open(g.axis_port)) &&
             read_text(g.dir + "/edxgated.log").find("listener=health") != std::string::npos;
    };
    if (!wait_until([&] { return !g.proc.running() || up(); }, std::chrono::seconds(30)) || !g.proc.running()) {
      throw std::runtime_error("edxgated " + g.name + " did not start:\n" + g.proc.log());
    }
  }

  // Calls g's internal API as `who` (a TLS client name).
  Reply call(const Gateway& g, const std::string& who, const std::string& method, const std::string& path,
             const std::string& body = "", const std::string& content_type = "application/json",
             const std::string& body_file = "", const std::string& response_file = "",
             const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
    gateway::ClientOptions o;
    o.ca_file = tls_.cert("ca");
    o.client_cert = tls_.cert(who);
    o.client_key = tls_.key(who);
    o.timeout = std::chrono::seconds(120);
    o.max_response_bytes = 64ull << 20;
    Reply out;
    auto c = gateway::HttpsClient::create("https://127.0.0.1:" + std::to_string(g.internal_port), o);
    if (!c.ok()) {
      out.error = c.error().message;
      return out;
    }
    gateway::ClientRequest r;
    r.method = method;
    r.path = path;
    if (method != "GET") {
      r.content_type = content_type;
      r.body = body;
      r.body_file = body_file;
    }
    for (const auto& [name, value] : headers) r.headers.emplace_back(name, value);
    auto resp = c->send(r, response_file);
    if (!resp.ok()) {
      out.error = resp.error().code + ": " + resp.error().message;
      return out;
    }
    out.status = resp->status;
    out.body = resp->body;
    out.headers = resp->headers;
    return out;
  }

  // POST /_sim/fault on the simulator.
  bool sim_fault(const std::string& json) const {
    gateway::ClientOptions o;
    o.ca_file = tls_.cert("ca");
    o.timeout = std::chrono::seconds(10);
    auto c = gateway::HttpsClient::create(sim_url(), o);
    if (!c.ok()) return false;
    gateway::ClientRequest r;
    r.path = "/_sim/fault";
    r.body = json;
    auto resp = c->send(r);
    return resp.ok() && resp->status == 200;
  }
  // Authenticated sendEdoc calls the simulator has begun for `system_id`.
  int64_t sim_send_calls(const std::string& system_id) const {
    gateway::ClientOptions o;
    o.ca_file = tls_.cert("ca");
    o.timeout = std::chrono::seconds(10);
    auto c = gateway::HttpsClient::create(sim_url(), o);
    if (!c.ok()) return -1;
    gateway::ClientRequest r;
    r.method = "GET";
    r.path = "/_sim/calls";
    auto resp = c->send(r);
    if (!resp.ok()) return -1;
    auto v = json::parse(resp->body);
    if (!v.ok() || !v->is_object()) return -1;
    const auto* n = v->as_object().if_contains("sendEdoc:" + system_id);
    return n && n->is_int64() ? n->as_int64() : n && n->is_uint64() ? static_cast<int64_t>(n->as_uint64()) : 0;
  }
  bj::value sim_items() const {
    gateway::ClientOptions o;
    o.ca_file = tls_.cert("ca");
    o.timeout = std::chrono::seconds(10);
    auto c = gateway::HttpsClient::create(sim_url(), o);
    if (!c.ok()) return {};
    gateway::ClientRequest r;
    r.method = "GET";
    r.path = "/_sim/items";
    auto resp = c->send(r);
    if (!resp.ok()) return {};
    auto v = json::parse(resp->body);
    return v.ok() ? *v : bj::value();
  }

 private:
  void make_signing_ca() {
    const std::string& d = root_.path();
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "
       "'/C=VN/O=edxgate e2e/CN=Signing Root' -keyout " +
       d + "/signca.key -out " + d +
       "/signca.pem"
       " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    // An (empty) CRL, so the strict policy's hard revocation check has an answer.
    std::filesystem::create_directories(d + "/ca");
    write_text(d + "/ca/index.txt", "");
    write_text(d + "/ca/crlnumber", "01\n");
    write_text(d + "/ca/ca.cnf", "[ca]\ndefault_ca = s\n[s]\ndatabase = " + d + "/ca/index.txt\ncrlnumber = " + d +
                                     "/ca/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n");
    sh("openssl ca -batch -config " + d + "/ca/ca.cnf -gencrl -keyfile " + d + "/signca.key -cert " + d +
       "/signca.pem -out " + d + "/signca.crl");
    write_text(d + "/signer.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n");
  }
  void issue(const std::string& csr, const std::string& out) {
    const std::string& d = root_.path();
    sh("openssl x509 -req -in " + csr + " -CA " + d + "/signca.pem -CAkey " + d + "/signca.key -CAcreateserial " +
       "-days 30 -sha256 -extfile " + d + "/signer.ext -out " + out);
  }
  void make_token_key(Gateway& g) {
    const auto& t = *g.token;
    const std::string common = " --pin-file " + t.pin_file() + " --audit-log " + g.dir + "/audit.log";
    std::string out;
    auto run = [&](const std::string& cmd) {
      out.clear();
      if (t.run(cmd, &out) != 0) throw std::runtime_error("failed: " + cmd + "\n" + out);
    };
    run(bin("edxgate") + " key generate --type ec:P-256 --label sign --id 01" + common);
    run(bin("edxgate") + " csr --label sign --subject 'CN=Lãnh đạo " + g.name + ",O=Bộ " + g.name + ",C=VN' -o " +
        g.dir + "/sign.csr" + common);
    issue(g.dir + "/sign.csr", g.dir + "/sign.pem");
    run(bin("edxgate") + " cert import --label sign --cert " + g.dir + "/sign.pem" + common);
  }
  void write_config(Gateway& g, const std::string& mode) {
    auto q = [](const std::string& s) { return "\"" + s + "\""; };
    auto client = [&](const std::string& name, const std::string& role, const std::string& organs) {
      std::string certs;
      if (auto it = g.remote_signing_certs.find(name); it != g.remote_signing_certs.end()) {
        for (const auto& f : it->second) certs += (certs.empty() ? "" : ", ") + q(f);
        certs = "remote_signing_certs = [" + certs + "]\n";
      }
      return "[[clients]]\nname = " + q(name) + "\nrole = " + q(role) + "\nfingerprint = " + q(tls_.fingerprint(name)) +
             "\n" + (organs.empty() ? "" : "organ_ids = [" + q(organs) + "]\n") + certs;
    };
    std::string c;
    c += "[server]\ninternal_listen = " + q("127.0.0.1:" + std::to_string(g.internal_port)) + "\n";
    c += "axis_listen = " + q(g.axis_port ? "127.0.0.1:" + std::to_string(g.axis_port) : "") + "\n";
    c += "health_listen = " + q("127.0.0.1:" + std::to_string(g.health_port)) + "\n";
    c += "tls_cert = " + q(tls_.cert("server")) + "\ntls_key = " + q(tls_.key("server")) + "\n";
    c += "client_ca = " + q(tls_.cert("ca")) + "\nshutdown_grace_s = 2\n";
    c += "[store]\nstate_dir = " + q(g.state_dir()) + "\n" + g.store_extra;
    c += "[hsm]\nmodule = " + q(testing::SoftHsmToken::module()) + "\n";
    c += "key_uri = " + q("pkcs11:token=gw-" + g.name + ";object=sign") + "\n";
    c += "cert = " + q(g.dir + "/sign.pem") + "\npin_file = " + q(g.token->pin_file()) + "\n";
    c += "[trust]\nanchors = [" + q(signing_ca()) + "]\ncrls = [" + q(path("signca.crl")) + "]\n";
    c += "[axis]\nmode = " + q(mode) + "\nendpoint = " + q(sim_url()) + "\norgan_id = " + q(g.organ) + "\n";
    c += "system_id = " + q(g.system_id) + "\nsecret_file = " + q(g.dir + "/axis.secret") + "\n";
    c += "ca_file = " + q(tls_.cert("ca")) + "\npoll_interval_s = 1\ntimeout_s = " + std::to_string(g.axis_timeout_s) +
         "\n";
    c += "retry_base_s = 1\nretry_max_s = 2\n";
    if (!g.signing_mode.empty()) c += "[signing]\nmode = " + q(g.signing_mode) + "\n";
    c += "[log]\nlevel = \"info\"\n";
    c += client("sys-" + g.name, "system", g.organ);
    // A second system on A's gateway, of another organ (kOrganD): it sees none of A's documents.
    if (g.name == "a") c += client("sys-a2", "system", kOrganD);
    c += client("leader-" + g.name, "leader", "");
    c += client("officer-" + g.name, "officer", "");
    if (g.axis_port) c += client("axis", "axis", "");
    g.config = g.dir + "/edxgate.toml";
    write_text(g.config, c);
    int st = 0;
    std::string out = run_capture(bin("edxgated") + " --check-config " + g.config, &st);
    if (st != 0) throw std::runtime_error("config of " + g.name + " is invalid: " + out);
  }

  testing::TempDir root_;
  testing::TestPki tls_;
  Gateway a_, b_;
  Process sim_;
  uint16_t sim_port_ = 0;
  int sim_starts_ = 0;
};

// A multipart/form-data body in a file: the metadata field, then the files.
struct Form {
  std::string file;
  std::string content_type;
};
inline Form make_form(const std::string& path, const std::string& metadata,
                      const std::vector<std::pair<std::string, std::string>>& files /* name, path */) {
  const std::string boundary = "e2e-boundary-7d92a7f-" + std::to_string(::getpid());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << "--" << boundary << "\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
      << "Content-Type: application/json\r\n\r\n"
      << metadata << "\r\n";
  for (const auto& [name, file] : files) {
    out << "--" << boundary << "\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"" << name
        << "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
    std::ifstream in(file, std::ios::binary);
    out << in.rdbuf();
    out << "\r\n";
  }
  out << "--" << boundary << "--\r\n";
  return {path, "multipart/form-data; boundary=" + boundary};
}

// The META.json of edxml/README.md, from A to B.
inline std::string metadata_json(const std::string& code, const std::string& subject,
                                 const std::string& from_organ = kOrganA, const std::string& to_organ = kOrganB) {
  bj::object from{{"organ_id", from_organ}, {"organ_name", "Bộ gửi"}};
  bj::array to{bj::object{{"organ_id", to_organ}, {"organ_name", "Bộ nhận"}}};
  bj::object m{
      {"from", from},
      {"to", to},
      {"code", code},
      {"promulgation_place", "Hà Nội"},
      {"promulgation_date", "2026/11/23"},
      {"type", "1"},
      {"type_name", "Công văn"},
      {"subject", subject},
      {"signer",
       bj::object{{"competence", "KT. BỘ TRƯỞNG"}, {"position", "Thứ trưởng"}, {"full_name", "Nguyễn Văn Đức"}}},
      {"to_places", bj::array{"Như trên", "Lưu: VT"}}};
  return bj::serialize(bj::object{{"message", m}});
}

// What A's system and A's leader were answered when a document was submitted
// (POST /v1/outgoing, multipart: metadata_json(code, subject) and `files`)
// and then signed on A's token (POST /v1/outgoing/{id}/sign with the PIN).
// Signing is not tried when the submission gave no id.
struct SubmittedAndSigned {
  Reply submitted;
  std::string id;  // A's id of the document; empty when the submission failed
  Reply signed_reply;
};
inline SubmittedAndSigned submit_and_sign(World& w, const std::string& form_path, const std::string& code,
                                          const std::string& subject,
                                          const std::vector<std::pair<std::string, std::string>>& files) {
  SubmittedAndSigned r;
  const Form f = make_form(form_path, metadata_json(code, subject), files);
  r.submitted = w.call(w.a(), "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
  std::filesystem::remove(f.file);
  if (r.submitted.status == 202) r.id = str(r.submitted.json(), "id");
  if (r.id.empty()) return r;
  r.signed_reply = w.call(w.a(), "leader-a", "POST", "/v1/outgoing/" + r.id + "/sign", R"({"pin":"1234"})");
  return r;
}

inline void random_file(const std::string& path, size_t bytes, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string buf;
  buf.resize(1 << 20);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  while (bytes > 0) {
    for (size_t i = 0; i < buf.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(buf.data() + i, &v, 8);
    }
    size_t n = std::min(bytes, buf.size());
    out.write(buf.data(), static_cast<std::streamsize>(n));
    bytes -= n;
  }
}

}  // namespace edxgate::e2e
