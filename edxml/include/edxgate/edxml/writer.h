// Writing edXML envelopes.
//
// The form written is the namespaced one of the public SDKs:
//   <edXML xmlns="NS" xmlns:edXML="NS" xmlns:xlink="..."> with every other
//   element prefixed edXML:, the header's elements in the SDKs' order, the
//   manifest as edXMLManifest/Reference (xlink:href="cid:<id>"), and
//   edXML:AttachmentEncoded/edXML:Attachment after the envelope.
// Before anything is written the envelope passes check_envelope with the
// rules for what we send (Strictness::outgoing), whatever it was read with.
// A status message is written under FormatOptions::status_element
// (MessageHeader by default). Header text is checked (UTF-8, XML characters)
// and NFC-normalized. The
// writer never writes a signature: the crypto part inserts ds:Signature as
// the last child of edXMLHeader. Extension elements are written back only
// because they were read (they cannot come from anywhere else).
// Attachment bytes are read from Attachment::path and base64-encoded as they
// are written, in lines of 76 characters ended by LF, so memory does not
// depend on their size.
//
// Error codes: those of check_envelope, "edxml.text" (text that XML cannot
// carry), "io.read" (an attachment file), "io.write".
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "edxgate/base/fs.h"
#include "edxgate/base/result.h"
#include "edxgate/edxml/model.h"

namespace edxgate::edxml {

struct WriteOptions {
  FormatOptions format;
};

// Receives the output in pieces of up to about 1 MB.
using ByteSink = std::function<Status(std::string_view)>;

Status write_envelope(const Envelope& env, const WriteOptions& options, const ByteSink& out);
// Writes to `path` through a temp file renamed over it: never a partial file.
// Durability::synced (the default) fsyncs the file and its directory;
// unsynced is for a file its caller consumes at once and syncs where it keeps
// it (the gateway signs it, or links it into its blob store).
Status write_envelope_file(const Envelope& env, const WriteOptions& options, const std::string& path,
                           fs::Durability durability = fs::Durability::synced);
Result<std::string> write_envelope_string(const Envelope& env, const WriteOptions& options);

}  // namespace edxgate::edxml
