// edxgate verify vs xmlsec1 --verify, both run as subprocesses on the same
// signed envelopes (1 / 10 / 100 MB attachments), in the same run. Reports
// wall time and peak RSS of each, and the ratios xmlsec1 / edxgate (> 1 means
// edxgate is faster / smaller). Manual time = edxgate's wall time.
//
// Both check the same signature with the same trust anchor; edxgate applies
// its strict policy (revocation off here: xmlsec1 --verify checks none).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
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

extern char** environ;

namespace {

const std::string kEdxgate = std::string(EDXGATE_BINARY_DIR) + "/bin/edxgate";

void sh(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("failed: " + cmd);
}

struct Sample {
  double seconds = 0;
  double peak_mb = 0;
  int exit_code = -1;
};

// Runs argv with stdout/stderr to /dev/null; wall time and the child's ru_maxrss.
Sample run(const std::vector<std::string>& argv) {
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
  return {std::chrono::duration<double>(end - start).count(), static_cast<double>(ru.ru_maxrss) / 1024.0,
          WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// A temp dir with a root, a signer and signed envelopes, made once.
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
    sh("cd " + dir + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -subj /CN=bench-root "
       "-days 30 -config x.cnf -extensions ca");
    sh("cd " + dir + " && openssl req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=bench-signer "
       "-config x.cnf && openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -set_serial 7 -days 30 "
       "-extfile x.cnf -extensions leaf -out leaf.pem");
    for (int mb : {1, 10, 100}) envelopes[mb] = make_envelope(mb);
  }
  ~Fixture() { std::system(("rm -rf '" + dir + "'").c_str()); }

  // Writes an unsigned envelope with `mb` MB of attachment and signs it with
  // the xmlsec1 CLI (a neutral signer for both verifiers).
  std::string make_envelope(int mb) {
    std::string path = dir + "/env-" + std::to_string(mb) + ".xml";
    std::string tmpl = path + ".tmpl";
    std::ofstream f(tmpl, std::ios::binary);
    f << R"(<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.G06</edXML:OrganId></edXML:From><edXML:Subject>bench</edXML:Subject></edXML:MessageHeader><edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>000.00.00.G06</edXML:OrganId></edXML:TraceHeader></edXML:TraceHeaderList>)"
      << R"(<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>)"
      << R"(</edXML:edXMLHeader><edXML:edXMLBody/></edXML:edXMLEnvelope><edXML:AttachmentEncoded><edXML:Attachment><edXML:ContentId>1</edXML:ContentId><edXML:ContentTransferEncoded>)";
    std::string line(76, 'Q');  // base64 of 57 bytes of 'A'-ish data, 76 chars a line
    for (size_t written = 0; written < static_cast<size_t>(mb) * 1024 * 1024 * 4 / 3; written += 77) f << line << '\n';
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
  const std::string& env = fx.envelopes.at(mb);
  Sample ours{}, theirs{};
  int n = 0;
  for (auto _ : state) {
    Sample a = run({kEdxgate, "verify", "--revocation", "off", "--trust-anchor", fx.dir + "/root.pem", env});
    Sample b = run({"/usr/bin/xmlsec1", "--verify", "--trusted-pem", fx.dir + "/root.pem", env});
    if (a.exit_code != 0 || b.exit_code != 0) {
      state.SkipWithError("a verifier rejected the benchmark envelope");
      return;
    }
    state.SetIterationTime(a.seconds);
    ours.seconds += a.seconds;
    theirs.seconds += b.seconds;
    ours.peak_mb = std::max(ours.peak_mb, a.peak_mb);
    theirs.peak_mb = std::max(theirs.peak_mb, b.peak_mb);
    ++n;
  }
  state.counters["edxgate_s"] = ours.seconds / n;
  state.counters["xmlsec1_s"] = theirs.seconds / n;
  state.counters["time_ratio_xmlsec1_over_edxgate"] = theirs.seconds / ours.seconds;
  state.counters["edxgate_peak_MB"] = ours.peak_mb;
  state.counters["xmlsec1_peak_MB"] = theirs.peak_mb;
  state.counters["peak_ratio_xmlsec1_over_edxgate"] = theirs.peak_mb / ours.peak_mb;
}
BENCHMARK(BM_VerifyEnvelope)->Arg(1)->Arg(10)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VerifyEnvelope)->Arg(100)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
