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

// One use per document. Attachment content already decoded by `files` (the
// streaming parse) is taken from it; content still in the DOM is decoded
// into it here.
class DomReader {
 public:
  DomReader(const ReadOptions& options, AttachmentFiles& files) : options_(options), files_(files) {}
  Result<Envelope> read(const xmlDoc* doc);

 private:
  Status read_envelope(const xmlNode* n, Envelope& env);
  Status read_header(const xmlNode* n, Envelope& env);
  Status read_attachment(xmlNode* n);
  Status check_manifest() const;

  const ReadOptions& options_;
  AttachmentFiles& files_;
  std::vector<ManifestRef> refs_;
  std::vector<std::pair<Attachment, const xmlNode*>> attachments_;
  bool attachments_seen_ = false;
};

}  // namespace edxgate::edxml::detail
