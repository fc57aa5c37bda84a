// The DOM -> model walk shared by the streaming and the in-memory readers.
#include "dom_reader.h"

#include <libxml/xmlsave.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <set>

#include "edxgate/edxml/zipped.h"
#include "text.h"

namespace edxgate::edxml::detail {
namespace {

std::string_view sv(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

int line_of(const xmlNode* n) { return static_cast<int>(xmlGetLineNo(n)); }

bool in_edxml_ns(const xmlNode* n) { return n->ns && sv(n->ns->href) == kEdxmlNs; }

// Which namespaces an element of a container may be in.
enum class Ns { edxml, edxml_or_none };

bool ns_ok(const xmlNode* n, Ns ns) { return in_edxml_ns(n) || (ns == Ns::edxml_or_none && !n->ns); }

std::string text_of(const xmlNode* n) {
  XmlCharPtr c(xmlNodeGetContent(n));
  return nfc(sv(c.get()));
}

std::string trimmed_text(const xmlNode* n) { return std::string(trim(text_of(n))); }

// A text field holds text only: markup inside it is refused (the schema
// refuses it too, and no peer writes it).
Status text_only(const xmlNode* n) {
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      return make_error(
          ErrorKind::invalid, "edxml.structure",
          "The text field " + std::string(sv(n->name)) + " contains the element " + std::string(sv(c->name)) + ".",
          line_of(c));
    }
  }
  return {};
}

constexpr size_t kMaxUnknownWarnings = 20;

struct Field {
  std::string_view name;
  std::function<Status(xmlNode*)> set;
  bool repeat = false;
};

// What to do with an element a structure does not define.
using Unknown = std::function<Status(xmlNode*)>;

// Ignored, with a warning (the first few of them).
Unknown ignore_unknown(WalkContext& cx, const xmlNode* parent) {
  return [&cx, parent](xmlNode* c) -> Status {
    if (cx.unknown_elements++ < kMaxUnknownWarnings) {
      cx.warnings.push_back({"edxml.unknown_element",
                             "The element " + std::string(sv(c->name).substr(0, 80)) + " in " +
                                 std::string(sv(parent->name).substr(0, 80)) + " is not part of edXML; ignored.",
                             line_of(c)});
    } else if (cx.unknown_elements == kMaxUnknownWarnings + 1) {
      cx.warnings.push_back({"edxml.unknown_element", "More unknown elements were ignored.", line_of(c)});
    }
    return {};
  };
}

Status with_line(Status s, const xmlNode* n) {
  if (s.ok() || s.error().line != 0) return s;
  Error e = s.error();
  e.line = line_of(n);
  return e;
}

// Whether read_fields checks, for what we send, that the children come in
// the order `fields` lists them.
enum class Order { any, as_listed };

// Dispatches the element children of `parent` to `fields` by local name.
// A known name in a foreign namespace is refused; unknown elements go to
// `unknown` (by default: ignored with a warning).
Status read_fields(WalkContext& cx, const xmlNode* parent, Ns ns, std::initializer_list<Field> fields,
                   const Unknown& unknown = nullptr, Order order = Order::any) {
  std::set<std::string_view> seen;
  const Field* last = nullptr;
  for (xmlNode* c = parent->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const Field* f = nullptr;
    for (const Field& cand : fields) {
      if (cand.name == sv(c->name)) f = &cand;
    }
    if (!f) {
      EDX_TRY(with_line(unknown ? unknown(c) : ignore_unknown(cx, parent)(c), c));
      continue;
    }
    if (!ns_ok(c, ns)) {
      return make_error(ErrorKind::invalid, "xml.namespace",
                        "The element " + std::string(f->name) + " is not in the edXML namespace.", line_of(c));
    }
    if (!f->repeat && !seen.insert(f->name).second) {
      return make_error(ErrorKind::invalid, "edxml.duplicate",
                        "The element " + std::string(f->name) + " appears twice.", line_of(c));
    }
    if (cx.outgoing && order == Order::as_listed) {
      if (last && f < last) {
        return make_error(ErrorKind::invalid, "edxml.order",
                          "In " + std::string(sv(parent->name)) + ", " + std::string(f->name) + " comes after " +
                              std::string(last->name) + ": what we send keeps the SDK order.",
                          line_of(c));
      }
      last = f;
    }
    EDX_TRY(with_line(f->set(c), c));
  }
  return {};
}

Field text_field(std::string_view name, std::string& out) {
  return {name, [&out](xmlNode* n) -> Status {
            EDX_TRY(text_only(n));
            out = text_of(n);
            return {};
          }};
}

Field trimmed_field(std::string_view name, std::string& out) {
  return {name, [&out](xmlNode* n) -> Status {
            EDX_TRY(text_only(n));
            out = trimmed_text(n);
            return {};
          }};
}

Field date_field(std::string_view name, std::optional<Date>& out) {
  return {name, [&out](xmlNode* n) -> Status {
            EDX_TRY(text_only(n));
            std::string t = trimmed_text(n);
            if (t.empty()) return {};
            auto d = parse_date(t);
            if (!d.ok()) return d.error();
            out = *d;
            return {};
          }};
}

Field datetime_field(std::string_view name, DateTime& out) {
  return {name, [&out](xmlNode* n) -> Status {
            EDX_TRY(text_only(n));
            std::string t = trimmed_text(n);
            if (t.empty()) return {};
            auto d = parse_datetime(t);
            if (!d.ok()) return d.error();
            out = *d;
            return {};
          }};
}

// An element kept whole: copied into a document of its own so that every
// namespace it uses is declared on it, then serialized.
Result<RawElement> raw_element(const xmlNode* n) {
  XmlDocPtr doc(xmlNewDoc(BAD_CAST "1.0"));
  xmlNode* copy = xmlDocCopyNode(const_cast<xmlNode*>(n), doc.get(), 1);
  if (!copy) throw std::bad_alloc();
  xmlDocSetRootElement(doc.get(), copy);
  xmlReconciliateNs(doc.get(), copy);
  if (!copy->ns) {
    // Written inside our envelope, whose root declares a default namespace,
    // a no-namespace element must say so itself.
    bool undeclared = false;
    for (xmlNs* d = copy->nsDef; d; d = d->next) {
      if (d->prefix) continue;
      if (d->href && d->href[0]) {
        return make_error(ErrorKind::invalid, "xml.namespace",
                          "An extension element without a namespace holds "
                          "default-namespace content.",
                          line_of(n));
      }
      undeclared = true;  // already xmlns=""
    }
    if (!undeclared && !xmlNewNs(copy, BAD_CAST "", nullptr)) throw std::bad_alloc();
  }
  std::unique_ptr<xmlBuffer, decltype(&xmlBufferFree)> buf(xmlBufferCreate(), xmlBufferFree);
  if (!buf || xmlNodeDump(buf.get(), doc.get(), copy, 0, 0) < 0) throw std::bad_alloc();
  return RawElement{nfc(sv(xmlBufferContent(buf.get())))};
}

Unknown keep_into(std::vector<RawElement>& out) {
  return [&out](xmlNode* n) -> Status {
    auto r = raw_element(n);
    if (!r.ok()) return r.error();
    out.push_back(std::move(r.value()));
    return {};
  };
}

Status read_org(WalkContext& cx, const xmlNode* n, Organization& o) {
  return read_fields(
      cx, n, Ns::edxml,
      {trimmed_field("OrganId", o.organ_id), text_field("OrganizationInCharge", o.organization_in_charge),
       text_field("OrganName", o.organ_name), text_field("OrganAdd", o.organ_add), trimmed_field("Email", o.email),
       trimmed_field("Telephone", o.telephone), trimmed_field("Fax", o.fax), trimmed_field("Website", o.website)});
}

Status read_response_for(WalkContext& cx, const xmlNode* n, ResponseFor& r) {
  return read_fields(cx, n, Ns::edxml,
                     {trimmed_field("OrganId", r.organ_id), trimmed_field("Code", r.code),
                      date_field("PromulgationDate", r.promulgation_date), trimmed_field("DocumentId", r.document_id)});
}

Status read_staff(WalkContext& cx, const xmlNode* n, StaffInfo& s) {
  return read_fields(cx, n, Ns::edxml,
                     {text_field("Department", s.department), text_field("Staff", s.staff),
                      trimmed_field("Mobile", s.mobile), trimmed_field("Email", s.email)});
}

Status read_list(WalkContext& cx, const xmlNode* n, std::string_view item, std::vector<std::string>& out,
                 bool trimmed = false) {
  return read_fields(cx, n, Ns::edxml,
                     {Field{item,
                            [&out, trimmed](xmlNode* c) -> Status {
                              EDX_TRY(text_only(c));
                              out.push_back(trimmed ? trimmed_text(c) : text_of(c));
                              return {};
                            },
                            true}});
}

Status read_other_info(WalkContext& cx, const xmlNode* n, MessageHeader& m) {
  return read_fields(cx, n, Ns::edxml,
                     {trimmed_field("Priority", m.priority),
                      text_field("SphereOfPromulgation", m.sphere_of_promulgation),
                      text_field("TyperNotation", m.typer_notation),
                      trimmed_field("PromulgationAmount", m.promulgation_amount),
                      trimmed_field("PageAmount", m.page_amount),
                      {"Appendixes", [&](xmlNode* c) { return read_list(cx, c, "Appendix", m.appendixes); }}},
                     keep_into(m.other_info_extensions));
}

Status read_message_header(WalkContext& cx, const xmlNode* n, MessageHeader& m) {
  std::optional<Date> promulgation;
  std::string code_number, code_notation;
  // In the SDKs' order (what we send keeps it; on receive DocumentId right
  // after the last To and ToPlaces after SteeringType are common).
  Status s = read_fields(
      cx, n, Ns::edxml,
      {{"From", [&](xmlNode* c) { return read_org(cx, c, m.from); }},
       {"To",
        [&](xmlNode* c) {
          m.to.emplace_back();
          return read_org(cx, c, m.to.back());
        },
        true},
       {"Code",
        [&](xmlNode* c) {
          return read_fields(cx, c, Ns::edxml,
                             {trimmed_field("CodeNumber", code_number), trimmed_field("CodeNotation", code_notation)});
        }},
       {"PromulgationInfo",
        [&](xmlNode* c) {
          return read_fields(cx, c, Ns::edxml,
                             {text_field("Place", m.promulgation_place), date_field("PromulgationDate", promulgation)});
        }},
       {"DocumentType",
        [&](xmlNode* c) {
          return read_fields(cx, c, Ns::edxml,
                             {trimmed_field("Type", m.type), trimmed_field("TypeDetail", m.type_detail),
                              text_field("TypeName", m.type_name)});
        }},
       text_field("Subject", m.subject),
       text_field("Content", m.content),
       {"SignerInfo",
        [&](xmlNode* c) {
          return read_fields(cx, c, Ns::edxml,
                             {text_field("Competence", m.signer_competence), text_field("Position", m.signer_position),
                              text_field("FullName", m.signer_full_name)});
        }},
       date_field("DueDate", m.due_date),
       {"ToPlaces", [&](xmlNode* c) { return read_list(cx, c, "Place", m.to_places); }},
       {"OtherInfo", [&](xmlNode* c) { return read_other_info(cx, c, m); }},
       trimmed_field("SteeringType", m.steering_type),
       trimmed_field("DocumentId", m.document_id),
       {"ResponseFor",
        [&](xmlNode* c) -> Status {
          ResponseFor r;
          EDX_TRY(read_response_for(cx, c, r));
          if (r != ResponseFor{}) m.response_for = std::move(r);  // empty: as if absent
          return {};
        }}},
      keep_into(m.extensions), Order::as_listed);
  if (!s.ok()) return s;
  m.code = DocumentCode{code_number, code_notation};
  if (promulgation) m.promulgation_date = *promulgation;
  return {};
}

Status read_status(WalkContext& cx, const xmlNode* n, StatusMessage& st) {
  std::string code;
  EDX_TRY(read_fields(cx, n, Ns::edxml,
                      {{"ResponseFor", [&](xmlNode* c) { return read_response_for(cx, c, st.response_for); }},
                       {"From", [&](xmlNode* c) { return read_org(cx, c, st.from); }},
                       trimmed_field("StatusCode", code),
                       text_field("Description", st.description),
                       datetime_field("Timestamp", st.timestamp),
                       {"StaffInfo", [&](xmlNode* c) { return read_staff(cx, c, st.staff); }}},
                      keep_into(st.extensions)));
  if (code.empty())
    return make_error(ErrorKind::invalid, "edxml.missing", "The status message has no StatusCode.", line_of(n));
  auto c = parse_status_code(code);
  if (!c.ok()) return with_line(c.error(), n);
  st.code = *c;
  return {};
}

Status read_business(WalkContext& cx, const xmlNode* n, Business& b) {
  std::string doc_type, paper;
  EDX_TRY(read_fields(
      cx, n, Ns::edxml,
      {trimmed_field("BussinessDocType", doc_type),
       text_field("BussinessDocReason", b.reason),
       trimmed_field("DocumentId", b.document_id),
       {"BussinessDocumentInfo",
        [&](xmlNode* c) {
          return read_fields(cx, c, Ns::edxml,
                             {text_field("DocumentInfo", b.document_info),
                              text_field("DocumentReceiver", b.document_receiver),
                              {"ReceiverList", [&](xmlNode* l) {
                                 return read_fields(cx, l, Ns::edxml, {{"Receiver", keep_into(b.receivers), true}});
                               }}});
        }},
       {"ReplacementInfoList",
        [&](xmlNode* c) {
          return read_fields(
              cx, c, Ns::edxml,
              {{"ReplacementInfo",
                [&](xmlNode* r) {
                  b.replacements.emplace_back();
                  ReplacementInfo& ri = b.replacements.back();
                  return read_fields(
                      cx, r, Ns::edxml,
                      {trimmed_field("DocumentId", ri.document_id),
                       {"OrganIdList", [&](xmlNode* l) { return read_list(cx, l, "OrganId", ri.organ_ids, true); }}});
                },
                true}});
        }},
       trimmed_field("Paper", paper),
       {"StaffInfo", [&](xmlNode* c) { return read_staff(cx, c, b.staff); }}}));
  if (!doc_type.empty()) {
    if (doc_type.size() != 1 || doc_type[0] < '0' || doc_type[0] > '3') {
      return make_error(ErrorKind::invalid, "edxml.business", "BussinessDocType must be 0, 1, 2 or 3.", line_of(n));
    }
    b.doc_type = static_cast<BusinessDocType>(doc_type[0] - '0');
  }
  if (!paper.empty() && paper != "0" && paper != "1") {
    return make_error(ErrorKind::invalid, "edxml.business", "Paper must be 0 or 1.", line_of(n));
  }
  b.paper = paper == "1";
  return {};
}

Status read_trace_list(WalkContext& cx, const xmlNode* n, TraceHeaderList& t) {
  auto business = [&](xmlNode* c) -> Status {
    if (t.business) return make_error(ErrorKind::invalid, "edxml.duplicate", "The element Bussiness appears twice.");
    t.business.emplace();
    return read_business(cx, c, *t.business);
  };
  return read_fields(
      cx, n, Ns::edxml,
      {{"TraceHeader",
        [&](xmlNode* c) -> Status {
          t.traces.emplace_back();
          TraceHeader& h = t.traces.back();
          EDX_TRY(read_fields(cx, c, Ns::edxml,
                              {trimmed_field("OrganId", h.organ_id), datetime_field("Timestamp", h.timestamp)}));
          if (h.organ_id == "null") h.organ_id.clear();  // a Java null written out
          return {};
        },
        true},
       {"Bussiness", business, true},
       {"Business", business, true}},
      nullptr, Order::as_listed);
}

std::string strip_cid(std::string id) {
  if (id.size() >= 4 && (id.compare(0, 4, "cid:") == 0 || id.compare(0, 4, "CID:") == 0)) {
    id.erase(0, 4);
  }
  return id;
}

Status read_manifest(WalkContext& cx, const xmlNode* n, std::vector<ManifestRef>& refs) {
  return read_fields(
      cx, n, Ns::edxml,
      {{"Reference",
        [&](xmlNode* r) -> Status {
          ManifestRef ref;
          ref.line = line_of(r);
          std::string cid;
          EDX_TRY(read_fields(
              cx, r, Ns::edxml,
              {trimmed_field("ContentId", cid), text_field("AttachmentName", ref.name),
               trimmed_field("ContentType", ref.content_type), text_field("Description", ref.description)}));
          XmlCharPtr href(xmlGetNsProp(r, BAD_CAST "href", BAD_CAST "http://www.w3.org/1999/xlink"));
          std::string from_href = href ? strip_cid(std::string(trim(sv(href.get())))) : "";
          ref.content_id = cid.empty() ? from_href : strip_cid(cid);
          if (!cid.empty() && !from_href.empty() && from_href != ref.content_id) {
            return make_error(ErrorKind::invalid, "edxml.manifest", "A manifest reference names two content ids.");
          }
          if (ref.content_id.empty())
            return make_error(ErrorKind::invalid, "edxml.missing", "A manifest reference has no content id.");
          refs.push_back(std::move(ref));
          return {};
        },
        true}});
}

bool has_child(const xmlNode* n, std::string_view local) {
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && sv(c->name) == local) return true;
  }
  return false;
}

}  // namespace

