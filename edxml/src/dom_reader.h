// Maps a parsed edXML document to the model, checking it as it goes.
#pragma once

#include <libxml/tree.h>

#include <utility>
#include <vector>

#include "attachment_files.h"
#include "edxgate/edxml/reader.h"

namespace edxgate::edxml::detail {

struct ManifestRef {
  std::string content_id, name, content_type, description;
  int line = 0;
};

// Whether a MessageHeader element is a status message, by its content: the
// SDKs and the VNPT library write a status under that name (EDXML.md).
bool holds_status(const xmlNode* message_header);

// What the walk of one document shares: the strictness and the warnings.
struct WalkContext {
  bool outgoing = false;
  std::vector<Warning> warnings;
  size_t unknown_elements = 0;  // seen, including those beyond the warning cap
};

// One use per document. Attachment content already decoded by `files` (the
// streaming parse) is taken from it; content still in the DOM is decoded
// into it here.
class DomReader {
 public:
  DomReader(const ReadOptions& options, AttachmentFiles& files) : options_(options), files_(files) {
    cx_.outgoing = options.strictness == Strictness::outgoing;
  }
  Result<Envelope> read(const xmlDoc* doc);

 private:
  Status read_envelope(const xmlNode* n, Envelope& env);
  Status read_header(const xmlNode* n, Envelope& env);
  Status read_attachment(xmlNode* n);
  Status check_manifest() const;
  void unzip(Envelope& env);

  const ReadOptions& options_;
  AttachmentFiles& files_;
  WalkContext cx_;
  std::vector<ManifestRef> refs_;
  std::vector<std::pair<Attachment, const xmlNode*>> attachments_;
  bool attachments_seen_ = false;
  bool manifest_seen_ = false;
};

}  // namespace edxgate::edxml::detail
