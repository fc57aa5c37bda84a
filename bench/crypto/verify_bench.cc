// `edxgate verify` (the streaming verifier) beside `xmlsec1 --verify` and the
// floor `openssl dgst -sha256` (reading and hashing the file once), all run
// as subprocesses on the same signed envelopes (1 / 10 / 100 / 500 MB
// attachments) in the same run. Reports the best wall time and the peak RSS
// of each and the ratios edxgate / xmlsec1 and edxgate / floor (< 1 means
// edxgate is faster / smaller). Manual time = edxgate's best wall time.
//
// edxgate runs with --dual-max-bytes 0 (the streaming verifier alone); for
// envelopes under the default dual threshold (16 MiB) the default, dual mode
// (streaming + DOM verifier) is measured too. Both check the same signature
// with the same trust anchor; edxgate applies its strict policy (revocation
// off here: xmlsec1 --verify checks none).
//
// Targets (issue 15): at 100 MB, edxgate <= 0.33x xmlsec1's time and
// <= 0.25x its peak RSS; <= 64 MB peak RSS at 500 MB.
//
// BM_ReadAndVerify measures the gateway's call (verification and the edxml
// reader's attachment files in one pass) the same way.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "edxgate/crypto/verifier.h"

extern char** environ;

namespace {

const std::string kEdxgate = std::string(EDXGATE_BINARY_DIR) + "/bin/edxgate";
constexpr int kDualDefaultMb = 16;

void sh(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("failed: " + cmd);
}

struct Sample {
  double seconds = 1e9;  // best wall time
  double cpu = 1e9;      // best user + system time (all threads)
  double peak_mb = 0;    // worst
  void add(double s, double mb, double c = 0) {
    seconds = std::min(seconds, s);
    cpu = std::min(cpu, c);
    peak_mb = std::max(peak_mb, mb);
  }
};

double cpu_seconds(const rusage& ru) {
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Runs argv with stdout/stderr to /dev/null; wall time, the child's
// ru_maxrss and exit code.
int run(const std::vector<std::string>& argv, Sample& sample) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) throw std::runtime_error("spawn");
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  auto end = std::chrono::steady_clock::now();
  posix_spawn_file_actions_destroy(&fa);
  sample.add(std::chrono::duration<double>(end - start).count(), static_cast<double>(ru.ru_maxrss) / 1024.0,
             cpu_seconds(ru));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A temp dir with a root, a signer and signed envelopes, made on demand.
struct Fixture {
  std::string dir;
  std::map<int, std::string> envelopes;  // MB -> path

  Fixture() {
    char tmpl[] = "/tmp/edxgate-crypto-bench-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir = tmpl;
    std::string cnf = dir + "/x.cnf";
    std::ofstream(cnf) << "[req]\ndistinguished_name=dn\n[dn]\n[ca]\nbasicConstraints=critical,CA:TRUE\n"
                          "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
                          "authorityKeyIdentifier=keyid:always\n[leaf]\nbasicConstraints=critical,CA:FALSE\n"
                          "keyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\n"
                          "authorityKeyIdentifier=keyid\n";
    sh("cd " + dir +
       " && openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -subj /CN=bench-root "
       "-days 30 -config x.cnf -extensions ca");
    sh("cd " + dir +
       " && openssl req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=bench-signer "
       "-config x.cnf && openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -set_serial 7 -days 30 "
       "-extfile x.cnf -extensions leaf -out leaf.pem");
  }
  ~Fixture() { std::system(("rm -rf '" + dir + "'").c_str()); }

  const std::string& envelope(int mb) {
    auto it = envelopes.find(mb);
    if (it == envelopes.end()) it = envelopes.emplace(mb, make_envelope(mb)).first;
    return it->second;
  }

