// The KeyProvider of a gateway with a PKCS#11 token ([hsm] in the config).
//
// The module is loaded once. A signing call with a PIN opens a TokenSigner
// for that one call (the PIN lives in locked memory and is wiped when the
// call ends; it is never stored). With no PIN in the request, the configured
// PIN (pin_file or pin_credential) is used when there is one ("unattended",
// e.g. the agency's HSM key that signs status messages); it is read and the
// key opened for each use. Every use of the token holds one lock from login
// until its session is closed (which logs the token out): PKCS#11 login is
// shared by all sessions of the process, so a session left logged in would
// let a request's wrong PIN through. Signing on the token is serialised.
// The certificate comes from [hsm] cert, else from the token (the
// certificate object with the key's CKA_ID).
#pragma once

#include <memory>

#include "edxgate/base/audit.h"
#include "edxgate/config/config.h"
#include "edxgate/gateway/engine.h"

namespace edxgate::gateway {

Result<std::unique_ptr<KeyProvider>> make_hsm_key_provider(const config::Hsm& hsm, AuditSink* audit);

}  // namespace edxgate::gateway
