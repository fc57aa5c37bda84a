// gateway_load_bench: a bounded loopback load run of the two gateway paths,
// each beside its cryptographic floor measured in the same run.
//
//   receive: signed envelopes POSTed by C client threads to the push endpoint
//            (POST /vdxp/sendEdoc over loopback HTTPS, VDXP-signed headers,
//            kept-alive TLS connections, as the SDK's pooled client keeps them;
//            --push-per-call: a full handshake per delivery) whose sink is the
//            Engine: parse + verify + store, and the status 01 the engine
//            queues (signed on the token when an unattended key is set).
//            Floor: crypto::Verifier::verify of the same envelope (pre-parsed).
//   send:    Engine::submit (header + one attachment file) + Engine::sign (the
//            token key) + Engine::run_outbox_once to edxgate-axis-sim over
//            loopback HTTPS (VDXP client), per document, from C threads.
//            Twice: personal mode (Engine::sign with the leader's PIN: a
//            token login per signature, by design) and organization mode
//            (Engine::submit signs with the agency's key, whose token session
//            the key provider keeps open between uses).
//            Floor: TokenSigner::sign of SignedInfo-sized data, and the
//            software RSA-2048 EVP_DigestSign rate (an `openssl speed`-like
//            second baseline).
// Beside both: a 4 KB append + fdatasync in the state directory, the disk
// floor (each stored document costs several syncs of the blobs and the WAL).
//
// Everything lives in a temp dir: a SoftHSM2 token (own SOFTHSM2_CONF) with an
// RSA-2048 key whose certificate a test signing CA issued (openssl CLI), a
// SQLite store, the TLS PKI, and the simulator process. Nothing leaves
// loopback. Prints a table and one JSON line (prefix "JSON "). Not a ctest.
// --store postgresql runs both paths twice, on SQLite and then on a
// throwaway PostgreSQL server (fsync on, unix socket, tests/store/pg_server.h),
// and prints the PostgreSQL figures beside SQLite's.
//
//   gateway_load_bench [--docs N] [--large-docs M] [--large-kb K] [--concurrency C]
//                      [--seconds S] [--attachment-kb K] [--transport sim|noop]
//                      [--status-unsigned] [--store sqlite|postgresql] [--quick]
//                      [--no-keep-alive] [--in-flight K] [--paths receive|send|both]
//                      [--push-per-call] [--max-dual-bytes N] [--same-attachment]
// Each received document carries its own attachment (--same-attachment: all
// the same file, which the blob store keeps once and replaces each time).
// Each path stops at S seconds or N envelopes, whichever comes first; the
// send path runs first (the receive path queues status messages in the
// outbox, which the send path's outbox passes would otherwise deliver too).
// Exit code 1 when any request failed or an envelope was quarantined.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/tree.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "edxgate/base/json.h"
#include "edxgate/base/log.h"
#include "edxgate/base/metrics.h"
#include "edxgate/base/ossl.h"
#include "edxgate/config/config.h"
#include "edxgate/crypto/signing.h"
#include "edxgate/crypto/verifier.h"
#include "edxgate/edxml/json.h"
#include "edxgate/edxml/pack.h"
#include "edxgate/edxml/writer.h"
#include "edxgate/edxml/xml.h"
#include "edxgate/gateway/axis.h"
#include "edxgate/gateway/https_client.h"
#include "edxgate/gateway/push_endpoint.h"
#include "edxgate/gateway/server.h"
#include "edxgate/gateway/vdxp.h"
#include "edxgate/hsm/hsm.h"
#include "edxgate/store/store.h"
#include "edxgate/store/write_stats.h"
#include "edxgate/workflow/engine.h"
#include "edxgate/workflow/keys.h"
#include "pg_server.h"
#include "softhsm_fixture.h"
#include "test_support.h"

