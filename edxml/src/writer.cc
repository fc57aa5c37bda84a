#include "edxgate/edxml/writer.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "edxgate/base/base64.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/hex.h"
#include "edxgate/base/read_buffer.h"
#include "edxgate/edxml/xml.h"
#include "text.h"

namespace edxgate::edxml {
namespace {

constexpr size_t kFlushAt = 1 << 20;
constexpr size_t kEncodeBlock = 57 * 16384;  // whole 76-column lines per block

std::string random_hex(size_t bytes) {
  unsigned char b[16];
  if (RAND_bytes(b, static_cast<int>(bytes)) != 1) throw std::runtime_error("RAND_bytes failed");
  return to_hex(b, bytes);
}

// Buffers output and hands it to the sink in large pieces.
class Out {
 public:
  explicit Out(const ByteSink& sink) : sink_(sink) { buf_.reserve(kFlushAt + kEncodeBlock * 2); }

  // First error wins; later writes are dropped.
  Status status() const { return status_; }

  void raw(std::string_view s) {
    buf_.append(s);
    maybe_flush();
  }
  // <edXML:name>text</edXML:name>, text checked and NFC-normalized.
  void el(std::string_view name, std::string_view text) {
    if (!status_.ok()) return;
    if (!valid_utf8_xml(text)) return;
    open(name);
    detail::append_escaped(buf_, detail::nfc(text));
    close(name);
  }
  void open(std::string_view name, std::string_view attrs = "") {
    buf_.append("<edXML:").append(name).append(attrs).append(">");
  }
  void close(std::string_view name) {
    buf_.append("</edXML:").append(name).append(">");
    maybe_flush();
  }
  void flush() {
    if (status_.ok() && !buf_.empty()) status_ = sink_(buf_);
    buf_.clear();
  }
  std::string& buffer() { return buf_; }
  void fail(Error e) {
    if (status_.ok()) status_ = std::move(e);
  }

 private:
  bool valid_utf8_xml(std::string_view text) {
    if (detail::valid_utf8(text) && detail::valid_xml_chars(text)) return true;
    fail(make_error(ErrorKind::invalid, "edxml.text",
                    "A header field holds text that is not UTF-8 or has characters "
                    "XML cannot carry."));
    return false;
  }
  void maybe_flush() {
    if (buf_.size() >= kFlushAt) flush();
  }

