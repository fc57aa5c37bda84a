// Reading edXML envelopes into the model.
//
// The file reader streams: it parses with the hardened parser and sends each
// attachment's base64 straight through a decoder into a temp file in
// `attachment_dir` (SHA-256 and size computed on the way), so memory does
// not grow with attachment size. Only after the whole envelope has passed
// every check are the files renamed to their declared names (which are
// checked, never rewritten; a name repeated within one envelope gets " (2)"
// before its extension). On any error no file is left behind.
//
// Accepted variations (EDXML.md): Manifest or edXMLManifest; AttachmentEncoded
// and its children with or without the edXML namespace; any child order;
// MessageHeader, MessageStatus or Status as the status element (a
// MessageHeader holding StatusCode is a status); ISO 8601 dates; an empty
// ResponseFor (read as absent); a TraceHeader whose OrganId is absent, empty
// or "null" (read as absent); look-alike signatures (an unprefixed Signature,
// edXML:DigitalSignature: the envelope is unsigned). Unknown children of
// MessageHeader, OtherInfo and the status element are kept as RawElement;
// unknown elements elsewhere are ignored with a warning. A singular element
// given twice is refused ("edxml.duplicate"), and so is markup inside a text
// field ("edxml.structure").
//
// ReadOptions::strictness says which rules apply (model.h, Strictness): the
// default, receive, is what the gateway applies to what the axis delivers;
// outgoing adds the rules for what we send, among them the write order of
// the header ("edxml.order").
//
// Error codes beyond the parser's ("xml.*") and the model's: "edxml.structure"
// (not an edXML envelope), "edxml.missing", "edxml.duplicate", "edxml.order",
// "edxml.manifest" (manifest and attachments disagree), "edxml.base64",
// "edxml.attachments", "edxml.attachment_size", "edxml.status_body",
// "xml.namespace" (an edXML element in another namespace).
#pragma once

#include <libxml/tree.h>

#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/edxml/limits.h"
#include "edxgate/edxml/model.h"
#include "edxgate/edxml/xml.h"
#include "edxgate/edxml/xml_observer.h"

namespace edxgate::edxml {

struct ReadOptions {
  Limits limits;
  // Sees every parse event of the streaming readers (xml_observer.h), e.g.
  // the streaming signature verifier; not owned, may be null.
  XmlObserver* observer = nullptr;
  FormatOptions format;
  // Receive (lenient, warnings) by default: every reader of what arrives from
  // the axis wants that. Reading what we are about to send takes outgoing.
  Strictness strictness = Strictness::receive;
  // Directory for decoded attachments (must exist). Empty: attachments are
  // decoded and hashed only, and Attachment::path stays empty.
  std::string attachment_dir;
  // Whether each decoded attachment (and unzipped file) is made durable
  // (fsync of the file and of attachment_dir) when it gets its final name.
  // False for a caller that syncs them where it keeps them (the gateway links
  // them into its blob store, which syncs their content).
  bool sync_attachments = true;
  // Whether each decoded attachment keeps the unique temp name it was written
  // under (`<attachment_dir>/.tmp-XXXXXX`, Attachment::path) instead of taking
  // its declared file name. The files are then the caller's once the read
  // returns them (it moves or removes them; a failed read removes its own),
  // and many reads can share one attachment_dir: no directory per envelope.
  // reserved_names do not apply.
  bool temp_names = false;
  // File names in attachment_dir an attachment may not take (e.g. the
  // caller's own "header.json"); such an attachment gets " (2)" instead.
  std::vector<std::string> reserved_names;
  // Directory (not attachment_dir) where each zipped attachment
  // (Attachment::zipped) is unzipped under its attachment's file name, within
  // Limits (zipped.h). Made (mode 0700) when the first zipped attachment
  // needs it, if it does not exist; its parent must exist. Empty: zipped
  // attachments are only flagged. Needs attachment_dir. A failure is Attachment::unzip_error plus a warning; the
  // envelope is still read.
  std::string unzip_dir;
};

Result<Envelope> read_envelope_file(const std::string& path, const ReadOptions& options);
Result<Envelope> read_envelope(std::string_view bytes, const ReadOptions& options);

// Maps a document already parsed by parse_xml (attachment content in the
// DOM, e.g. after signature verification) to the model.
Result<Envelope> envelope_from_doc(const xmlDoc* doc, const ReadOptions& options);

// A streamed envelope together with its DOM, in which each attachment
// content element is left empty (its bytes went to the files).
struct StreamedEnvelope {
  Envelope envelope;
  XmlDocPtr doc;
};
Result<StreamedEnvelope> read_envelope_file_with_doc(const std::string& path, const ReadOptions& options);
// The same for an envelope held in memory.
Result<StreamedEnvelope> read_envelope_with_doc(std::string_view bytes, const ReadOptions& options);

}  // namespace edxgate::edxml
