#include "context.h"

#include <libxml/xmlsave.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "edxgate/base/hex.h"
#include "edxgate/edxml/pack.h"

namespace edxgate::workflow::detail {

namespace ex = edxgate::edxml;

EngineMetrics::EngineMetrics(MetricsRegistry& r)
    : documents(r.gauge("edxgate_documents", "Documents in the store by direction and state.", {"direction", "state"})),
      outbox_depth(r.gauge("edxgate_outbox_pending", "Outbox items waiting to be sent.")),
      outbox_oldest(r.gauge("edxgate_outbox_oldest_age_seconds", "Age of the oldest pending outbox item.")),
      signatures(r.counter("edxgate_signatures_total", "Envelopes signed, by result.", {"result"})),
      verifications(
          r.counter("edxgate_verifications_total", "Incoming signatures verified, by result code.", {"code"})),
      sends(r.counter("edxgate_axis_sends_total", "Outbox deliveries to the axis, by kind and result.",
                      {"kind", "result"})),
      incoming(r.counter("edxgate_incoming_total", "Incoming deliveries by outcome.", {"outcome"})) {}

void AxisHealth::failed(const std::string& why) {
  MutexLock lock(mu_);
  ok_ = false;
  error_ = why;
}

Status AxisHealth::check() const {
  if (ok_) return {};
  MutexLock lock(mu_);
  return make_error(ErrorKind::unavailable, "ready.axis", "the last axis call failed: " + error_);
}

ScratchDir::ScratchDir(const std::string& parent, bool make) {
  path_ = parent + "/scratch-" + ex::new_uuid();
  if (!make) return;
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec) path_.clear();
}

ScratchDir::~ScratchDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Result<std::unique_ptr<ScratchDir>> make_scratch(const Context& c) {
  auto d = std::make_unique<ScratchDir>(c.opt.work_dir);
  if (!d->ok()) return make_error(ErrorKind::io, "io.write", "cannot create a temp directory in " + c.opt.work_dir);
  return d;
}

std::string files_dir(const std::string& work_dir) { return work_dir + "/files"; }

ScratchFile::ScratchFile(const std::string& work_dir, const std::string& tag)
    : path_(files_dir(work_dir) + "/" + ex::new_uuid() + "-" + tag) {}

ScratchFile::~ScratchFile() { ::unlink(path_.c_str()); }

DecodedFiles::DecodedFiles(const crypto::VerifiedEnvelope& read) {
  if (!read.envelope.ok()) return;
  for (const ex::Attachment& a : read.envelope->envelope.attachments) {
    if (!a.path.empty()) paths_.push_back(a.path);
  }
}

DecodedFiles::~DecodedFiles() {
  for (const std::string& p : paths_) ::unlink(p.c_str());
}

ex::ReadOptions shared_dir_read(const Context& c, const ScratchDir& unzip) {
  ex::ReadOptions ro = c.opt.read;
  ro.attachment_dir = files_dir(c.opt.work_dir);
  ro.temp_names = true;
  ro.sync_attachments = false;
  ro.unzip_dir = unzip.path();
  return ro;
}

void clean_work_dir(const std::string& work_dir) {
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  std::filesystem::permissions(work_dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  for (const auto& entry : std::filesystem::directory_iterator(work_dir, ec)) {
    if (entry.path().filename().string().rfind("scratch-", 0) == 0) std::filesystem::remove_all(entry.path(), ec);
  }
  const std::string files = files_dir(work_dir);
  std::filesystem::remove_all(files, ec);  // the files of requests a crash cut short
  std::filesystem::create_directory(files, ec);
  std::filesystem::permissions(files, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ",";
    out += i;
  }
  return out;
}

Result<std::string> document_bytes(xmlDoc* doc) {
  std::unique_ptr<xmlBuffer, decltype(&xmlBufferFree)> buf(xmlBufferCreate(), xmlBufferFree);
  if (!buf) return make_error(ErrorKind::internal, "xml.write", "out of memory");
  xmlSaveCtxtPtr ctx = xmlSaveToBuffer(buf.get(), "UTF-8", 0);
  if (!ctx) return make_error(ErrorKind::internal, "xml.write", "cannot serialize the document");
  const long r = xmlSaveDoc(ctx, doc);
  const int closed = xmlSaveClose(ctx);  // frees ctx, flushes into buf
  if (r < 0 || closed < 0) return make_error(ErrorKind::internal, "xml.write", "cannot serialize the document");
  return std::string(reinterpret_cast<const char*>(xmlBufferContent(buf.get())),
                     static_cast<size_t>(xmlBufferLength(buf.get())));
}

bool same_organ(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string signer_summary(const crypto::Verification& v) {
  if (!v.signer) return v.valid ? "valid" : v.code + ": " + v.message;
  std::string s = v.signer->subject + " (serial " + v.signer->serial + ", issuer " + v.signer->issuer + ")";
  s += v.valid ? ", " + v.signature_algorithm : "; " + v.code + ": " + v.message;
  return s.substr(0, 4000);
}

namespace {

std::string iso_date(const ex::Date& d) {
  std::string s = ex::format_date(d);
  std::replace(s.begin(), s.end(), '/', '-');
  return s;
}

int parse_priority(const std::string& text) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && p == text.data() + text.size() ? v : 0;
}

}  // namespace

Status fill_document(store::NewDocument& nd, const ex::Envelope& env, const store::BlobStore& blobs, bool from_reader,
                     store::NameSync names) {
  const ex::MessageHeader& m = *env.message;
  nd.envelope_id = m.document_id;
  nd.sender = m.from.organ_id;
  if (env.trace.business) nd.business_doc_type = static_cast<int>(env.trace.business->doc_type);
  for (const auto& t : m.to) nd.recipients.push_back(t.organ_id);
  nd.code_number = m.code.number;
  nd.code_notation = m.code.notation;
  nd.promulgation_date = iso_date(m.promulgation_date);
  nd.subject = m.subject;
  nd.document_type = m.type_name.empty() ? m.type : m.type_name;
  nd.priority = parse_priority(m.priority);
  if (m.due_date) nd.due_date = iso_date(*m.due_date);
  // The files are ours (spool or scratch, consumed): linked into the blob
  // store, not copied (a new file costs an inode, the slow part on ext4).
  auto keep = [&](const std::string& path, const std::array<uint8_t, 32>& sha256, uint64_t size) {
    if (!from_reader) return blobs.adopt_file(path, nullptr, names);
    const store::BlobRef known{to_hex(std::span<const uint8_t>(sha256)), size};
    return blobs.adopt_file(path, &known, store::NameSync::deferred);
  };
  for (const auto& a : env.attachments) {
    auto ref = keep(a.path, a.sha256, a.size);
    if (!ref.ok()) return ref.error();
    store::Attachment sa{a.name, a.content_type, *ref, std::nullopt, {}};
    if (a.unzipped) {
      // The clerk gets the file inside; the ZIP as received stays (it was signed).
      auto inner = keep(a.unzipped->path, a.unzipped->sha256, a.unzipped->size);
      if (!inner.ok()) return inner.error();
      sa.unzipped = *inner;
    } else if (a.unzip_error) {
      sa.note = a.unzip_error->code + ": " + a.unzip_error->message;
    }
    nd.attachments.push_back(std::move(sa));
  }
  return {};
}

bool is_input_error(const Error& e) {
  switch (e.kind) {
    case ErrorKind::invalid:
    case ErrorKind::malformed:
    case ErrorKind::forbidden:
    case ErrorKind::not_found:
    case ErrorKind::too_large:
      return true;
    default:
      return false;
  }
}

}  // namespace edxgate::workflow::detail
