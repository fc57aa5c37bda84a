#include "attachment_files.h"

namespace edxgate::edxml::detail {

Status AttachmentFiles::begin(xmlNode* element) {
  if (done_.size() >= limits_.max_attachments) {
    return make_error(ErrorKind::invalid, "edxml.attachments",
                      "The envelope has more than " + std::to_string(limits_.max_attachments) + " attachments.",
                      static_cast<int>(xmlGetLineNo(element)));
  }
  current_ = element;
  cur_.file.reset();
  cur_.size = 0;
  cur_.sha256 = {};
  cur_.head.clear();
  decoder_ = base64::Decoder(base64::Mode::strict);
  sha_.emplace();
  if (!dir_.empty()) {
    auto f = fs::AtomicFile::create(dir_);
    if (!f.ok()) return f.error();
    cur_.file.emplace(std::move(f.value()));
  }
  return {};
}

Status AttachmentFiles::data(std::string_view chunk) {
  buf_.clear();
  if (!decoder_.update(chunk, buf_)) {
    return make_error(ErrorKind::invalid, "edxml.base64", "An attachment's content is not valid base64.",
                      static_cast<int>(xmlGetLineNo(current_)));
  }
  return take(buf_);
}

Status AttachmentFiles::take(std::string_view bytes) {
  if (bytes.empty()) return {};
  cur_.size += bytes.size();
  if (cur_.size > limits_.max_attachment_bytes) {
    return make_error(
        ErrorKind::too_large, "edxml.attachment_size",
        "An attachment is larger than the limit of " + std::to_string(limits_.max_attachment_bytes) + " bytes.");
  }
  if (cur_.head.size() < 4) cur_.head.append(bytes.substr(0, 4 - cur_.head.size()));
  sha_->update(bytes);
  if (cur_.file) EDX_TRY(cur_.file->write(bytes));
  return {};
}

Status AttachmentFiles::end() {
  buf_.clear();
  if (!decoder_.finish(buf_)) {
    return make_error(ErrorKind::invalid, "edxml.base64", "An attachment's base64 content is truncated.",
                      static_cast<int>(xmlGetLineNo(current_)));
  }
  EDX_TRY(take(buf_));  // what the last quantum held
  cur_.sha256 = sha_->finish();
  sha_.reset();
  done_.emplace(current_, std::move(cur_));
  cur_.file.reset();
  current_ = nullptr;
  return {};
}

DecodedContent* AttachmentFiles::find(const xmlNode* element) {
  auto it = done_.find(element);
  return it == done_.end() ? nullptr : &it->second;
}

Result<std::string> AttachmentFiles::commit(const xmlNode* element, const std::string& name) {
  DecodedContent* c = find(element);
  if (!c || !c->file) return std::string();
  if (temp_names_) return c->file->keep(durability_);
  std::string unique = name;
  size_t dot = name.rfind('.');
  if (dot == 0 || dot == std::string::npos) dot = name.size();
  for (int k = 2; used_names_.count(unique); ++k) {
    unique = name.substr(0, dot) + " (" + std::to_string(k) + ")" + name.substr(dot);
  }
  used_names_.insert(unique);
  EDX_TRY(c->file->commit(unique, durability_));
  return dir_ + "/" + unique;
}

}  // namespace edxgate::edxml::detail