// StatusCode decides; without it, a ResponseFor with none of a document's To,
// Code and Subject is a status missing its code (a clearer refusal than "no
// recipient").
bool holds_status(const xmlNode* message_header) {
  if (has_child(message_header, "StatusCode")) return true;
  return has_child(message_header, "ResponseFor") && !has_child(message_header, "To") &&
         !has_child(message_header, "Code") && !has_child(message_header, "Subject");
}

Status DomReader::read_attachment(xmlNode* n) {
  Attachment a;
  xmlNode* content = nullptr;
  std::string cid;
  EDX_TRY(read_fields(cx_, n, Ns::edxml_or_none,
                      {trimmed_field("ContentId", cid),
                       text_field("AttachmentName", a.name),
                       trimmed_field("ContentType", a.content_type),
                       text_field("Description", a.description),
                       {"ContentTransferEncoded", [&content](xmlNode* c) -> Status {
                          content = c;
                          return {};
                        }}}));
  a.content_id = strip_cid(cid);
  if (!content) {
    return make_error(ErrorKind::invalid, "edxml.missing", "An attachment has no ContentTransferEncoded.", line_of(n));
  }
  if (!files_.find(content)) {  // DOM mode: the content is still in the tree
    EDX_TRY(files_.begin(content));
    for (xmlNode* t = content->children; t; t = t->next) {
      if (t->type != XML_TEXT_NODE && t->type != XML_CDATA_SECTION_NODE) {
        return make_error(ErrorKind::invalid, "edxml.base64", "Attachment content contains markup.", line_of(t));
      }
      EDX_TRY(files_.data(sv(t->content)));
    }
    EDX_TRY(files_.end());
  }
  const DecodedContent* d = files_.find(content);
  a.size = d->size;
  a.sha256 = d->sha256;
  a.zipped = is_zipped_attachment(a.name, a.content_type, d->head);
  attachments_.push_back({std::move(a), content});
  return {};
}

