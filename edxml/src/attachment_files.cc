#include "attachment_files.h"

#include <stdexcept>

namespace edxgate::edxml::detail {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 unavailable");
  }
}
void Sha256::update(const void* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
void Sha256::final(uint8_t out[32]) {
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx_.get(), out, &len);
}

Status AttachmentFiles::begin(xmlNode* element) {
  if (done_.size() >= limits_.max_attachments) {
    return make_error("edxml.attachments", "The envelope has more than " +
                                               std::to_string(limits_.max_attachments) +
                                               " attachments.",
                      static_cast<int>(xmlGetLineNo(element)));
  }
  current_ = element;
  cur_.file.reset();
  cur_.size = 0;
  cur_.sha256 = {};
  cur_.head.clear();
  decoder_ = Base64Decoder{};
  sha_ = std::make_unique<Sha256>();
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
    return make_error("edxml.base64", "An attachment's content is not valid base64.",
                      static_cast<int>(xmlGetLineNo(current_)));
  }
  cur_.size += buf_.size();
  if (cur_.size > limits_.max_attachment_bytes) {
    return make_error("edxml.attachment_size", "An attachment is larger than the limit of " +
                                                   std::to_string(limits_.max_attachment_bytes) +
                                                   " bytes.");
  }
  if (cur_.head.size() < 4) cur_.head.append(buf_, 0, 4 - cur_.head.size());
  sha_->update(buf_.data(), buf_.size());
  if (cur_.file) EDX_TRY(cur_.file->write(buf_.data(), buf_.size()));
  return {};
}

Status AttachmentFiles::end() {
  if (!decoder_.finish()) {
    return make_error("edxml.base64", "An attachment's base64 content is truncated.",
                      static_cast<int>(xmlGetLineNo(current_)));
  }
  sha_->final(cur_.sha256.data());
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
  std::string unique = name;
  size_t dot = name.rfind('.');
  if (dot == 0 || dot == std::string::npos) dot = name.size();
  for (int k = 2; used_names_.count(unique); ++k) {
    unique = name.substr(0, dot) + " (" + std::to_string(k) + ")" + name.substr(dot);
  }
  used_names_.insert(unique);
  EDX_TRY(c->file->commit(unique));
  return dir_ + "/" + unique;
}

}  // namespace edxgate::edxml::detail
