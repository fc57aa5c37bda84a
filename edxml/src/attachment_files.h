// Where decoded attachment bytes go while an envelope is read: a temp file
// per attachment in the output directory (or nowhere, when only the digest
// is wanted), SHA-256 and size computed on the way. Nothing appears under a
// final name until commit(), which the reader calls only once the whole
// envelope has passed its checks; destroying an uncommitted set removes the
// temp files.
#pragma once

#include <libxml/tree.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "edxgate/base/base64.h"
#include "edxgate/base/digest.h"
#include "edxgate/base/fs.h"
#include "edxgate/edxml/limits.h"
#include "hardened_parser.h"

namespace edxgate::edxml::detail {

struct DecodedContent {
  std::optional<fs::AtomicFile> file;  // absent when no directory was given
  uint64_t size = 0;
  std::array<uint8_t, 32> sha256{};
  std::string head;  // the first bytes (up to 4), to tell a ZIP by its magic
};

class AttachmentFiles : public ContentSink {
 public:
  // `dir` empty: decode and hash only.
  // `durability`: whether commit() syncs each file and the directory.
  // `temp_names`: commit() keeps each file under its temp name (ReadOptions).
  AttachmentFiles(std::string dir, const Limits& limits, const std::vector<std::string>& reserved_names = {},
                  fs::Durability durability = fs::Durability::synced, bool temp_names = false)
      : dir_(std::move(dir)),
        limits_(limits),
        durability_(durability),
        temp_names_(temp_names),
        used_names_(reserved_names.begin(), reserved_names.end()) {}

  Status begin(xmlNode* element) override;
  Status data(std::string_view chunk) override;
  Status end() override;

  // The content decoded for a content element, or null.
  DecodedContent* find(const xmlNode* element);
  // Moves the file of `element` to `<dir>/<name>`, made unique within this
  // envelope by " (2)", " (3)"... before the extension; returns its path.
  // With temp names the file stays where it is, the caller's from now on.
  Result<std::string> commit(const xmlNode* element, const std::string& name);

 private:
  // Counts, checks against the limit, hashes and stores decoded bytes.
  Status take(std::string_view bytes);

  std::string dir_;
  const Limits& limits_;
  fs::Durability durability_;
  bool temp_names_;
  std::map<const xmlNode*, DecodedContent> done_;
  std::set<std::string> used_names_;
  // The content being decoded.
  const xmlNode* current_ = nullptr;
  DecodedContent cur_;
  base64::Decoder decoder_;  // strict: the bytes stored are the bytes signed
  std::optional<Sha256> sha_;
  std::string buf_;
};

}  // namespace edxgate::edxml::detail