Status DomReader::read_header(const xmlNode* n, Envelope& env) {
  bool trace_seen = false;
  // For what we send: the message or status, then TraceHeaderList, then the
  // signature (where the crypto part inserts it).
  int last_rank = 0;
  auto in_order = [&](int rank, const xmlNode* c) -> Status {
    if (cx_.outgoing && rank < last_rank) {
      return make_error(ErrorKind::invalid, "edxml.order",
                        "In edXMLHeader, " + std::string(sv(c->name)) +
                            " is out of place: what we send has the message, "
                            "then TraceHeaderList, then the signature.",
                        line_of(c));
    }
    last_rank = std::max(last_rank, rank);
    return {};
  };
  for (xmlNode* c = n->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    std::string_view name = sv(c->name);
    bool dsig_ns = c->ns && sv(c->ns->href) == kDsigNs;
    if (name == "Signature" && dsig_ns) {
      EDX_TRY(in_order(3, c));
      env.signature = SignaturePresence::dsig;
      continue;
    }
    if (name == "Signature" || name == "DigitalSignature") {
      // An unprefixed Signature inherits the edXML default namespace, an
      // empty DigitalSignature marks an unsigned envelope: look-alikes.
      EDX_TRY(in_order(3, c));
      if (env.signature == SignaturePresence::none) env.signature = SignaturePresence::lookalike;
      continue;
    }
    bool known = name == "MessageHeader" || name == "MessageStatus" || name == "Status" || name == "TraceHeaderList";
    if (!known) {
      EDX_TRY(ignore_unknown(cx_, n)(c));
      continue;
    }
    if (!in_edxml_ns(c)) {
      return make_error(ErrorKind::invalid, "xml.namespace",
                        "The element " + std::string(name) + " is not in the edXML namespace.", line_of(c));
    }
    if (name == "TraceHeaderList") {
      if (trace_seen)
        return make_error(ErrorKind::invalid, "edxml.duplicate", "TraceHeaderList appears twice.", line_of(c));
      trace_seen = true;
      EDX_TRY(in_order(2, c));
      EDX_TRY(read_trace_list(cx_, c, env.trace));
      continue;
    }
    if (env.message || env.status) {
      return make_error(ErrorKind::invalid, "edxml.duplicate", "The header has more than one MessageHeader or status.",
                        line_of(c));
    }
    EDX_TRY(in_order(1, c));
    if (name == "MessageHeader" && !holds_status(c)) {
      env.message.emplace();
      EDX_TRY(read_message_header(cx_, c, *env.message));
    } else {
      env.status.emplace();
      EDX_TRY(read_status(cx_, c, *env.status));
    }
  }
  if (!env.message && !env.status) {
    return make_error(ErrorKind::invalid, "edxml.missing", "The header has neither a MessageHeader nor a status.",
                      line_of(n));
  }
  return {};
}

