// Zipped attachments: undoing what the VNPT edXML library does on send.
//
// That library zips every attachment whose type is not pdf, doc, docx, xls,
// xlsx or zip, labels it application/zip and keeps the ORIGINAL name, so a
// `GUIDE.SIGNED.PDF` may be a one-entry ZIP holding the real file (EDXML.md
// "Zipped attachments"). Written out under its declared name it would not
// open. These functions recognise such an attachment and write the real file.
//
// The rule (also edxml/README.md):
//  - an attachment is zipped when its name does not end in ".zip" and either
//    its content type is application/zip (x-zip, x-zip-compressed), or its
//    bytes start with a ZIP local header and its name is not of a format that
//    is itself a ZIP (docx, xlsx, pptx, odt, epub, jar...);
//  - it is unzipped only if the archive holds exactly one entry, a regular
//    file, not encrypted, compressed by a method libzip supports, whose name
//    passes the attachment-name rules, whose size is within
//    Limits::max_attachment_bytes and whose ratio to its compressed size is
//    within Limits::max_zip_ratio once past 1 MiB (checked on the declared
//    sizes first, then on the bytes as they are inflated), and whose CRC-32
//    matches;
//  - the real file takes the attachment's declared name: the entry's own name
//    is often a temp name (the SDK's samples hold "<uuid>.edxml"); it is
//    reported as UnzippedFile::entry_name. The bytes as received are never
//    replaced: they are what was signed.
// Decompression is libzip's, streamed to the output file in 64 KiB pieces
// (memory does not grow with the entry), and the central directory is sized
// before libzip reads it.
//
// Error codes (a problem of one attachment, never of the envelope):
// "edxml.zip_corrupt" (not a readable ZIP), "edxml.zip_entries" (not exactly
// one entry), "edxml.zip_entry" (a directory or link), "edxml.zip_name",
// "edxml.zip_encrypted", "edxml.zip_method", "edxml.zip_size",
// "edxml.zip_ratio" (a ZIP bomb), "edxml.zip_crc"; "io.read" / "io.write" for
// the files themselves.
#pragma once

#include <string>
#include <string_view>

#include "edxgate/base/fs.h"
#include "edxgate/base/result.h"
#include "edxgate/edxml/limits.h"
#include "edxgate/edxml/model.h"

namespace edxgate::edxml {

// Whether an attachment is zipped, from its declared name and content type
// and its first bytes (`head`: at least 4 bytes when the file has them).
bool is_zipped_attachment(std::string_view name, std::string_view content_type, std::string_view head);

// The same for a stored attachment file (reads its first bytes).
Result<bool> is_zipped_attachment_file(const std::string& path, std::string_view name, std::string_view content_type);

// Unzips the one entry of the ZIP at `zip_path` into `<out_dir>/<out_name>`
// (atomically: a temp file in out_dir, fsync'd, renamed; nothing is left on
// failure; Durability::unsynced: not fsync'd, for a caller that syncs it where
// it keeps it). `out_name` is checked as an attachment name. Returns the file
// written (UnzippedFile::name is out_name).
Result<UnzippedFile> unzip_attachment(const std::string& zip_path, const std::string& out_dir,
                                      const std::string& out_name, const Limits& limits,
                                      fs::Durability durability = fs::Durability::synced);

}  // namespace edxgate::edxml
