// Completing a document envelope before it is written: what a submitter (the
// `edxgate pack` command, the daemon's submission API) may leave out.
#pragma once

#include <string>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/edxml/model.h"

namespace edxgate::edxml {

// Fills what the header JSON may leave out: attachment metadata from the
// files (`files[i]` is attachment i; path, size, a name from the file name,
// a content type from the extension, a fresh content id), a trace header
// from the sender, a Bussiness block, and the DocumentId
// ("<organ id>,<yyyy/MM/dd>,<code>"). Errors: "edxml.missing" (no message
// header), "usage.attachments" (count mismatch), "io.read".
Status complete_for_pack(Envelope& env, const std::vector<std::string>& files);

// As complete_for_pack, but the attachment names come from `names` (used when
// the files are spool files whose own names mean nothing).
Status complete_for_pack(Envelope& env, const std::vector<std::string>& files, const std::vector<std::string>& names);

// A random (version 4) UUID, lower-case.
std::string new_uuid();

// A content type for a file name, from its extension (application/octet-stream
// when unknown).
std::string guess_content_type(const std::string& name);

}  // namespace edxgate::edxml