Status DomReader::read_envelope(const xmlNode* n, Envelope& env) {
  auto manifest = [&](xmlNode* m) -> Status {
    if (manifest_seen_) return make_error(ErrorKind::invalid, "edxml.duplicate", "The body has two manifests.");
    manifest_seen_ = true;
    return read_manifest(cx_, m, refs_);
  };
  EDX_TRY(read_fields(cx_, n, Ns::edxml,
                      {{"edXMLHeader", [&](xmlNode* c) { return read_header(c, env); }},
                       {"edXMLBody", [&](xmlNode* c) -> Status {
                          return read_fields(cx_, c, Ns::edxml, {{"edXMLManifest", manifest}, {"Manifest", manifest}});
                        }}}));
  if (!env.message && !env.status) {
    return make_error(ErrorKind::invalid, "edxml.missing", "The envelope has no edXMLHeader.", line_of(n));
  }
  return {};
}

Status DomReader::check_manifest() const {
  std::set<std::string_view> ref_ids, att_ids;
  for (const ManifestRef& r : refs_) {
    if (!ref_ids.insert(r.content_id).second) {
      return make_error(ErrorKind::invalid, "edxml.duplicate_content_id",
                        "Two manifest references have the content id '" + r.content_id.substr(0, 80) + "'.", r.line);
    }
  }
  for (const auto& [a, node] : attachments_) {
    if (!att_ids.insert(a.content_id).second) {
      return make_error(ErrorKind::invalid, "edxml.duplicate_content_id",
                        "Two attachments have the content id '" + a.content_id.substr(0, 80) + "'.", line_of(node));
    }
  }
  if (refs_.size() != attachments_.size()) {
    return make_error(ErrorKind::invalid, "edxml.manifest",
                      "The manifest lists " + std::to_string(refs_.size()) + " attachments but " +
                          std::to_string(attachments_.size()) + " are attached.");
  }
  for (const ManifestRef& r : refs_) {
    const Attachment* match = nullptr;
    for (const auto& [a, node] : attachments_) {
      if (a.content_id == r.content_id) match = &a;
    }
    if (!match) {
      return make_error(
          ErrorKind::invalid, "edxml.manifest",
          "The manifest references content id '" + r.content_id.substr(0, 80) + "', which is not attached.", r.line);
    }
    if (!r.name.empty() && !match->name.empty() && r.name != match->name) {
      return make_error(ErrorKind::invalid, "edxml.manifest",
                        "The manifest and the attachment '" + r.content_id.substr(0, 80) + "' disagree on its name.",
                        r.line);
    }
  }
  return {};
}