  const ByteSink& sink_;
  std::string buf_;
  Status status_;
};

void write_org(Out& o, std::string_view name, const Organization& org) {
  o.open(name);
  o.el("OrganId", org.organ_id);
  o.el("OrganizationInCharge", org.organization_in_charge);
  o.el("OrganName", org.organ_name);
  o.el("OrganAdd", org.organ_add);
  o.el("Email", org.email);
  o.el("Telephone", org.telephone);
  o.el("Fax", org.fax);
  o.el("Website", org.website);
  o.close(name);
}

void write_response_for(Out& o, const ResponseFor& r) {
  o.open("ResponseFor");
  o.el("OrganId", r.organ_id);
  o.el("Code", r.code);
  o.el("PromulgationDate", r.promulgation_date ? format_date(*r.promulgation_date) : "");
  o.el("DocumentId", r.document_id);
  o.close("ResponseFor");
}

void write_staff(Out& o, const StaffInfo& s) {
  o.open("StaffInfo");
  o.el("Department", s.department);
  o.el("Staff", s.staff);
  o.el("Mobile", s.mobile);
  o.el("Email", s.email);
  o.close("StaffInfo");
}

// Extension elements are XML text: each must be one well-formed element
// (it was read by our parser; this keeps hand-made ones from injecting).
void write_raw(Out& o, const std::vector<RawElement>& raws) {
  Limits small;
  small.max_total_bytes = small.max_text_bytes;
  for (const RawElement& r : raws) {
    auto doc = parse_xml(r.xml, small);
    if (!doc.ok() || detail::trim(r.xml).front() != '<' || r.xml.find("<?") != std::string::npos) {
      o.fail(make_error(ErrorKind::invalid, "edxml.text", "An extension element is not one well-formed element."));
      return;
    }
    o.raw(r.xml);
  }
}

void write_message_header(Out& o, const MessageHeader& m) {
  o.open("MessageHeader");
  write_org(o, "From", m.from);
  for (const Organization& to : m.to) write_org(o, "To", to);
  o.open("Code");
  o.el("CodeNumber", m.code.number);
  o.el("CodeNotation", m.code.notation);
  o.close("Code");
  o.open("PromulgationInfo");
  o.el("Place", m.promulgation_place);
  o.el("PromulgationDate", format_date(m.promulgation_date));
  o.close("PromulgationInfo");
  o.open("DocumentType");  // the order of the official .NET SDK sample
  o.el("Type", m.type);
  o.el("TypeName", m.type_name);
  o.el("TypeDetail", m.type_detail);
  o.close("DocumentType");
  o.el("Subject", m.subject);
  o.el("Content", m.content);
  o.open("SignerInfo");
  o.el("Competence", m.signer_competence);
  o.el("Position", m.signer_position);
  o.el("FullName", m.signer_full_name);
  o.close("SignerInfo");
  if (m.due_date) o.el("DueDate", format_date(*m.due_date));
  o.open("ToPlaces");
  for (const std::string& p : m.to_places) o.el("Place", p);
  o.close("ToPlaces");
  o.open("OtherInfo");
  o.el("Priority", m.priority);
  o.el("SphereOfPromulgation", m.sphere_of_promulgation);
  o.el("TyperNotation", m.typer_notation);
  o.el("PromulgationAmount", m.promulgation_amount);
  o.el("PageAmount", m.page_amount);
  o.open("Appendixes");
  for (const std::string& a : m.appendixes) o.el("Appendix", a);
  o.close("Appendixes");
  write_raw(o, m.other_info_extensions);
  o.close("OtherInfo");
  o.el("SteeringType", m.steering_type);
  o.el("DocumentId", m.document_id);
  if (m.response_for) write_response_for(o, *m.response_for);
  write_raw(o, m.extensions);
  o.close("MessageHeader");
}

void write_status(Out& o, const StatusMessage& s, const std::string& element) {
  o.open(element);
  write_response_for(o, s.response_for);
  write_org(o, "From", s.from);
  o.el("StatusCode", format_status_code(s.code));
  o.el("Description", s.description);
  o.el("Timestamp", format_datetime(s.timestamp));
  write_staff(o, s.staff);
  write_raw(o, s.extensions);
  o.close(element);
}

void write_business(Out& o, const Business& b) {
  // The order the Government Office's SDK package writes (its revocation,
  // update and replacement samples): the DocumentId of the document
  // concerned first, then type, reason, Paper, the update's or the
  // replacement's details, StaffInfo.
  o.open("Bussiness");
  if (!b.document_id.empty()) o.el("DocumentId", b.document_id);
  o.el("BussinessDocType", std::to_string(static_cast<int>(b.doc_type)));
  o.el("BussinessDocReason", b.reason);
  o.el("Paper", b.paper ? "1" : "0");
  if (!b.document_info.empty() || !b.document_receiver.empty() || !b.receivers.empty()) {
    o.open("BussinessDocumentInfo");
    o.el("DocumentInfo", b.document_info);
    o.el("DocumentReceiver", b.document_receiver);
    o.open("ReceiverList");
    write_raw(o, b.receivers);
    o.close("ReceiverList");
    o.close("BussinessDocumentInfo");
  }
  if (!b.replacements.empty()) {
    o.open("ReplacementInfoList");
    for (const ReplacementInfo& r : b.replacements) {
      o.open("ReplacementInfo");
      o.el("DocumentId", r.document_id);
      o.open("OrganIdList");
      for (const std::string& id : r.organ_ids) o.el("OrganId", id);
      o.close("OrganIdList");
      o.close("ReplacementInfo");
    }
    o.close("ReplacementInfoList");
  }
  // StaffInfo as the SDK package writes it in Bussiness: Email before Mobile.
  o.open("StaffInfo");
  o.el("Department", b.staff.department);
  o.el("Staff", b.staff.staff);
  o.el("Email", b.staff.email);
  o.el("Mobile", b.staff.mobile);
  o.close("StaffInfo");
  o.close("Bussiness");
}

void write_trace(Out& o, const TraceHeaderList& t) {
  o.open("TraceHeaderList", " id=\"" + random_hex(4) +
                                "\" version=\"1.0\" mustUnderstand=\"1\" "
                                "actor=\"http://schemas.xmlsoap.org/soap/actor/next\"");
  for (const TraceHeader& h : t.traces) {
    o.open("TraceHeader");
    o.el("OrganId", h.organ_id);
    o.el("Timestamp", format_datetime(h.timestamp));
    o.close("TraceHeader");
  }
  if (t.business) write_business(o, *t.business);
  o.close("TraceHeaderList");
}

void write_manifest(Out& o, const std::vector<Attachment>& atts) {
  o.open("edXMLBody");
  o.open("edXMLManifest", " version=\"1.0\"");
  for (const Attachment& a : atts) {
    std::string attrs = " xlink:href=\"";
    detail::append_escaped(attrs, "cid:" + detail::nfc(a.content_id), true);
    attrs += "\" xlink:role=\"XLinkRole\" xlink:type=\"simple\"";
    o.open("Reference", attrs);
    o.el("Description", a.description);
    o.el("AttachmentName", a.name);
    o.el("ContentType", a.content_type);
    o.el("ContentId", "cid:" + a.content_id);
    o.close("Reference");
  }
  o.close("edXMLManifest");
  o.close("edXMLBody");
}

Status read_full(int fd, char* buf, size_t n, size_t& got) {
  got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return make_error(ErrorKind::io, "io.read",
                        std::string("Cannot read an attachment: ") + std::strerror(errno) + ".");
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return {};
}

void write_content(Out& o, const Attachment& a) {
  fs::UniqueFd fd(::open(a.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    o.fail(make_error(ErrorKind::io, "io.read",
                      "Cannot open the attachment file " + a.path + ": " + std::strerror(errno) + "."));
    return;
  }
  o.open("ContentTransferEncoded");
  o.raw("\n");
  ReadBuffer block(fd.get(), kEncodeBlock);
  base64::Encoder encoder(76);  // 76-column lines, each ended by "\n"
  for (;;) {
    size_t got = 0;
    if (auto s = read_full(fd.get(), block.data(), block.size(), got); !s) {
      o.fail(s.error());
      return;
    }
    if (got == 0) break;
    encoder.update({block.data(), got}, o.buffer());
    o.raw("");
    if (!o.status().ok() || got < block.size()) break;
  }
  encoder.finish(o.buffer());
  o.close("ContentTransferEncoded");
}

void write_attachments(Out& o, const std::vector<Attachment>& atts) {
  if (atts.empty()) return;
  o.open("AttachmentEncoded");
  for (const Attachment& a : atts) {  // the order of the official .NET SDK sample
    o.open("Attachment");
    o.el("ContentType", a.content_type);
    o.el("ContentId", a.content_id);
    o.el("Description", a.description);
    write_content(o, a);
    o.el("AttachmentName", a.name);
    o.close("Attachment");
    if (!o.status().ok()) return;
  }
  o.close("AttachmentEncoded");
}

}  // namespace

Status write_envelope(const Envelope& env, const WriteOptions& options, const ByteSink& sink) {
  EDX_TRY(check_envelope(env, options.format));
  const std::string& status_el = options.format.status_element;
  if (env.status &&
      std::find(std::begin(kStatusElements), std::end(kStatusElements), status_el) == std::end(kStatusElements)) {
    return make_error(ErrorKind::usage, "edxml.options",
                      "The status element must be MessageHeader, MessageStatus or Status.");
  }
  Out o(sink);
  o.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns=\"");
  o.raw(kEdxmlNs);
  o.raw("\" xmlns:edXML=\"");
  o.raw(kEdxmlNs);
  o.raw("\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">");
  o.open("edXMLEnvelope");
  o.open("edXMLHeader");
  if (env.message) write_message_header(o, *env.message);
  if (env.status) write_status(o, *env.status, status_el);
  write_trace(o, env.trace);
  o.close("edXMLHeader");
  if (env.message) write_manifest(o, env.attachments);
  o.close("edXMLEnvelope");
  write_attachments(o, env.attachments);
  o.raw("</edXML>\n");
  o.flush();
  return o.status();
}

Status write_envelope_file(const Envelope& env, const WriteOptions& options, const std::string& path,
                           fs::Durability durability) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  auto file = fs::AtomicFile::create(dir, 0644);
  if (!file.ok()) return file.error();
  EDX_TRY(write_envelope(env, options, [&](std::string_view piece) { return file->write(piece); }));
  return file->commit(p.filename().string(), durability);
}

Result<std::string> write_envelope_string(const Envelope& env, const WriteOptions& options) {
  std::string out;
  EDX_TRY(write_envelope(env, options, [&](std::string_view piece) -> Status {
    out.append(piece);
    return {};
  }));
  return out;
}

}  // namespace edxgate::edxml
