// Which certificates a leader may sign with from its own PC (issue 13;
// README "Who signs"): GET /v1/outgoing/{id}/to-sign and
// POST /v1/outgoing/{id}/signature call this before anything is prepared or
// accepted.
#pragma once

#include "edxgate/base/result.h"
#include "edxgate/crypto/x509.h"
#include "edxgate/gateway/http.h"
#include "edxgate/store/store.h"

namespace edxgate::gateway {

// Ok when `signer` (the leaf of the certificates the leader presents) is one
// of the caller's [[clients]] remote_signing_certs (SHA-256 of its DER).
// Otherwise 403 "sign.cert_not_allowed", and the refusal is audited
// (document.sign, failed, naming the certificate by fingerprint and
// subject). A chain to a trust anchor is not enough: the national CA
// certifies every civil servant, so any of them could otherwise sign for the
// ministry through a leader's session. A leader with an empty list does not
// sign remotely at all.
Status check_remote_signer(store::Store& store, const Caller& caller, store::DocumentId document,
                           const crypto::Certificate& signer);

}  // namespace edxgate::gateway
