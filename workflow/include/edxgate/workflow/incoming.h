// What the axis hands the engine, and what the engine made of it.
#pragma once

#include <cstdint>
#include <string>

#include "edxgate/store/store.h"

namespace edxgate::workflow {

// One delivery from the axis (pushed to our endpoint, or pulled).
struct IncomingDelivery {
  std::string file;  // the envelope (without the SDK's CRLF), in a spool file the engine may consume
  uint64_t size = 0;
  // The file's SHA-256 (lower-case hex) when the receiver computed it on the
  // way in (the push endpoint does, for VDXP's hash-file); "" otherwise. The
  // engine names the kept envelope by it without reading the file again.
  std::string sha256;
  std::string message_type;  // edoc | status (as signed; the envelope's content decides)
  std::string from;          // sender organ id as the axis authenticated it ("" if unknown)
  std::string system_id;
};

// The typed outcome of accepting a delivery: a document was stored (verified
// or quarantined), or a status message about one of our documents was taken.
struct Accepted {
  enum class Kind { document, status_message };
  Kind kind = Kind::document;
  // The incoming document stored; for a status message, the outgoing
  // document it is about.
  store::DocumentId document = 0;
  // For a document: verified or quarantined.
  store::State state = store::State::verified;
  // The same envelope was delivered before: nothing new was stored.
  bool duplicate = false;
};

}  // namespace edxgate::workflow
