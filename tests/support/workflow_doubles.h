// Stand-ins for the workflow engine's seams in process tests: an axis that
// records what is sent, and keys of the crypto test PKI (software keys; the
// token path is tested by the hsm and e2e tests).
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "edxgate/workflow/keys.h"
#include "edxgate/workflow/transport.h"
#include "temp_dir.h"
#include "test_pki.h"

namespace edxgate::test {

// Keeps a copy of everything "sent", in order; `down` makes every send fail
// as an unreachable axis would.
class RecordingAxis final : public workflow::AxisTransport {
 public:
  struct Sent {
    std::string kind;  // edoc | status
    std::vector<std::string> to;
    std::string bytes;
  };
  Result<std::string> send_envelope(const std::string& file, const std::vector<std::string>& to,
                                    workflow::AxisMessageType) override {
    return record("edoc", file, to);
  }
  Result<std::string> send_status(const std::string& file, const std::vector<std::string>& to) override {
    return record("status", file, to);
  }
  Result<std::vector<workflow::AxisReceivedItem>> list_received(const workflow::AxisListQuery&) override {
    return std::vector<workflow::AxisReceivedItem>{};
  }
  Status get(const std::string&, const std::string&) override {
    return make_error(ErrorKind::not_found, "axis.test", "not here");
  }
  Status update_status(const std::string&, workflow::AxisItemStatus) override { return {}; }

  std::vector<Sent> take() {
    std::lock_guard lock(mu_);
    return std::exchange(sent_, {});
  }
  // When set, every send fails with this error (e.g. the axis refusing).
  std::optional<Error> fail_with;
  std::atomic<bool> down{false};
  // Each send takes this long (a slow axis), and the most sends seen in
  // flight at once.
  std::chrono::milliseconds delay{0};
  std::atomic<int> max_in_flight{0};

 private:
  Result<std::string> record(const char* kind, const std::string& file, const std::vector<std::string>& to) {
    const int now = ++in_flight_;
    for (int seen = max_in_flight; now > seen && !max_in_flight.compare_exchange_weak(seen, now);) {
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    --in_flight_;
    if (down) return make_error(ErrorKind::unavailable, "axis.connect", "the axis is down (test)");
    if (fail_with) return *fail_with;
    std::lock_guard lock(mu_);
    sent_.push_back({kind, to, read_file(file)});
    return std::to_string(sent_.size());
  }
  std::atomic<int> in_flight_{0};
  std::mutex mu_;
  std::vector<Sent> sent_;
};

// Signs with the test PKI's `name` key; the PIN is "1234". `unattended`: it
// may also be opened without a PIN (the organization's key).
class SoftwareKeys final : public workflow::KeyProvider {
 public:
  explicit SoftwareKeys(std::string name = "good", bool unattended = true)
      : name_(std::move(name)), unattended_(unattended) {}
  Result<workflow::SigningKey> open(const std::string&, const SecretString* pin) override {
    using crypto::test::Pki;
    if (unplugged_) return make_error(ErrorKind::unavailable, "token.absent", "the token is not present");
    if (!pin && !unattended_) return make_error(ErrorKind::invalid, "pin.missing", "a PIN is needed");
    if (pin && pin->view() != "1234") return make_error(ErrorKind::forbidden, "pin.incorrect", "the PIN is wrong");
    workflow::SigningKey k;
    k.signer = std::make_unique<crypto::test::SoftwareSigner>(Pki::get().path(name_ + ".key"));
    k.certificate = Pki::get().cert(name_);
    k.chain = {Pki::get().cert("inter")};
    k.algorithm = crypto::default_algorithm(k.certificate);
    return k;
  }
  bool has_unattended_key() const override { return unattended_; }
  std::optional<crypto::Certificate> configured_certificate() const override {
    return crypto::test::Pki::get().cert(name_);
  }
  Status check() const override { return {}; }
  // While unplugged, every open fails as a token taken out would.
  void unplug(bool gone) { unplugged_ = gone; }

 private:
  std::string name_;
  bool unattended_;
  std::atomic<bool> unplugged_{false};
};

}  // namespace edxgate::test
