// VDXP request authentication cost beside its floor: building and checking a
// signed header set in the SDK's dialect (sign + verify, with JSON) against
// the bare HMAC-SHA256 of the same sign-header text, measured in one run.
// Read the ratio of the two times; absolute figures depend on the machine.
#include <benchmark/benchmark.h>
#include <strings.h>

#include "edxgate/gateway/vdxp.h"

namespace edxgate::gateway::vdxp {
namespace {

// A sendEdoc call as the SDK signs it.
const Params kParams = {{"from", "000.00.00.G06"},
                        {"servicetype", "eDoc"},
                        {"messagetype", "edoc"},
                        {"hash-file", "8cbd83ce147a8ac49ff7a888b49e63c81b09c52a4f44f94b5e3c6bd4e4dbba"}};

void BM_BareHmacOfSignHeader(benchmark::State& state) {
  SecretString secret("secret-of-SYS-A");
  auto h = sign(kParams, kContentTypeFile, "SYS-A", secret, Clock::now());
  std::string text;
  for (const auto& x : *h)
    if (x.name == "XroadVnpt-sign-header") text = x.value;
  for (auto _ : state) benchmark::DoNotOptimize(hmac_sha256_hex(secret.view(), text));
}
BENCHMARK(BM_BareHmacOfSignHeader);

void BM_SignThenVerify(benchmark::State& state) {
  SecretString secret("secret-of-SYS-A");
  const VerifyOptions options;  // no timestamp window, as deployed by default
  const auto when = Clock::now();
  for (auto _ : state) {
    auto h = sign(kParams, kContentTypeFile, "SYS-A", secret, when);
    auto lookup = [&h](std::string_view n) -> std::optional<std::string> {
      for (const auto& x : *h)
        if (x.name.size() == n.size() && strncasecmp(x.name.data(), n.data(), n.size()) == 0) return x.value;
      return std::nullopt;
    };
    auto r = verify(
        lookup, [&](std::string_view) { return &secret; }, {"messagetype", "from", "hash-file"}, options, when);
    benchmark::DoNotOptimize(r.ok());
  }
}
BENCHMARK(BM_SignThenVerify);

}  // namespace
}  // namespace edxgate::gateway::vdxp

BENCHMARK_MAIN();
