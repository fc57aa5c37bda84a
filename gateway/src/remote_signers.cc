#include "remote_signers.h"

#include <algorithm>

#include "edxgate/base/log.h"

namespace edxgate::gateway {

Status check_remote_signer(store::Store& store, const Caller& caller, store::DocumentId document,
                           const crypto::Certificate& signer) {
  const std::string fingerprint = "sha256:" + signer.sha256_hex();  // sha256_hex is lowercase, as config stores it
  const auto& allowed = caller.remote_signing_certs;
  if (std::find(allowed.begin(), allowed.end(), fingerprint) != allowed.end()) return {};
  const std::string why = allowed.empty() ? "no certificate is configured for remote signing by " + caller.name
                                          : "the certificate is not one of those configured for " + caller.name;
  AuditEvent ev{caller.name, "document.sign", "document " + std::to_string(document), "failed",
                "sign.cert_not_allowed: " + fingerprint + " (" + signer.subject().substr(0, 500) + ")"};
  if (auto st = store.append(ev); !st.ok()) log::warn("signature refusal not audited", {{"error", st.error().message}});
  return make_error(ErrorKind::forbidden, "sign.cert_not_allowed",
                    why + " ([[clients]] remote_signing_certs): " + fingerprint);
}

}  // namespace edxgate::gateway