namespace {

Status make_unzip_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return {};
  return make_error(ErrorKind::io, "io.write",
                    "Cannot create the unzip directory " + dir + ": " + std::strerror(errno) + ".");
}

}  // namespace

// Each zipped attachment unzipped next to the others (ReadOptions::unzip_dir).
// A failure belongs to that attachment: recorded, warned, the read goes on.
void DomReader::unzip(Envelope& env) {
  if (options_.unzip_dir.empty()) return;
  const fs::Durability durability = options_.sync_attachments ? fs::Durability::synced : fs::Durability::unsynced;
  bool made = false;
  for (Attachment& a : env.attachments) {
    if (!a.zipped || a.path.empty()) continue;
    std::string file = a.path.substr(a.path.rfind('/') + 1);
    if (options_.temp_names) file.erase(0, 1);  // ".tmp-XXXXXX": unique, but a dot name is not a file name
    // The directory, made at the first zipped attachment (ReadOptions).
    Status dir = made ? Status{} : make_unzip_dir(options_.unzip_dir);
    made = dir.ok();
    auto r = made ? unzip_attachment(a.path, options_.unzip_dir, file, options_.limits, durability)
                  : Result<UnzippedFile>(dir.error());
    if (r.ok()) {
      a.unzipped = std::move(r.value());
      a.unzipped->name = a.name;
      continue;
    }
    a.unzip_error = Warning{r.error().code, r.error().message, 0};
    env.warnings.push_back({r.error().code,
                            "The attachment '" + a.name.substr(0, 80) +
                                "' is zipped and was "
                                "kept as received: " +
                                r.error().message,
                            0});
  }
}

