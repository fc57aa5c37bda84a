// The KeyProvider of a gateway with a PKCS#11 token ([hsm] in the config).
//
// The module is loaded once. A signing call with a PIN opens a TokenSigner
// for that one call (the PIN lives in locked memory and is wiped when the
// call ends; it is never stored). With no PIN in the request, the configured
// PIN (pin_file or pin_credential) is used when there is one: that key is
// opened once and kept ("unattended", e.g. the agency's HSM key that signs
// status messages). The certificate comes from [hsm] cert, else from the
// token (the certificate object with the key's CKA_ID).
#pragma once

#include <memory>

#include "edxgate/base/audit.h"
#include "edxgate/config/config.h"
#include "edxgate/gateway/engine.h"

namespace edxgate::gateway {

Result<std::unique_ptr<KeyProvider>> make_hsm_key_provider(const config::Hsm& hsm, AuditSink* audit);

}  // namespace edxgate::gateway
