// The envelope header as JSON: header.json written by `edxgate unpack`, and
// META.json read by `edxgate pack` (same shape; see edxml/README.md).
//
// envelope_to_json writes every field, plus read-only facts (attachment
// size, sha256, file, whether it is zipped and what it unzipped to; the
// signature slot; extension elements as XML text; the reader's warnings).
// Files are named relative to `files_dir` when they lie under it, else by
// their file name alone.
// envelope_from_json reads the header fields and attachment metadata; it
// refuses unknown keys ("json.unknown_key") and wrong types ("json.type"),
// ignores the read-only facts, and never takes extension elements (the writer
// writes those only when they were read from XML). Field values are checked
// later by check_envelope / the writer.
#pragma once

#include <string>

#include "edxgate/base/json.h"
#include "edxgate/base/result.h"
#include "edxgate/edxml/model.h"

namespace edxgate::edxml {

json::bj::value envelope_to_json(const Envelope& env, const std::string& files_dir = "");
Result<Envelope> envelope_from_json(const json::bj::value& v);

// Lower-case hex of a SHA-256 digest.
std::string sha256_hex(const std::array<uint8_t, 32>& digest);

}  // namespace edxgate::edxml