  // Writes an unsigned envelope with `mb` MB of attachment (base64 in 76-column
  // lines) and signs it with the xmlsec1 CLI (a neutral signer for both
  // verifiers).
  std::string make_envelope(int mb) {
    std::string path = dir + "/env-" + std::to_string(mb) + ".xml";
    std::string tmpl = path + ".tmpl";
    std::ofstream f(tmpl, std::ios::binary);
    f << R"(<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.G06</edXML:OrganId></edXML:From><edXML:To><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:To><edXML:Code><edXML:CodeNumber>12</edXML:CodeNumber><edXML:CodeNotation>BTN-VP</edXML:CodeNotation></edXML:Code><edXML:PromulgationInfo><edXML:Place>Ha Noi</edXML:Place><edXML:PromulgationDate>2025/01/02</edXML:PromulgationDate></edXML:PromulgationInfo><edXML:Subject>bench</edXML:Subject></edXML:MessageHeader><edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>000.00.00.G06</edXML:OrganId><edXML:Timestamp>2025/01/02 08:00:00</edXML:Timestamp></edXML:TraceHeader></edXML:TraceHeaderList>)"
      << R"(<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>)"
      << R"(</edXML:edXMLHeader><edXML:edXMLBody><edXML:edXMLManifest version="1.0"><edXML:Reference><edXML:ContentId>cid:1</edXML:ContentId><edXML:AttachmentName>bench.bin</edXML:AttachmentName></edXML:Reference></edXML:edXMLManifest></edXML:edXMLBody></edXML:edXMLEnvelope><edXML:AttachmentEncoded><edXML:Attachment><edXML:ContentId>1</edXML:ContentId><edXML:AttachmentName>bench.bin</edXML:AttachmentName><edXML:ContentTransferEncoded>)";
    const std::string line = std::string(76, 'Q') + "\n";  // base64 of 57 bytes, one line
    std::string block;
    for (int i = 0; i < 1024; ++i) block += line;
    const size_t total = static_cast<size_t>(mb) * 1024 * 1024 * 4 / 3;
    for (size_t written = 0; written < total; written += block.size()) f << block;
    f << "</edXML:ContentTransferEncoded></edXML:Attachment></edXML:AttachmentEncoded></edXML:edXML>\n";
    f.close();
    sh("xmlsec1 --sign --privkey-pem " + dir + "/leaf.key," + dir + "/leaf.pem --output " + path + " " + tmpl);
    std::remove(tmpl.c_str());
    return path;
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_VerifyEnvelope(benchmark::State& state) {
  const int mb = static_cast<int>(state.range(0));
  Fixture& fx = fixture();
  const std::string& env = fx.envelope(mb);
  const std::string anchor = fx.dir + "/root.pem";
  const bool dual = mb < kDualDefaultMb;
  Sample streaming, with_dom, xmlsec1, floor;
  for (auto _ : state) {
    Sample once;
    int a =
        run({kEdxgate, "verify", "--dual-max-bytes", "0", "--revocation", "off", "--trust-anchor", anchor, env}, once);
    streaming.add(once.seconds, once.peak_mb, once.cpu);
    int b = run({"/usr/bin/xmlsec1", "--verify", "--trusted-pem", anchor, env}, xmlsec1);
    int c = run({"/usr/bin/openssl", "dgst", "-sha256", env}, floor);
    int d = dual ? run({kEdxgate, "verify", "--revocation", "off", "--trust-anchor", anchor, env}, with_dom) : 0;
    if (a != 0 || b != 0 || c != 0 || d != 0) {
      state.SkipWithError("a verifier rejected the benchmark envelope");
      return;
    }
    state.SetIterationTime(once.seconds);
  }
  state.counters["edxgate_s"] = streaming.seconds;
  state.counters["edxgate_MB"] = streaming.peak_mb;
  state.counters["xmlsec1_s"] = xmlsec1.seconds;
  state.counters["xmlsec1_MB"] = xmlsec1.peak_mb;
  state.counters["floor_s"] = floor.seconds;
  state.counters["time_edxgate_over_xmlsec1"] = streaming.seconds / xmlsec1.seconds;
  state.counters["rss_edxgate_over_xmlsec1"] = streaming.peak_mb / xmlsec1.peak_mb;
  state.counters["time_edxgate_over_floor"] = streaming.seconds / floor.seconds;
  // CPU time: what a loaded machine (or many verifications at once) sees.
  state.counters["edxgate_cpu_s"] = streaming.cpu;
  state.counters["xmlsec1_cpu_s"] = xmlsec1.cpu;
  state.counters["cpu_edxgate_over_xmlsec1"] = streaming.cpu / xmlsec1.cpu;
  if (dual) {
    state.counters["dual_s"] = with_dom.seconds;
    state.counters["dual_MB"] = with_dom.peak_mb;
  }
}
BENCHMARK(BM_VerifyEnvelope)->Arg(1)->Arg(10)->Arg(100)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VerifyEnvelope)->Arg(500)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// The gateway's one call, Verifier::read_and_verify (streaming verification
// while the attachments are decoded and hashed into files), in a child
// process (for its peak RSS), beside xmlsec1 --verify alone.
void BM_ReadAndVerify(benchmark::State& state) {
  const int mb = static_cast<int>(state.range(0));
  Fixture& fx = fixture();
  const std::string& env = fx.envelope(mb);
  edxgate::crypto::TrustStore trust;
  if (!trust.add_anchor_file(fx.dir + "/root.pem").ok()) throw std::runtime_error("anchor");
  edxgate::crypto::VerifyPolicy policy;
  policy.chain.revocation = edxgate::crypto::RevocationMode::off;
  policy.max_dual_bytes = 0;
  const edxgate::crypto::Verifier verifier(trust, policy);
  Sample ours, xmlsec1;
  for (auto _ : state) {
    const std::string out = fx.dir + "/attachments";
    sh("rm -rf '" + out + "' && mkdir '" + out + "'");
    auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
      edxgate::edxml::ReadOptions ro;
      ro.attachment_dir = out;
      auto r = verifier.read_and_verify(env, ro);
      _exit(r.verification.valid && r.envelope.ok() ? 0 : 1);
    }
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ours.add(seconds, static_cast<double>(ru.ru_maxrss) / 1024.0, cpu_seconds(ru));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        run({"/usr/bin/xmlsec1", "--verify", "--trusted-pem", fx.dir + "/root.pem", env}, xmlsec1) != 0) {
      state.SkipWithError("the envelope was not read and verified");
      return;
    }
    state.SetIterationTime(seconds);
  }
  state.counters["read_and_verify_s"] = ours.seconds;
  state.counters["read_and_verify_MB"] = ours.peak_mb;
  state.counters["xmlsec1_s"] = xmlsec1.seconds;
  state.counters["time_over_xmlsec1"] = ours.seconds / xmlsec1.seconds;
  state.counters["read_and_verify_cpu_s"] = ours.cpu;
  state.counters["xmlsec1_cpu_s"] = xmlsec1.cpu;
}
BENCHMARK(BM_ReadAndVerify)->Arg(100)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
