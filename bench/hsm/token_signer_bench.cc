// Signatures per second through TokenSigner beside the raw libp11 rate
// (PKCS11_get_private_key + EVP_DigestSign in a tight loop) on the same
// SoftHSM2 token in the same run, for RSA-2048 and P-256. BM_TokenSignerVsLibp11
// interleaves the two and reports "vs_libp11" = TokenSigner rate / libp11 rate.
#include <benchmark/benchmark.h>
#include <libp11.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>

#include "edxgate/hsm/hsm.h"
#include "softhsm_fixture.h"

namespace {

using namespace edxgate;
using namespace edxgate::hsm;

const std::string kData(600, 'x');  // about the size of an edXML SignedInfo

struct World {
  testing::SoftHsmToken token{"bench"};
  std::shared_ptr<Module> module;
  std::map<std::string, std::unique_ptr<TokenSigner>> signers;
  PKCS11_CTX* libp11 = nullptr;  // kept until exit: releasing slots closes all sessions
  PKCS11_SLOT* slots = nullptr;
  unsigned int nslots = 0;
  std::map<std::string, EVP_PKEY*> libp11_keys;

  World() {
    module = Module::load(testing::SoftHsmToken::module()).value();
    auto s = TokenSession::open(module, Pkcs11Uri{}).value();
    if (!s.login(SecretString(token.pin())).ok()) std::abort();
    for (const char* type : {"rsa:2048", "ec:P-256"}) {
      if (!s.generate_key(KeySpec::parse(type).value(), type).ok()) std::abort();
      Pkcs11Uri u;
      u.object = type;
      signers[type] = TokenSigner::open(module, u, SecretString(token.pin())).value();
    }
    libp11 = PKCS11_CTX_new();
    if (PKCS11_CTX_load(libp11, testing::SoftHsmToken::module().c_str()) != 0 ||
        PKCS11_enumerate_slots(libp11, &slots, &nslots) != 0) {
      std::abort();
    }
    PKCS11_SLOT* slot = PKCS11_find_token(libp11, slots, nslots);
    if (!slot || PKCS11_open_session(slot, 0) != 0 || PKCS11_login(slot, 0, token.pin().c_str()) != 0) {
      std::abort();
    }
    PKCS11_KEY* keys = nullptr;
    unsigned int nkeys = 0;
    if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0) std::abort();
    for (unsigned int i = 0; i < nkeys; ++i) {
      libp11_keys[keys[i].label] = PKCS11_get_private_key(&keys[i]);
    }
  }
};

World& world() {
  static World* w = new World();  // lives until exit (SoftHSM finalised by the OS)
  return *w;
}

void BM_Libp11(benchmark::State& state, const std::string& type) {
  EVP_PKEY* key = world().libp11_keys.at(type);
  std::vector<unsigned char> sig(1024);
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = sig.size();
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx, sig.data(), &len, reinterpret_cast<const unsigned char*>(kData.data()), kData.size()) !=
            1) {
      state.SkipWithError("libp11 signing failed");
    }
    EVP_MD_CTX_free(ctx);
    benchmark::DoNotOptimize(sig.data());
  }
  state.counters["sig/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_TokenSigner(benchmark::State& state, const std::string& type) {
  TokenSigner& signer = *world().signers.at(type);
  auto alg = type == "rsa:2048" ? crypto::SignatureAlgorithm::rsa_sha256 : crypto::SignatureAlgorithm::ecdsa_sha256;
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(kData.data()), kData.size());
  for (auto _ : state) {
    auto sig = signer.sign(data, alg);
    if (!sig.ok()) state.SkipWithError(sig.error().message.c_str());
    benchmark::DoNotOptimize(sig);
  }
  state.counters["sig/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Runs the libp11 baseline and the TokenSigner alternately for the same
// wall-clock budget and reports the ratio of their rates.
void BM_TokenSignerVsLibp11(benchmark::State& state, const std::string& type) {
  TokenSigner& signer = *world().signers.at(type);
  EVP_PKEY* key = world().libp11_keys.at(type);
  auto alg = type == "rsa:2048" ? crypto::SignatureAlgorithm::rsa_sha256 : crypto::SignatureAlgorithm::ecdsa_sha256;
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(kData.data()), kData.size());
  std::vector<unsigned char> sig(1024);
  double ours_ns = 0, theirs_ns = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto s = signer.sign(data, alg);
    auto t1 = std::chrono::steady_clock::now();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = sig.size();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(ctx, sig.data(), &len, reinterpret_cast<const unsigned char*>(kData.data()), kData.size());
    EVP_MD_CTX_free(ctx);
    auto t2 = std::chrono::steady_clock::now();
    if (!s.ok()) state.SkipWithError(s.error().message.c_str());
    ours_ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
    theirs_ns += std::chrono::duration<double, std::nano>(t2 - t1).count();
  }
  double n = static_cast<double>(state.iterations());
  state.counters["tokensigner_sig/s"] = n / (ours_ns / 1e9);
  state.counters["libp11_sig/s"] = n / (theirs_ns / 1e9);
  state.counters["vs_libp11"] = theirs_ns / ours_ns;  // >1: TokenSigner is faster
}

BENCHMARK_CAPTURE(BM_Libp11, rsa2048, std::string("rsa:2048"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TokenSigner, rsa2048, std::string("rsa:2048"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TokenSignerVsLibp11, rsa2048, std::string("rsa:2048"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Libp11, p256, std::string("ec:P-256"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TokenSigner, p256, std::string("ec:P-256"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TokenSignerVsLibp11, p256, std::string("ec:P-256"))->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
