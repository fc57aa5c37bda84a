// One ministry in an in-process workflow test: its own store, engine, software
// keys of the test PKI and a recording axis. Two of them (two engines, two
// stores) joined by handing one's recorded bytes to the other's deliver()
// stand in for two gateways and the axis; the daemon-level tests are the e2e
// tests of tests/gateway.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "edxgate/base/json.h"
#include "edxgate/base/metrics.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"
#include "temp_dir.h"
#include "test_pki.h"
#include "workflow_doubles.h"

namespace edxgate::test {

// What differs between the ministries of different tests; the defaults are a
// ministry that signs with a person's key on the real clock.
struct MinistryOptions {
  workflow::SigningMode signing = workflow::SigningMode::personal;
  std::function<int64_t()> now_ms;  // the store's clock in ms since the epoch; empty: the real one
  std::function<void(workflow::EngineOptions&)> tune_engine;  // further engine settings, applied last
};

struct Ministry {
  // Everything lives under dir/organ. The verifier trusts the test PKI with
  // hard revocation (the PKI's CRLs are in the trust store).
  Ministry(const std::string& organ_id, const std::string& key, const TempDir& dir, const MinistryOptions& options = {})
      : organ(organ_id), root(dir / organ_id), keys(key) {
    std::filesystem::create_directories(root);
    store::StoreOptions so;
    so.state_dir = root + "/state";
    so.backoff = {1, 1, 1};
    if (options.now_ms) so.now_ms = options.now_ms;
    auto s = store::open_store(so);
    if (!s.ok()) throw std::runtime_error(s.error().message);
    db = std::move(*s);
    crypto::VerifyPolicy policy;
    policy.chain.revocation = crypto::RevocationMode::hard;
    verifier = std::make_shared<crypto::Verifier>(crypto::test::Pki::get().trust(true), policy);
    workflow::EngineOptions eo;
    eo.organ_id = organ;
    eo.organ_name = "Bộ " + organ;
    eo.work_dir = root + "/work";
    eo.worker = "engine@" + organ;
    eo.signing = options.signing;
    if (options.tune_engine) options.tune_engine(eo);
    engine = std::make_unique<workflow::Engine>(eo, *db, verifier, &keys, &axis, metrics);
  }

  // Submits a document from this ministry to `to` with one attachment per entry of `files`.
  // Each call gets its own document code (so its own DocumentId) unless `code` is given.
  Result<workflow::Submitted> submit(const std::vector<std::string>& to,
                                     const std::map<std::string, std::string>& files,
                                     const std::string& subject = "Về việc thử nghiệm liên thông",
                                     const std::string& key = "", const std::string& code = "",
                                     const json::bj::object& extra = {}) {
    json::bj::array recipients;
    for (const auto& t : to) recipients.push_back(json::bj::object{{"organ_id", t}});
    json::bj::object message{{"from", json::bj::object{{"organ_id", organ}}},
                             {"to", std::move(recipients)},
                             {"code", code.empty() ? std::to_string(7 + codes++) + "/BTN-VP" : code},
                             {"promulgation_date", "2026/11/23"},
                             {"subject", subject}};
    for (const auto& [k, v] : extra) message[k] = v;
    workflow::Submission s;
    s.header = json::bj::object{{"message", std::move(message)}};
    int i = 0;
    for (const auto& [name, bytes] : files) {
      std::string path = root + "/upload-" + std::to_string(++uploads) + "-" + std::to_string(i++);
      write_file(path, bytes);
      s.files.push_back(path);
      s.names.push_back(name);
    }
    s.submitter = "eoffice";
    s.allowed_senders = {organ};
    s.idempotency_key = key;
    return engine->submit(std::move(s));
  }

  // Delivers bytes as the axis would.
  Result<workflow::Accepted> deliver(const std::string& bytes, const std::string& from,
                                     const std::string& type = "edoc") {
    std::string file = root + "/delivery-" + std::to_string(++uploads);
    write_file(file, bytes);
    workflow::IncomingDelivery d;
    d.file = file;
    d.size = bytes.size();
    d.from = from;
    d.message_type = type;
    auto r = engine->accept(d);
    ::unlink(file.c_str());
    return r;
  }

  store::Document doc(store::DocumentId id) {
    auto d = db->get_document(id);
    if (!d.ok()) throw std::runtime_error(d.error().message);
    return *d;
  }

  // Whether the audit log holds an event with this action whose detail contains `needle`.
  bool audited(const std::string& action, const std::string& needle) {
    auto rows = db->audit_rows(0, 1000);
    if (!rows.ok()) return false;
    for (const auto& r : *rows) {
      if (r.event.action == action && r.event.detail.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  std::string organ;
  std::string root;
  RecordingAxis axis;
  SoftwareKeys keys;
  MetricsRegistry metrics;
  std::unique_ptr<store::Store> db;
  std::shared_ptr<crypto::Verifier> verifier;
  std::unique_ptr<workflow::Engine> engine;
  int uploads = 0;  // names the files written under root
  int codes = 0;    // numbers the document codes submit() makes up
};

}  // namespace edxgate::test
