// Parse + verify of arbitrary bytes, through both verifiers: the DOM verifier
// on the hardened parser's document, and the streaming verifier on the same
// bytes as a file, in dual mode. A disagreement between the two (on validity
// or code) is a crash, as is any violated invariant.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "edxgate/crypto/verifier.h"
#include "edxgate/edxml/xml.h"

using namespace edxgate;

namespace {

// One scratch file per fuzzing process for the streaming verifier, unlinked
// at once: it is reached through /proc/self/fd and vanishes with the process.
int scratch_fd() {
  static const int fd = [] {
    char tmpl[] = "/tmp/edxgate-fuzz-verifier-XXXXXX";
    int f = mkstemp(tmpl);
    if (f < 0) abort();
    unlink(tmpl);
    return f;
  }();
  return fd;
}

const std::string& scratch_file() {
  static const std::string path = "/proc/self/fd/" + std::to_string(scratch_fd());
  return path;
}

void write_scratch(const uint8_t* data, size_t size) {
  if (ftruncate(scratch_fd(), 0) != 0) abort();
  for (size_t done = 0; done < size;) {
    ssize_t n = pwrite(scratch_fd(), data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) abort();
    done += static_cast<size_t>(n);
  }
}

// The codes the parser's pre-scanner (edxml/src/prescan.h) refuses with
// ahead of libxml2.
bool prescanner_code(const std::string& code) {
  return code == "xml.doctype" || code == "xml.attributes" || code == "xml.text_size" || code == "xml.encoding";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const crypto::Verifier no_trust(crypto::TrustStore{}, crypto::VerifyPolicy{});
  static const crypto::Verifier no_chain = [] {
    crypto::VerifyPolicy p;
    p.validate_chain = false;
    p.sha1_exceptions.push_back({"000.00.00.G06", 4102444800});  // reach the SHA-1 path too
    p.max_dual_bytes = 1ull << 40;                               // always both verifiers
    return crypto::Verifier(crypto::TrustStore{}, p);
  }();
  edxml::Limits limits;
  limits.max_total_bytes = 1 << 20;
  limits.parse_timeout_s = 60;  // above libFuzzer's -timeout (10 s): a slow input is its finding

  write_scratch(data, size);
  crypto::Verification streamed = no_chain.verify_file(scratch_file(), limits);
  if (streamed.code == "sig.disagreement") __builtin_trap();
  if (streamed.valid && (!streamed.signer || streamed.code != "ok" || !streamed.dual_checked)) __builtin_trap();
  if (!streamed.valid && streamed.code.empty()) __builtin_trap();

  auto doc = edxml::parse_xml(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!doc.ok()) {
    // Both parse with the same hardened parser and limits. With two faults
    // in the input the streaming parse (its fast path for attachment text)
    // may report the pre-scanner's before libxml2's or the reverse (see
    // fuzz_edxml_parser.cc): a refusal either way.
    const std::string& d = doc.error().code;
    const bool order = prescanner_code(d) || prescanner_code(streamed.code);
    if (streamed.code != d && streamed.code != "xml.timeout" && !order) __builtin_trap();
    if (streamed.valid) __builtin_trap();
    return 0;
  }
  crypto::Verification a = no_trust.verify(doc->get());
  crypto::Verification b = no_chain.verify(doc->get());
  // Invariants: no trust never validates; a valid result names its signer;
  // the DOM verifier on this document agrees with the dual verdict.
  if (a.valid) __builtin_trap();
  if (b.valid && (!b.signer || b.code != "ok")) __builtin_trap();
  if (!a.valid && a.code.empty()) __builtin_trap();
  if (b.valid != streamed.valid || (b.code != streamed.code && streamed.code != "xml.timeout")) __builtin_trap();
  return 0;
}
