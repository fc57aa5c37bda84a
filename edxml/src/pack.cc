#include "edxgate/edxml/pack.h"

#include <openssl/rand.h>

#include <cctype>
#include <filesystem>
#include <stdexcept>
#include <utility>

namespace edxgate::edxml {

std::string new_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 15]);
  }
  return s;
}

std::string guess_content_type(const std::string& name) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".pdf", "application/pdf"},
      {".doc", "application/msword"},
      {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {".xls", "application/vnd.ms-excel"},
      {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {".odt", "application/vnd.oasis.opendocument.text"},
      {".txt", "text/plain"},
      {".xml", "application/xml"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".png", "image/png"},
      {".zip", "application/zip"},
      {".p7s", "application/pkcs7-signature"}};
  std::string ext = std::filesystem::path(name).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [e, t] : kTypes) {
    if (ext == e) return t;
  }
  return "application/octet-stream";
}

Status complete_for_pack(Envelope& env, const std::vector<std::string>& files, const std::vector<std::string>& names) {
  if (!env.message || env.status) {
    return make_error(ErrorKind::invalid, "edxml.missing",
                      "the header must hold a \"message\" (status messages are "
                      "made with 'edxgate status make').");
  }
  if (!env.attachments.empty() && env.attachments.size() != files.size()) {
    return make_error(ErrorKind::usage, "usage.attachments",
                      "the header lists " + std::to_string(env.attachments.size()) + " attachments but " +
                          std::to_string(files.size()) + " files were given.");
  }
  env.attachments.resize(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    Attachment& a = env.attachments[i];
    std::error_code ec;
    if (!std::filesystem::is_regular_file(files[i], ec)) {
      return make_error(ErrorKind::io, "io.read", "Cannot read the attachment file " + files[i] + ".");
    }
    a.path = files[i];
    a.size = std::filesystem::file_size(files[i], ec);
    if (a.name.empty()) {
      a.name = i < names.size() && !names[i].empty() ? names[i] : std::filesystem::path(files[i]).filename().string();
    }
    if (a.content_type.empty()) a.content_type = guess_content_type(a.name);
    if (a.content_id.empty()) a.content_id = new_uuid();
  }
  MessageHeader& m = *env.message;
  if (env.trace.traces.empty()) env.trace.traces.push_back({m.from.organ_id, now_vietnam()});
  if (!env.trace.business) env.trace.business.emplace();
  if (m.document_id.empty() && m.promulgation_date.year != 0) {
    m.document_id = m.from.organ_id + "," + format_date(m.promulgation_date) + "," + format_document_code(m.code);
  }
  return {};
}

Status complete_for_pack(Envelope& env, const std::vector<std::string>& files) {
  return complete_for_pack(env, files, {});
}

}  // namespace edxgate::edxml