namespace {

using namespace edxgate;
using Clock = std::chrono::steady_clock;
namespace bj = json::bj;

constexpr const char* kUs = "000.00.00.G06";         // this gateway's organ
constexpr const char* kPeer = "000.00.00.H41";       // who sends to us
constexpr const char* kRecipient = "000.00.00.G07";  // whom we send to (at the sim, pull mode)
constexpr const char* kUsSystem = "SYS-US";
constexpr const char* kRecipientSystem = "SYS-G07";
constexpr const char* kPeerSystem = "SYS-H41";  // the sender's system at the sim: our 01s reach it (pull mode)

pid_t g_sim_pid = -1;  // the simulator, stopped on every way out

[[noreturn]] void die(const std::string& what) {
  std::cerr << "gateway_load_bench: " << what << "\n";
  if (g_sim_pid > 0) ::kill(g_sim_pid, SIGTERM);
  std::exit(1);
}

template <typename T>
T must(Result<T> r, const std::string& what) {
  if (!r.ok()) die(what + ": " + r.error().code + ": " + r.error().message);
  return std::move(r.value());
}
void must(const Status& s, const std::string& what) {
  if (!s.ok()) die(what + ": " + s.error().code + ": " + s.error().message);
}

void sh(const std::string& cmd) {
  int st = 0;
  std::string out = testing::run_capture(cmd, &st);
  if (st != 0) die("command failed: " + cmd + "\n" + out);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU time (user + system) in ms: of this process, or of child `pid` (from
// /proc, in clock ticks).
double cpu_ms(pid_t pid = 0) {
  if (pid == 0) {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto ms = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
    };
    return ms(u.ru_utime) + ms(u.ru_stime);
  }
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(f, stat);
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; in >> field; ++i) {  // field 3 is the state; utime is 14, stime 15
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) * 1e3 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long vm_hwm_kb(pid_t pid = 0) {
  std::ifstream f(pid ? "/proc/" + std::to_string(pid) + "/status" : std::string("/proc/self/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// ------------------------------------------------------------------ options

struct Options {
  size_t docs = 400;       // per path (small envelopes), upper bound
  size_t large_docs = 12;  // receive path with the large attachment
  size_t large_kb = 1024;
  size_t attachment_kb = 10;
  unsigned concurrency = 4;
  double seconds = 3.0;  // per path, upper bound
  std::string transport = "sim";
  bool status_unsigned = false;
  bool keep_alive = true;         // --no-keep-alive: a connection per axis call (as before issue 15)
  bool push_keep_alive = true;    // --push-per-call: a TLS connection per delivery, no resumption
  bool same_attachment = false;   // --same-attachment: every received document carries the same file
  long long max_dual_bytes = -1;  // --max-dual-bytes N: [verify] max_dual_bytes (-1: the default)
  size_t in_flight = 4;           // the outbox's sends in flight ([axis] max_in_flight)
  std::string store = "sqlite";   // or "postgresql": both, side by side
  std::string paths = "both";     // --paths receive|send|both (a profile of one path)
};

Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> a(argv + 1, argv + argc);
  for (size_t i = 0; i < a.size(); ++i) {
    auto next = [&]() -> std::string {
      if (i + 1 >= a.size()) die("missing value for " + a[i]);
      return a[++i];
    };
    if (a[i] == "--docs")
      o.docs = std::stoul(next());
    else if (a[i] == "--large-docs")
      o.large_docs = std::stoul(next());
    else if (a[i] == "--large-kb")
      o.large_kb = std::stoul(next());
    else if (a[i] == "--attachment-kb")
      o.attachment_kb = std::stoul(next());
    else if (a[i] == "--concurrency")
      o.concurrency = static_cast<unsigned>(std::stoul(next()));
    else if (a[i] == "--seconds")
      o.seconds = std::stod(next());
    else if (a[i] == "--transport")
      o.transport = next();
    else if (a[i] == "--status-unsigned")
      o.status_unsigned = true;
    else if (a[i] == "--store")
      o.store = next();
    else if (a[i] == "--no-keep-alive")
      o.keep_alive = false;
    else if (a[i] == "--in-flight")
      o.in_flight = std::stoul(next());
    else if (a[i] == "--same-attachment")
      o.same_attachment = true;
    else if (a[i] == "--push-per-call")
      o.push_keep_alive = false;
    else if (a[i] == "--max-dual-bytes")
      o.max_dual_bytes = std::stoll(next());
    else if (a[i] == "--paths")
      o.paths = next();
    else if (a[i] == "--quick") {
      o.docs = 60;
      o.large_docs = 4;
      o.seconds = 1.0;
    } else if (a[i] == "--help" || a[i] == "-h") {
      std::cout << "usage: gateway_load_bench [--docs N] [--large-docs M] [--large-kb K] [--attachment-kb K]\n"
                   "       [--concurrency C] [--seconds S] [--transport sim|noop] [--status-unsigned]\n"
                   "       [--store sqlite|postgresql] [--quick] [--no-keep-alive] [--in-flight K]\n"
                   "       [--paths receive|send|both] [--push-per-call] [--max-dual-bytes N]\n"
                   "       [--same-attachment]\n"
                   "Each path runs until S seconds or its N envelopes are used up, whichever comes first.\n";
      std::exit(0);
    } else {
      die("unknown option " + a[i] + " (see --help)");
    }
  }
  if (o.concurrency == 0 || o.docs == 0 || o.seconds <= 0) die("--docs, --concurrency and --seconds must be > 0");
  if (o.transport != "sim" && o.transport != "noop") die("--transport is sim or noop");
  if (o.store != "sqlite" && o.store != "postgresql") die("--store is sqlite or postgresql");
  if (o.paths != "both" && o.paths != "receive" && o.paths != "send") die("--paths is receive, send or both");
  return o;
}

// ------------------------------------------------------------------ stats

struct Summary {
  size_t n = 0;
  size_t errors = 0;
  double wall_s = 0;
  double rate = 0;  // per second, over the wall time
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
};

Summary summarize(std::vector<double> lat_ms, size_t errors, double wall_s) {
  Summary s;
  s.n = lat_ms.size();
  s.errors = errors;
  s.wall_s = wall_s;
  s.rate = wall_s > 0 ? static_cast<double>(s.n) / wall_s : 0;
  if (lat_ms.empty()) return s;
  std::sort(lat_ms.begin(), lat_ms.end());
  auto pct = [&](double p) {
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(lat_ms.size())));
    return lat_ms[std::min(lat_ms.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  s.p50_ms = pct(50);
  s.p95_ms = pct(95);
  s.p99_ms = pct(99);
  s.max_ms = lat_ms.back();
  double sum = 0;
  for (double v : lat_ms) sum += v;
  s.mean_ms = sum / static_cast<double>(lat_ms.size());
  return s;
}

// Runs `op(thread)` from `threads` threads for `seconds`; returns ops/s.
template <typename Op>
double rate_for(unsigned threads, double seconds, Op op) {
  std::atomic<bool> stop{false};
  std::atomic<size_t> total{0};
  std::vector<std::thread> ts;
  const auto t0 = Clock::now();
  for (unsigned t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      size_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (!op(t)) die("a baseline operation failed");
        ++n;
      }
      total += n;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  return static_cast<double>(total.load()) / seconds_since(t0);
}

// The disk floor: a 4 KB append + fdatasync in `dir` (where the store's
// database and blobs are), per second. Every stored document costs several.
double fsync_rate(const std::string& dir, unsigned threads, double seconds) {
  std::vector<int> fds;
  for (unsigned t = 0; t < threads; ++t) {
    const std::string path = dir + "/fsync-probe-" + std::to_string(t);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) die("cannot create " + path);
    fds.push_back(fd);
  }
  const std::string block(4096, 'f');
  // Appends, as the WAL and new blob files grow: each sync also commits the size.
  double r = rate_for(threads, seconds, [&](unsigned t) {
    return ::write(fds[t], block.data(), block.size()) == static_cast<ssize_t>(block.size()) &&
           ::fdatasync(fds[t]) == 0;
  });
  for (unsigned t = 0; t < threads; ++t) {
    ::close(fds[t]);
    ::unlink((dir + "/fsync-probe-" + std::to_string(t)).c_str());
  }
  return r;
}

// ------------------------------------------------------------------ software signer

// The sending peer's key (it is not on our token) and the software baseline.
class SoftwareSigner final : public crypto::Signer {
 public:
  explicit SoftwareSigner(const std::string& pem) {
    FILE* f = std::fopen(pem.c_str(), "r");
    if (!f) die("cannot read " + pem);
    key_.reset(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!key_) die("cannot parse " + pem);
  }

  Result<std::vector<uint8_t>> sign(std::span<const uint8_t> data, crypto::SignatureAlgorithm alg) override {
    if (alg != crypto::SignatureAlgorithm::rsa_sha256)
      return make_error(ErrorKind::invalid, "sign.algorithm", "rsa-sha256 only");
    std::vector<uint8_t> sig(512);
    size_t len = sig.size();
    ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    const bool ok = ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
                    EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) == 1;
    if (!ok) return make_error(ErrorKind::internal, "sign.failed", "EVP_DigestSign failed");
    sig.resize(len);
    return sig;
  }

 private:
  ossl::EvpPkeyPtr key_;
};

// ------------------------------------------------------------------ transports

class NoopTransport final : public workflow::AxisTransport {
 public:
  Result<std::string> send_envelope(const std::string&, const std::vector<std::string>&,
                                    workflow::AxisMessageType) override {
    return std::to_string(++n_);
  }
  Result<std::string> send_status(const std::string&, const std::vector<std::string>&) override {
    return std::to_string(++n_);
  }
  Result<std::vector<workflow::AxisReceivedItem>> list_received(const workflow::AxisListQuery&) override {
    return std::vector<workflow::AxisReceivedItem>{};
  }
  Status get(const std::string&, const std::string&) override {
    return make_error(ErrorKind::invalid, "axis.refused", "noop");
  }
  Status update_status(const std::string&, workflow::AxisItemStatus) override { return {}; }

 private:
  std::atomic<uint64_t> n_{0};
};

// ------------------------------------------------------------------ envelopes

bj::value header_json(const std::string& from, const std::string& to, size_t number) {
  bj::object m;
  m["from"] = bj::object{{"organ_id", from}, {"organ_name", "Bench sender"}};
  m["to"] = bj::array{bj::object{{"organ_id", to}, {"organ_name", "Bench recipient"}}};
  m["code"] = std::to_string(number) + "/LOAD-BENCH";
  m["promulgation_date"] = "2026/11/23";
  m["subject"] = "Load benchmark document " + std::to_string(number);
  return bj::object{{"message", m}};
}

std::string random_file(const std::string& path, size_t bytes, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(bytes, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  testing::write_text(path, s);
  return path;
}

std::string dump(xmlDoc* doc) {
  xmlChar* mem = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
  std::string out(reinterpret_cast<const char*>(mem), static_cast<size_t>(size));
  xmlFree(mem);
  return out;
}

struct Incoming {
  std::string bytes;
  std::string hash_file;  // VDXP hash-file of the bytes
};

// A signed envelope from kPeer to kUs, number `n`, with one attachment.
Incoming make_incoming(size_t n, const std::string& attachment, crypto::Signer& signer, const crypto::Certificate& cert,
                       const crypto::Verifier& verifier) {
  auto env = must(edxml::envelope_from_json(header_json(kPeer, kUs, n)), "header");
  must(edxml::complete_for_pack(env, {attachment}, {"phuluc.pdf"}), "complete_for_pack");
  std::string xml = must(edxml::write_envelope_string(env, {}), "write envelope");
  edxml::Limits limits;
  auto doc = must(edxml::parse_xml(xml, limits), "parse envelope");
  crypto::SignOptions so;
  auto signed_doc = must(crypto::sign(std::move(doc), signer, cert, {}, so, verifier), "sign incoming");
  Incoming in;
  in.bytes = dump(signed_doc.get());
  in.hash_file = gateway::vdxp::hash_bytes_hex(in.bytes);
  return in;
}

// ------------------------------------------------------------------ the world

struct World {
  Options opt;
  testing::TempDir dir;
  std::unique_ptr<testing::SoftHsmToken> token;
  std::unique_ptr<testing::TestPki> tls;
  std::string sign_ca, peer_cert, peer_key, our_cert;
  std::shared_ptr<hsm::Module> module;
  std::shared_ptr<const crypto::Verifier> verifier;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<workflow::KeyProvider> keys;
  std::unique_ptr<workflow::AxisTransport> axis;
  // Per round (store): the engines' registries (metric names repeat).
  std::vector<std::unique_ptr<MetricsRegistry>> registries;
  std::unique_ptr<workflow::Engine> engine;          // send path (and the receive sink when statuses are signed)
  std::unique_ptr<workflow::Engine> org_engine;      // send path in organization mode
  std::unique_ptr<workflow::Engine> receive_engine;  // the receive sink without a key (--status-unsigned)
  std::unique_ptr<gateway::EngineSink> sink;
  std::unique_ptr<gateway::PushEndpoint> push;
  std::unique_ptr<gateway::Server> push_server;
  std::shared_ptr<const SecretString> secret = std::make_shared<SecretString>("bench-secret-US");
  pid_t sim_pid = -1;
  std::string sim_port;
  std::string transport_used;
  std::string pg_dir;  // the throwaway PostgreSQL server (--store postgresql)

  explicit World(Options o) : opt(std::move(o)) {}
  ~World() {
    if (push_server) push_server->stop(std::chrono::seconds(1));
    push_server.reset();
    push.reset();
    receive_engine.reset();
    org_engine.reset();
    engine.reset();
    store.reset();
    if (!pg_dir.empty()) store::testing::stop_pg_server(pg_dir);
    if (sim_pid > 0) {
      ::kill(sim_pid, SIGTERM);
      int st = 0;
      ::waitpid(sim_pid, &st, 0);
    }
  }

  void setup_pki() {
    tls = std::make_unique<testing::TestPki>(dir.path());
    tls->client("axis", "/C=VN/O=Truc lien thong/CN=axis");
    // The signing CA (RSA) and the peer's signing certificate.
    sign_ca = dir / "sign-ca.pem";
    sh("openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/C=VN/O=edxgate bench/CN=Bench Signing CA'"
       " -keyout " +
       (dir / "sign-ca.key") + " -out " + sign_ca +
       " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    testing::write_text(dir / "leaf.ext",
                        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n");
    peer_key = dir / "peer.key";
    peer_cert = dir / "peer.pem";
    sh("openssl req -new -newkey rsa:2048 -nodes -subj '/C=VN/O=Bench peer/CN=Peer Signer' -keyout " + peer_key +
       " -out " + (dir / "peer.csr"));
    sh("openssl x509 -req -in " + (dir / "peer.csr") + " -CA " + sign_ca + " -CAkey " + (dir / "sign-ca.key") +
       " -CAcreateserial -days 30 -extfile " + (dir / "leaf.ext") + " -out " + peer_cert);
    crypto::TrustStore trust;
    must(trust.add_anchor_file(sign_ca), "trust anchor");
    crypto::VerifyPolicy policy;
    policy.chain.revocation = crypto::RevocationMode::off;
    if (opt.max_dual_bytes >= 0) policy.max_dual_bytes = static_cast<uint64_t>(opt.max_dual_bytes);
    verifier = std::make_shared<crypto::Verifier>(std::move(trust), policy);
  }

  // An RSA-2048 key generated on a fresh SoftHSM2 token; its certificate from
  // the signing CA through the token's own CSR.
  void setup_token() {
    token = std::make_unique<testing::SoftHsmToken>("edxgate-bench");
    module = must(hsm::Module::load(testing::SoftHsmToken::module()), "load SoftHSM2");
    auto session = must(hsm::TokenSession::open(module, hsm::Pkcs11Uri{}), "open token");
    must(session.login(SecretString(token->pin())), "login");
    auto spec = must(hsm::KeySpec::parse("rsa:2048"), "key spec");
    must(session.generate_key(spec, "signing", {0x01}), "generate key");
    hsm::Pkcs11Uri key;
    key.object = "signing";
    std::string csr = must(session.make_csr(key, "/C=VN/O=Bench gateway/CN=Gateway Signer"), "csr");
    testing::write_text(dir / "ours.csr", csr);
    our_cert = dir / "ours.pem";
    sh("openssl x509 -req -in " + (dir / "ours.csr") + " -CA " + sign_ca + " -CAkey " + (dir / "sign-ca.key") +
       " -CAcreateserial -days 30 -extfile " + (dir / "leaf.ext") + " -out " + our_cert);
    must(session.import_certificate(key, testing::read_text(our_cert)), "import certificate");
    config::Hsm h;
    h.module = testing::SoftHsmToken::module();
    h.key_uri = "pkcs11:token=edxgate-bench;object=signing;type=private";
    h.cert = our_cert;
    h.pin_file = token->pin_file();  // an unattended key, as a gateway that signs status messages has
    keys = must(workflow::make_hsm_key_provider(h, nullptr), "key provider");
  }

  // A fresh store on `backend` (state in dir/<sub>), its engines and the push
  // endpoint over them; what a previous round used is stopped first.
  void setup_store_and_engines(store::Backend backend, const std::string& sub) {
    if (push_server) push_server->stop(std::chrono::seconds(1));
    push_server.reset();
    push.reset();
    receive_engine.reset();
    org_engine.reset();
    engine.reset();
    store.reset();
    store::StoreOptions so;
    so.state_dir = dir / sub;
    so.max_blob_bytes = 64ull << 20;
    if (backend == store::Backend::postgresql) {
      if (pg_dir.empty()) {
        std::string error;
        pg_dir = store::testing::start_pg_server(error, /*durable=*/true);
        if (pg_dir.empty()) die("PostgreSQL: " + error);
        PGconn* c = PQconnectdb(("host=" + pg_dir + " port=5432 user=postgres dbname=postgres").c_str());
        PGresult* r = PQexec(c, "CREATE DATABASE bench ENCODING 'UTF8' TEMPLATE template0");
        const bool created = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        PQfinish(c);
        if (!created) die("cannot create the bench database");
      }
      so.backend = backend;
      so.dsn = "host=" + pg_dir + " port=5432 user=postgres dbname=bench";
      so.application_name = "gateway_load_bench";
    }
    so.backoff.base_ms = 1000;
    so.backoff.min_delay_ms = 1000;
    store = must(store::open_store(so), "open store");
    workflow::EngineOptions eo;
    eo.organ_id = kUs;
    eo.organ_name = "Bench gateway";
    eo.work_dir = dir / (sub + "/work");
    eo.worker = "load-bench";
    eo.outbox_in_flight = opt.in_flight;
    registries.push_back(std::make_unique<MetricsRegistry>());
    engine = std::make_unique<workflow::Engine>(eo, *store, verifier, keys.get(), axis.get(), *registries.back());
    {
      workflow::EngineOptions org = eo;
      org.signing = workflow::SigningMode::organization;
      registries.push_back(std::make_unique<MetricsRegistry>());
      org_engine =
          std::make_unique<workflow::Engine>(org, *store, verifier, keys.get(), axis.get(), *registries.back());
    }
    if (opt.status_unsigned) {
      registries.push_back(std::make_unique<MetricsRegistry>());
      receive_engine =
          std::make_unique<workflow::Engine>(eo, *store, verifier, nullptr, axis.get(), *registries.back());
    }
    setup_push_endpoint();
  }

  void setup_push_endpoint() {
    std::filesystem::create_directories(dir / "spool");
    gateway::PushEndpointOptions po;
    po.system_id = kUsSystem;
    po.secret = secret;
    po.spool_dir = dir / "spool";
    po.max_envelope_bytes = 64ull << 20;
    sink = std::make_unique<gateway::EngineSink>(receive_engine ? *receive_engine : *engine);
    push = std::make_unique<gateway::PushEndpoint>(po, *sink);
    auto router = std::make_shared<gateway::Router>();
    push->add_routes(*router);
    gateway::ListenerOptions lo;  // as the daemon's TLS listeners (daemon.cc listener())
    lo.name = "axis";
    lo.listen = "127.0.0.1:0";
    lo.tls_cert = tls->cert("server");
    lo.tls_key = tls->key("server");
    lo.client_ca = tls->cert("ca");
    lo.spool_dir = dir / "spool";
    lo.io_threads = 2;
    lo.worker_threads = 4;
    lo.limits.max_body_bytes = 64ull << 20;
    config::Client axis_client;
    axis_client.name = "axis";
    axis_client.role = config::Role::axis;
    axis_client.fingerprint = tls->fingerprint("axis");
    lo.clients = {axis_client};
    push_server = must(gateway::Server::start(lo, router, nullptr), "start the push endpoint");
  }

  void setup_transport() {
    if (opt.transport == "noop") {
      axis = std::make_unique<NoopTransport>();
      transport_used = "noop (in-process)";
      return;
    }
    const std::string exe = std::string(EDXGATE_BINARY_DIR) + "/bin/edxgate-axis-sim";
    if (::access(exe.c_str(), X_OK) != 0) die(exe + " is not built; build edxgate-axis-sim or use --transport noop");
    testing::write_text(dir / "us.secret", std::string(secret->view()) + "\n");
    testing::write_text(dir / "g07.secret", "bench-secret-G07\n");
    testing::write_text(dir / "h41.secret", "bench-secret-H41\n");
    std::filesystem::create_directories(dir / "sim");
    const std::string port_file = dir / "sim.port";
    const std::string log_file = dir / "sim.log";
    sim_pid = ::fork();
    if (sim_pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the bench
      FILE* lf = std::fopen(log_file.c_str(), "w");
      if (lf) ::dup2(::fileno(lf), 2);
      const std::string us = std::string("id=") + kUsSystem + ",organ=" + kUs + ",secret-file=" + (dir / "us.secret");
      const std::string g07 =
          std::string("id=") + kRecipientSystem + ",organ=" + kRecipient + ",secret-file=" + (dir / "g07.secret");
      // Without the peer at the sim, each 01 to it would be refused and retried.
      const std::string h41 =
          std::string("id=") + kPeerSystem + ",organ=" + kPeer + ",secret-file=" + (dir / "h41.secret");
      const std::string data = dir / "sim";
      const std::string cert = tls->cert("server"), key = tls->key("server");
      ::execl(exe.c_str(), exe.c_str(), "--tls-cert", cert.c_str(), "--tls-key", key.c_str(), "--data", data.c_str(),
              "--port-file", port_file.c_str(), "--system", us.c_str(), "--system", g07.c_str(), "--system",
              h41.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    g_sim_pid = sim_pid;
    for (int i = 0; i < 300 && sim_port.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string p = testing::read_text(port_file);
      if (!p.empty() && p.back() == '\n') sim_port = p.substr(0, p.size() - 1);
    }
    if (sim_port.empty()) die("edxgate-axis-sim did not start; see " + log_file + " (or use --transport noop)");
    gateway::VdxpOptions vo;
    vo.endpoint = "https://127.0.0.1:" + sim_port;
    vo.organ_id = kUs;
    vo.system_id = kUsSystem;
    vo.secret = secret;
    vo.client.ca_file = tls->cert("ca");
    vo.client.timeout = std::chrono::seconds(30);
    vo.client.keep_alive = opt.keep_alive;
    vo.spool_dir = dir / "spool";
    axis = must(gateway::make_vdxp_transport(vo), "VDXP transport");
    transport_used = "edxgate-axis-sim over loopback HTTPS (VDXP)";
  }
};

// ------------------------------------------------------------------ receive path

struct ReceiveResult {
  Summary load;
  size_t envelope_bytes = 0;
  double verify_1t = 0, verify_ct = 0;  // raw Verifier::verify per second
  double parse_verify_1t = 0;           // hardened parse + verify per second
  double answers_drained_s = 0;         // after the last delivery, until every 01 was queued
  store::WriteStats writes;             // the store's write transactions and commits during the load
  store::BlobSyncStats blob_syncs;      // the blob directory's syncs during the load
  double cpu_ms_per_env = 0;            // this process (client, server, engine) + the simulator, per delivery
  double sim_cpu_ms_per_env = 0;        // of which the simulator
  double verify_cpu_ms = 0;             // Verifier::verify's CPU per envelope (1 thread)
};

ReceiveResult run_receive(World& w, size_t count, size_t attachment_bytes, unsigned seed_base) {
  const Options& o = w.opt;
  ReceiveResult r;
  const std::string attachment =
      random_file(w.dir / ("in-attachment-" + std::to_string(seed_base)), attachment_bytes, seed_base);
  SoftwareSigner peer(w.peer_key);
  auto peer_cert = must(crypto::Certificate::load_file(w.peer_cert), "peer certificate").front();
  std::vector<Incoming> pool;
  pool.reserve(count + 1);
  // Each document's attachment is its own file, as real documents' are (its
  // first bytes are the document's number), unless --same-attachment: then
  // the store keeps one blob for all of them and replaces it each time.
  std::string content = testing::read_text(attachment);
  for (size_t i = 0; i <= count; ++i) {
    if (!o.same_attachment && attachment_bytes >= sizeof(size_t)) {
      std::memcpy(content.data(), &i, sizeof i);
      testing::write_text(attachment, content);
    }
    pool.push_back(make_incoming(seed_base + i, attachment, peer, peer_cert, *w.verifier));
  }
  r.envelope_bytes = pool.front().bytes.size();

  // The floor, in this run: Verifier::verify of the same envelope, pre-parsed.
  edxml::Limits limits;
  const double base_s = std::max(0.3, o.seconds / 2);
  {
    std::vector<edxml::XmlDocPtr> docs;
    for (unsigned t = 0; t < o.concurrency; ++t) docs.push_back(must(edxml::parse_xml(pool[0].bytes, limits), "parse"));
    const double cpu0 = cpu_ms();
    r.verify_1t = rate_for(1, base_s, [&](unsigned t) { return w.verifier->verify(docs[t].get()).valid; });
    r.verify_cpu_ms = r.verify_1t > 0 ? (cpu_ms() - cpu0) / (r.verify_1t * base_s) : 0;
    r.verify_ct = rate_for(o.concurrency, base_s, [&](unsigned t) { return w.verifier->verify(docs[t].get()).valid; });
    r.parse_verify_1t = rate_for(1, base_s, [&](unsigned) {
      auto d = edxml::parse_xml(pool[0].bytes, limits);
      return d.ok() && w.verifier->verify(d->get()).valid;
    });
  }

  testing::TestPki& pki = *w.tls;
  gateway::ClientOptions co;
  co.ca_file = pki.cert("ca");
  co.client_cert = pki.cert("axis");
  co.client_key = pki.key("axis");
  co.timeout = std::chrono::seconds(60);
  // As the SDK's pooled client: connections kept alive (and TLS sessions
  // resumed) unless --push-per-call asks for a full handshake per delivery.
  co.keep_alive = o.push_keep_alive;
  auto client = must(gateway::HttpsClient::create("https://127.0.0.1:" + std::to_string(w.push_server->port()), co),
                     "push client");
  auto deliver = [&](const Incoming& in) -> bool {
    auto headers = gateway::vdxp::sign(
        {{"from", kPeer}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}, {"hash-file", in.hash_file}},
        gateway::vdxp::kContentTypeFile, kUsSystem, *w.secret, gateway::vdxp::Clock::now());
    if (!headers.ok()) return false;
    gateway::ClientRequest req;
    req.path = "/vdxp/sendEdoc";
    req.body = in.bytes + std::string(gateway::vdxp::kFileTrailer);  // as the SDK sends it
    req.content_type = std::string(gateway::vdxp::kContentTypeFile);
    for (auto& h : *headers) req.headers.emplace_back(h.name, h.value);
    auto resp = client.send(req);
    if (!resp.ok() || resp->status != 200) {
      static std::once_flag once;
      std::call_once(once, [&] {
        std::cerr << "receive: first failure: "
                  << (resp.ok() ? "HTTP " + std::to_string(resp->status) + " " + resp->body : resp.error().message)
                  << "\n";
      });
      return false;
    }
    return true;
  };
  if (!deliver(pool.back())) die("the warm-up delivery failed");  // not timed

  workflow::Engine& sink_engine = w.receive_engine ? *w.receive_engine : *w.engine;
  auto drain = [&] {
    const auto give_up = Clock::now() + std::chrono::seconds(120);
    while (sink_engine.answers_pending() > 0 && Clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  drain();  // the warm-up's answer
  const store::WriteStats writes0 = store::write_stats(*w.store);
  const store::BlobSyncStats blobs0 = w.store->blobs().sync_stats();
  std::cerr << "  timed deliveries ...\n";
  const double sim_cpu0 = w.sim_pid > 0 ? cpu_ms(w.sim_pid) : 0;
  const double cpu0 = cpu_ms() + sim_cpu0;
  std::atomic<size_t> next{0};
  std::atomic<size_t> errors{0};
  std::vector<std::vector<double>> lat(o.concurrency);
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration<double>(o.seconds);
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < o.concurrency; ++t) {
    ts.emplace_back([&, t] {
      while (Clock::now() < deadline) {
        size_t i = next++;
        if (i >= count) break;
        auto a = Clock::now();
        bool ok = deliver(pool[i]);
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - a).count();
        if (ok)
          lat[t].push_back(ms);
        else
          ++errors;
      }
    });
  }
  for (auto& t : ts) t.join();
  const double wall = seconds_since(t0);
  const store::WriteStats writes1 = store::write_stats(*w.store);
  r.writes = {writes1.writes - writes0.writes, writes1.commits - writes0.commits};
  const store::BlobSyncStats blobs1 = w.store->blobs().sync_stats();
  const double sim_cpu1 = w.sim_pid > 0 ? cpu_ms(w.sim_pid) : 0;
  const double cpu1 = cpu_ms() + sim_cpu1;
  r.blob_syncs = {blobs1.content_syncs - blobs0.content_syncs, blobs1.name_syncs_asked - blobs0.name_syncs_asked,
                  blobs1.name_syncs_done - blobs0.name_syncs_done};
  const auto t1 = Clock::now();
  drain();
  r.answers_drained_s = seconds_since(t1);
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  r.load = summarize(std::move(all), errors, wall);
  if (r.load.n) {
    r.cpu_ms_per_env = (cpu1 - cpu0) / static_cast<double>(r.load.n);
    r.sim_cpu_ms_per_env = (sim_cpu1 - sim_cpu0) / static_cast<double>(r.load.n);
  }
  return r;
}

// ------------------------------------------------------------------ send path

struct SendResult {
  Summary load;
  double submit_ms = 0, sign_ms = 0, outbox_ms = 0;  // mean per phase (organization: the signature is in submit)
  double token_1t = 0, token_ct_shared = 0, token_ct_sessions = 0;
  double soft_1t = 0, soft_ct = 0;
};

// The token and software signing floors, measured once per round.
void measure_sign_floors(World& w, SendResult& r) {
  const Options& o = w.opt;
  const double base_s = std::max(0.3, o.seconds / 2);

  // Floors: the same token key through TokenSigner (one shared by C threads,
  // as the engine's kept unattended key is; and one per thread), and the
  // software RSA-2048 rate, on SignedInfo-sized data.
  const std::string data(600, 'x');
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  auto key_uri = must(hsm::Pkcs11Uri::parse("pkcs11:token=edxgate-bench;object=signing;type=private"), "uri");
  {
    auto shared = must(hsm::TokenSigner::open(w.module, key_uri, SecretString(w.token->pin())), "TokenSigner");
    auto sign_once = [&](crypto::Signer& s) { return s.sign(bytes, crypto::SignatureAlgorithm::rsa_sha256).ok(); };
    r.token_1t = rate_for(1, base_s, [&](unsigned) { return sign_once(*shared); });
    r.token_ct_shared = rate_for(o.concurrency, base_s, [&](unsigned) { return sign_once(*shared); });
    std::vector<std::unique_ptr<hsm::TokenSigner>> own;
    for (unsigned t = 0; t < o.concurrency; ++t)
      own.push_back(must(hsm::TokenSigner::open(w.module, key_uri, SecretString(w.token->pin())), "TokenSigner"));
    r.token_ct_sessions = rate_for(o.concurrency, base_s, [&](unsigned t) { return sign_once(*own[t]); });
    SoftwareSigner soft(w.peer_key);
    r.soft_1t = rate_for(1, base_s, [&](unsigned) { return sign_once(soft); });
    r.soft_ct = rate_for(o.concurrency, base_s, [&](unsigned) { return sign_once(soft); });
  }
}

// The send path in `mode`: personal (submit, then sign with the PIN) or
// organization (submit signs with the agency's kept key). Numbers of this
// run's documents start at `first`.
SendResult run_send(World& w, workflow::SigningMode mode, size_t first) {
  const Options& o = w.opt;
  SendResult r;
  const bool organization = mode == workflow::SigningMode::organization;
  workflow::Engine& engine = organization ? *w.org_engine : *w.engine;
  const std::string attachment = random_file(w.dir / "out-attachment", o.attachment_kb * 1024, 7);
  const std::string spool = w.dir / "submit-spool";
  std::filesystem::create_directories(spool);
  std::atomic<size_t> seq{first};
  std::atomic<size_t> errors{0};
  std::mutex phase_mu;
  double submit_total = 0, sign_total = 0, outbox_total = 0;

  // One document: submit -> sign -> outbox until it is sent. Returns ms or -1.
  auto one = [&](size_t n, double* ph) -> double {
    const std::string file = spool + "/doc-" + std::to_string(n);
    std::filesystem::copy_file(attachment, file, std::filesystem::copy_options::overwrite_existing);
    workflow::Submission sub;
    sub.header = header_json(kUs, kRecipient, 100000 + n);
    sub.files = {file};
    sub.names = {"congvan.pdf"};
    sub.submitter = "bench";
    sub.allowed_senders = {kUs};
    sub.idempotency_key = "load-" + std::to_string(n);  // n is unique across both modes
    const auto a = Clock::now();
    auto submitted = engine.submit(std::move(sub));
    const auto b = Clock::now();
    if (!submitted.ok()) {
      std::cerr << "send: submit failed: " << submitted.error().message << "\n";
      return -1;
    }
    if (!organization) {
      const SecretString pin(w.token->pin());  // a personal signature needs its PIN (issue 13)
      auto signed_state = engine.sign(submitted->id, "", &pin, "bench");
      if (!signed_state.ok()) {
        std::cerr << "send: sign failed: " << signed_state.error().message << "\n";
        return -1;
      }
    } else if (submitted->state == store::State::pending_signature) {
      std::cerr << "send: organization mode left document " << submitted->id << " unsigned\n";
      return -1;
    }
    const auto c = Clock::now();
    // The outbox, run here: another thread's pass may have taken this item.
    const auto give_up = c + std::chrono::seconds(60);
    for (;;) {
      auto sent = engine.run_outbox_once();
      if (!sent.ok()) return -1;
      auto doc = w.store->get_document(submitted->id);
      if (!doc.ok()) return -1;
      if (doc->state == store::State::sent) break;
      if (Clock::now() > give_up) {
        std::cerr << "send: document " << submitted->id << " not sent within 60 s\n";
        return -1;
      }
      if (*sent == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    const auto d = Clock::now();
    using ms = std::chrono::duration<double, std::milli>;
    ph[0] = ms(b - a).count();
    ph[1] = ms(c - b).count();
    ph[2] = ms(d - c).count();
    return ms(d - a).count();
  };
  double warm[3];
  if (one(seq++, warm) < 0) die("the warm-up document failed");  // not timed

  std::vector<std::vector<double>> lat(o.concurrency);
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration<double>(o.seconds);
  std::atomic<size_t> started{0};
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < o.concurrency; ++t) {
    ts.emplace_back([&, t] {
      double local[3] = {0, 0, 0};
      while (Clock::now() < deadline && started++ < o.docs) {
        double ph[3];
        double ms = one(seq++, ph);
        if (ms < 0) {
          ++errors;
          continue;
        }
        lat[t].push_back(ms);
        for (int k = 0; k < 3; ++k) local[k] += ph[k];
      }
      std::lock_guard lock(phase_mu);
      submit_total += local[0];
      sign_total += local[1];
      outbox_total += local[2];
    });
  }
  for (auto& t : ts) t.join();
  const double wall = seconds_since(t0);
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  r.load = summarize(std::move(all), errors, wall);
  if (r.load.n) {
    r.submit_ms = submit_total / static_cast<double>(r.load.n);
    r.sign_ms = sign_total / static_cast<double>(r.load.n);
    r.outbox_ms = outbox_total / static_cast<double>(r.load.n);
  }
  return r;
}

// ------------------------------------------------------------------ report

void print_load(const std::string& name, const Summary& s) {
  std::printf("%-26s %7zu %5zu %9.1f %8.1f %8.1f %8.1f %8.1f\n", name.c_str(), s.n, s.errors, s.rate, s.p50_ms,
              s.p95_ms, s.p99_ms, s.max_ms);
}

bj::object summary_json(const Summary& s) {
  return bj::object{{"n", s.n},           {"errors", s.errors}, {"wall_s", s.wall_s},
                    {"per_s", s.rate},    {"p50_ms", s.p50_ms}, {"p95_ms", s.p95_ms},
                    {"p99_ms", s.p99_ms}, {"max_ms", s.max_ms}, {"mean_ms", s.mean_ms}};
}

}  // namespace

// One round on the store `w` holds: the disk floor, both paths, the table and
// the JSON line. Returns whether anything failed; `rates` gets the send and
// receive env/s.
bool run_round(World& w, const std::string& sub, const std::string& backend, std::pair<double, double>& rates) {
  const Options& opt = w.opt;

  std::cerr << "[" << backend << "] disk floor ...\n";
  const double fsync_1t = fsync_rate(w.dir / sub, 1, std::max(0.3, opt.seconds / 2));
  const double fsync_ct = fsync_rate(w.dir / sub, opt.concurrency, std::max(0.3, opt.seconds / 2));
  // Send first: each received envelope queues a status 01 in the outbox, which
  // the send path's outbox passes would otherwise also deliver.
  std::cerr << "send path ...\n";
  const bool do_send = opt.paths != "receive", do_receive = opt.paths != "send";
  SendResult floors, send, org;
  measure_sign_floors(w, floors);
  if (do_send) {
    send = run_send(w, workflow::SigningMode::personal, 0);
    std::cerr << "send path, organization mode ...\n";
    org = run_send(w, workflow::SigningMode::organization, 1'000'000);
  }
  for (SendResult* s : {&send, &org}) {
    s->token_1t = floors.token_1t;
    s->token_ct_shared = floors.token_ct_shared;
    s->token_ct_sessions = floors.token_ct_sessions;
    s->soft_1t = floors.soft_1t;
    s->soft_ct = floors.soft_ct;
  }
  // The receiving engine runs as in the daemon: the 01s are signed and
  // queued by its answer thread and sent by its outbox thread, off the
  // request path.
  workflow::Engine& sink_engine = w.receive_engine ? *w.receive_engine : *w.engine;
  sink_engine.start();
  ReceiveResult small, large;
  if (do_receive) {
    std::cerr << "receive path, " << opt.attachment_kb << " KB ...\n";
    small = run_receive(w, opt.docs, opt.attachment_kb * 1024, 1);
  }
  if (do_receive && opt.large_docs > 0) {
    std::cerr << "receive path, " << opt.large_kb << " KB ...\n";
    large = run_receive(w, opt.large_docs, opt.large_kb * 1024, 1'000'000);
  }
  sink_engine.stop();

  // Sanity: what the store holds (a quarantined envelope would be a bench bug).
  uint64_t verified = 0, quarantined = 0, sent = 0;
  auto stats = must(w.store->stats(), "store stats");
  for (const auto& c : stats.documents) {
    if (c.state == store::State::verified) verified += c.count;
    if (c.state == store::State::quarantined) quarantined += c.count;
    if (c.state == store::State::sent) sent += c.count;
  }
  const long sim_hwm = w.sim_pid > 0 ? vm_hwm_kb(w.sim_pid) : -1;
  const long hwm = vm_hwm_kb();

  const unsigned C = opt.concurrency;
  std::printf(
      "\ngateway load bench (store: %s): C=%u, <=%.1f s and <=%zu docs per path, RSA-2048 (SoftHSM2 token), "
      "transport: %s (%s, outbox in flight %zu), status 01: %s\n",
      backend.c_str(), C, opt.seconds, opt.docs, w.transport_used.c_str(),
      opt.keep_alive ? "kept-alive connections" : "a connection per call", opt.in_flight,
      opt.status_unsigned ? "unsigned" : "signed on the token");
  std::printf("%-26s %7s %5s %9s %8s %8s %8s %8s\n", "path", "n", "err", "env/s", "p50 ms", "p95 ms", "p99 ms",
              "max ms");
  print_load("receive " + std::to_string(opt.attachment_kb) + " KB", small.load);
  if (opt.large_docs > 0) print_load("receive " + std::to_string(opt.large_kb) + " KB", large.load);
  print_load("send " + std::to_string(opt.attachment_kb) + " KB personal", send.load);
  print_load("send " + std::to_string(opt.attachment_kb) + " KB organization", org.load);
  std::printf("\nfloors measured in this run (ops/s)            1 thread   %u threads\n", C);
  std::printf("  Verifier::verify, %6zu B envelope          %9.1f  %9.1f\n", small.envelope_bytes, small.verify_1t,
              small.verify_ct);
  if (opt.large_docs > 0)
    std::printf("  Verifier::verify, %6zu KB envelope         %9.1f  %9.1f\n", large.envelope_bytes / 1024,
                large.verify_1t, large.verify_ct);
  std::printf("  TokenSigner::sign (one shared signer)       %9.1f  %9.1f\n", send.token_1t, send.token_ct_shared);
  std::printf("  TokenSigner::sign (one session per thread)  %9s  %9.1f\n", "", send.token_ct_sessions);
  std::printf("  software RSA-2048 EVP_DigestSign            %9.1f  %9.1f\n", send.soft_1t, send.soft_ct);
  std::printf("  4 KB append + fdatasync in the state dir    %9.1f  %9.1f\n", fsync_1t, fsync_ct);
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf("\nratios (path env/s / floor ops/s at %u threads)\n", C);
  std::printf("  receive %zu KB / verify:          %.3f  (parse+verify 1 thread: %.1f/s)\n", opt.attachment_kb,
              ratio(small.load.rate, small.verify_ct), small.parse_verify_1t);
  if (opt.large_docs > 0)
    std::printf("  receive %zu KB / verify:        %.3f\n", opt.large_kb, ratio(large.load.rate, large.verify_ct));
  std::printf("  send personal / TokenSigner (shared):      %.3f\n", ratio(send.load.rate, send.token_ct_shared));
  std::printf("  send organization / TokenSigner (shared):  %.3f\n", ratio(org.load.rate, org.token_ct_shared));
  std::printf("  send personal / software RSA sign:         %.3f\n", ratio(send.load.rate, send.soft_ct));
  std::printf("  send personal phases, mean ms: submit %.1f, sign %.1f, outbox to sent %.1f\n", send.submit_ms,
              send.sign_ms, send.outbox_ms);
  std::printf("  send organization phases, mean ms: submit and sign %.1f, outbox to sent %.1f\n", org.submit_ms,
              org.outbox_ms);
  std::printf(
      "  receive %zu KB: %llu store writes in %llu commits (group commit); every 01 queued %.2f s after the "
      "last delivery\n",
      opt.attachment_kb, static_cast<unsigned long long>(small.writes.writes),
      static_cast<unsigned long long>(small.writes.commits), small.answers_drained_s);
  std::printf(
      "  receive %zu KB: CPU %.2f ms per delivery (bench process + simulator, of which the simulator %.2f), "
      "Verifier::verify %.2f ms\n",
      opt.attachment_kb, small.cpu_ms_per_env, small.sim_cpu_ms_per_env, small.verify_cpu_ms);
  std::printf("  receive %zu KB: blob content syncs %llu, directory syncs %llu for %llu asked (group sync)\n",
              opt.attachment_kb, static_cast<unsigned long long>(small.blob_syncs.content_syncs),
              static_cast<unsigned long long>(small.blob_syncs.name_syncs_done),
              static_cast<unsigned long long>(small.blob_syncs.name_syncs_asked));
  std::printf("\nstore: %llu verified, %llu quarantined, %llu sent; VmHWM bench %ld KB, sim %ld KB\n",
              static_cast<unsigned long long>(verified), static_cast<unsigned long long>(quarantined),
              static_cast<unsigned long long>(sent), hwm, sim_hwm);

  bj::object j;
  j["bench"] = "gateway_load";
  j["backend"] = backend;
  j["concurrency"] = C;
  j["axis_keep_alive"] = opt.keep_alive;
  j["outbox_in_flight"] = opt.in_flight;
  j["seconds"] = opt.seconds;
  j["transport"] = opt.transport;
  j["status_signed"] = !opt.status_unsigned;
  bj::object rs{{"attachment_bytes", opt.attachment_kb * 1024},
                {"envelope_bytes", small.envelope_bytes},
                {"load", summary_json(small.load)},
                {"verify_1t_per_s", small.verify_1t},
                {"verify_ct_per_s", small.verify_ct},
                {"parse_verify_1t_per_s", small.parse_verify_1t},
                {"ratio_vs_verify_ct", ratio(small.load.rate, small.verify_ct)},
                {"store_writes", small.writes.writes},
                {"store_commits", small.writes.commits},
                {"cpu_ms_per_env", small.cpu_ms_per_env},
                {"sim_cpu_ms_per_env", small.sim_cpu_ms_per_env},
                {"verify_cpu_ms", small.verify_cpu_ms},
                {"blob_content_syncs", small.blob_syncs.content_syncs},
                {"blob_dir_syncs_asked", small.blob_syncs.name_syncs_asked},
                {"blob_dir_syncs_done", small.blob_syncs.name_syncs_done},
                {"answers_drained_s", small.answers_drained_s}};
  j["receive_small"] = rs;
  if (opt.large_docs > 0) {
    j["receive_large"] = bj::object{
        {"attachment_bytes", opt.large_kb * 1024}, {"envelope_bytes", large.envelope_bytes},
        {"load", summary_json(large.load)},        {"verify_1t_per_s", large.verify_1t},
        {"verify_ct_per_s", large.verify_ct},      {"ratio_vs_verify_ct", ratio(large.load.rate, large.verify_ct)}};
  }
  j["send"] = bj::object{
      {"attachment_bytes", opt.attachment_kb * 1024},
      {"load", summary_json(send.load)},
      {"phase_mean_ms", bj::object{{"submit", send.submit_ms}, {"sign", send.sign_ms}, {"outbox", send.outbox_ms}}},
      {"token_sign_1t_per_s", send.token_1t},
      {"token_sign_ct_shared_per_s", send.token_ct_shared},
      {"token_sign_ct_sessions_per_s", send.token_ct_sessions},
      {"soft_rsa_sign_1t_per_s", send.soft_1t},
      {"soft_rsa_sign_ct_per_s", send.soft_ct},
      {"ratio_vs_token_ct_shared", ratio(send.load.rate, send.token_ct_shared)},
      {"ratio_vs_soft_ct", ratio(send.load.rate, send.soft_ct)}};
  // Organization mode: the agency's key signs in submit (its session kept).
  j["send_organization"] =
      bj::object{{"attachment_bytes", opt.attachment_kb * 1024},
                 {"load", summary_json(org.load)},
                 {"phase_mean_ms", bj::object{{"submit_and_sign", org.submit_ms}, {"outbox", org.outbox_ms}}},
                 {"token_sign_ct_shared_per_s", org.token_ct_shared},
                 {"ratio_vs_token_ct_shared", ratio(org.load.rate, org.token_ct_shared)},
                 {"ratio_vs_soft_ct", ratio(org.load.rate, org.soft_ct)}};
  j["fsync_1t_per_s"] = fsync_1t;
  j["fsync_ct_per_s"] = fsync_ct;
  j["store"] = bj::object{{"verified", verified}, {"quarantined", quarantined}, {"sent", sent}};
  j["vm_hwm_kb"] = hwm;
  j["sim_vm_hwm_kb"] = sim_hwm;
  std::printf("JSON %s\n", bj::serialize(j).c_str());
  std::fflush(stdout);
  rates = {org.load.rate, small.load.rate};
  return quarantined > 0 || small.load.errors || large.load.errors || send.load.errors || org.load.errors;
}

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Options opt = parse_args(argc, argv);
  log::set_level(log::Level::warn);  // one info line per request would time stderr, not the gateway
  World w(opt);
  std::cerr << "setting up (token, PKI, store, " << opt.transport << ") ...\n";
  w.setup_pki();
  w.setup_token();
  w.setup_transport();
  w.setup_store_and_engines(store::Backend::sqlite, "state");
  std::pair<double, double> sqlite_rates, pg_rates;
  bool bad = run_round(w, "state", "sqlite", sqlite_rates);
  if (opt.store == "postgresql") {
    std::cerr << "starting PostgreSQL (fsync on) ...\n";
    w.setup_store_and_engines(store::Backend::postgresql, "state-pg");
    bad = run_round(w, "state-pg", "postgresql", pg_rates) || bad;
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    std::printf(
        "\npostgresql beside sqlite (env/s, same run):  send (organization) %.1f vs %.1f (%.2fx), receive %.1f vs %.1f "
        "(%.2fx)\n",
        pg_rates.first, sqlite_rates.first, ratio(pg_rates.first, sqlite_rates.first), pg_rates.second,
        sqlite_rates.second, ratio(pg_rates.second, sqlite_rates.second));
  }
  return bad ? 1 : 0;
}
