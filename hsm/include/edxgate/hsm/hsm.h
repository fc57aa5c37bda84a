// hsm: PKCS#11 tokens (modules loaded through libp11) — modules, tokens, PINs, keys, CSRs,
// certificates, and TokenSigner. Include this or the narrower headers.
#pragma once

#include "edxgate/hsm/pin.h"
#include "edxgate/hsm/token.h"
#include "edxgate/hsm/token_signer.h"
#include "edxgate/hsm/uri.h"