Result<Envelope> DomReader::read(const xmlDoc* doc) {
  const xmlNode* root = xmlDocGetRootElement(doc);
  if (!root || sv(root->name) != "edXML") {
    return make_error(ErrorKind::invalid, "edxml.structure",
                      "The document is not an edXML envelope (root element "
                      "edXML expected).",
                      root ? line_of(root) : 0);
  }
  if (!in_edxml_ns(root)) {
    return make_error(ErrorKind::invalid, "xml.namespace",
                      "The root element edXML is not in the namespace " + std::string(kEdxmlNs) + ".", line_of(root));
  }
  Envelope env;
  bool envelope_seen = false;
  EDX_TRY(read_fields(cx_, root, Ns::edxml,
                      {{"edXMLEnvelope",
                        [&](xmlNode* c) {
                          envelope_seen = true;
                          return read_envelope(c, env);
                        }}},
                      [&](xmlNode* c) -> Status {
                        if (sv(c->name) != "AttachmentEncoded") return ignore_unknown(cx_, root)(c);
                        if (c->ns && !in_edxml_ns(c)) {
                          return make_error(ErrorKind::invalid, "xml.namespace",
                                            "AttachmentEncoded is in a foreign namespace.");
                        }
                        if (attachments_seen_) {
                          return make_error(ErrorKind::invalid, "edxml.duplicate", "AttachmentEncoded appears twice.");
                        }
                        attachments_seen_ = true;
                        return read_fields(cx_, c, Ns::edxml_or_none,
                                           {{"Attachment", [this](xmlNode* a) { return read_attachment(a); }, true}});
                      }));
  if (!envelope_seen)
    return make_error(ErrorKind::invalid, "edxml.missing", "The document has no edXMLEnvelope.", line_of(root));
  if (env.status && (!refs_.empty() || !attachments_.empty())) {
    return make_error(ErrorKind::invalid, "edxml.status_body", "A status message carries no attachments.");
  }
  EDX_TRY(check_manifest());
  for (auto& [a, node] : attachments_) env.attachments.push_back(a);
  env.warnings = std::move(cx_.warnings);
  EDX_TRY(check_envelope(env, options_.format, options_.strictness, &env.warnings));
  // Every check passed: now the files get their names.
  for (size_t i = 0; i < attachments_.size(); ++i) {
    auto path = files_.commit(attachments_[i].second, env.attachments[i].name);
    if (!path.ok()) return path.error();
    env.attachments[i].path = *path;
  }
  unzip(env);
  return env;
}

}  // namespace edxgate::edxml::detail
