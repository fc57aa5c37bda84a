// What a real peer of the axis writes and sends, for the gateway tests:
//  - envelopes in the shape the public SDKs write (shared/EDXML.md), so that
//    the simulator can route them by their To / ResponseFor;
//  - SdkClient, which makes axis calls exactly as the Government Office's VXP
//    Java SDK makes them (the facts of EDXML.md, "The axis (VDXP) protocol",
//    as shared/tools/sdk-call reproduces them): one timestamp fixed when the
//    client is made and reused by every call, the key list bare, Content-Type
//    signed, sendEdoc = the file + CRLF with no `to`. Its headers are built
//    here, apart from vdxp::sign, so that each checks the other; only the
//    HMAC, the unpadded hex and the timestamp format come from vdxp.h, which
//    golden tests pin to values computed outside the project;
//  - check_sdk_dialect, which says how one call recorded by the simulator
//    (GET /_sim/requests) departs from that dialect.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edxgate/base/base64.h"
#include "edxgate/base/json.h"
#include "edxgate/gateway/https_client.h"
#include "edxgate/gateway/vdxp.h"

namespace edxgate::testing {

namespace sdk_bj = json::bj;

// A document from `from` to each organ of `to`, as the public SDKs write it:
// the edXML namespace as default and as prefix; MessageHeader children in the
// SDKs' order with DocumentId right after the last To and ToPlaces after
// SteeringType; a TraceHeaderList with the SDK's attributes and its Bussiness
// block before the TraceHeader; the manifest with xlink references; one
// attachment whose children come in the order one SDK writes them
// (ContentType, ContentId without "cid:", Description, ContentTransferEncoded,
// AttachmentName) and whose base64 is cut into 76-column lines.
inline std::string sdk_document(const std::string& from, const std::vector<std::string>& to,
                                const std::string& code_number, const std::string& payload) {
  const std::string code = code_number + "/BCT-VP";
  const std::string b64 = base64::encode(payload);
  std::string lines;
  for (size_t i = 0; i < b64.size(); i += 76) lines += b64.substr(i, 76) + "\n";
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\" "
      "xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"
      "<edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>\n"
      "<edXML:From><edXML:OrganId>" +
      from +
      "</edXML:OrganId>"
      "<edXML:OrganizationInCharge>Bộ Công Thương</edXML:OrganizationInCharge>"
      "<edXML:OrganName>Văn phòng Bộ</edXML:OrganName><edXML:OrganAdd>54 Hai Bà Trưng, Hà Nội</edXML:OrganAdd>"
      "<edXML:Email>vanphong@moit.gov.vn</edXML:Email><edXML:Telephone>02422202222</edXML:Telephone>"
      "<edXML:Fax></edXML:Fax><edXML:Website>moit.gov.vn</edXML:Website></edXML:From>\n";
  for (const auto& t : to)
    x += "<edXML:To><edXML:OrganId>" + t + "</edXML:OrganId><edXML:OrganName>Bộ nhận</edXML:OrganName></edXML:To>\n";
  x += "<edXML:DocumentId>" + from + ",2026/11/23," + code +
       "</edXML:DocumentId>\n"
       "<edXML:Code><edXML:CodeNumber>" +
       code_number +
       "</edXML:CodeNumber>"
       "<edXML:CodeNotation>BCT-VP</edXML:CodeNotation></edXML:Code>\n"
       "<edXML:PromulgationInfo><edXML:Place>Hà Nội</edXML:Place>"
       "<edXML:PromulgationDate>2026/11/23</edXML:PromulgationDate></edXML:PromulgationInfo>\n"
       "<edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>\n"
       "<edXML:Subject>V/v thử nghiệm trục liên thông</edXML:Subject><edXML:Content></edXML:Content>\n"
       "<edXML:SignerInfo><edXML:Competence>KT. BỘ TRƯỞNG</edXML:Competence>"
       "<edXML:Position>Thứ trưởng</edXML:Position><edXML:FullName>Nguyễn Văn Đức</edXML:FullName></edXML:SignerInfo>\n"
       "<edXML:DueDate>2026/12/01</edXML:DueDate>\n"
       "<edXML:OtherInfo><edXML:Priority>0</edXML:Priority>"
       "<edXML:SphereOfPromulgation>Liên thông</edXML:SphereOfPromulgation>"
       "<edXML:TyperNotation>VT</edXML:TyperNotation><edXML:PromulgationAmount>1</edXML:PromulgationAmount>"
       "<edXML:PageAmount>1</edXML:PageAmount></edXML:OtherInfo>\n"
       "<edXML:SteeringType>0</edXML:SteeringType>"
       "<edXML:ToPlaces><edXML:Place>Như trên</edXML:Place></edXML:ToPlaces>\n"
       "</edXML:MessageHeader>\n"
       "<edXML:TraceHeaderList id=\"a7f3c2e1\" version=\"1.0\" mustUnderstand=\"1\" "
       "actor=\"http://schemas.xmlsoap.org/soap/actor/next\">"
       "<edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType>"
       "<edXML:BussinessDocReason></edXML:BussinessDocReason><edXML:Paper>0</edXML:Paper>"
       "<edXML:StaffInfo><edXML:Department>Văn thư</edXML:Department><edXML:Staff>Lê Thị Hoa</edXML:Staff>"
       "<edXML:Mobile></edXML:Mobile><edXML:Email></edXML:Email></edXML:StaffInfo></edXML:Bussiness>"
       "<edXML:TraceHeader><edXML:OrganId>" +
       from +
       "</edXML:OrganId>"
       "<edXML:Timestamp>2026/11/23 09:12:50</edXML:Timestamp></edXML:TraceHeader>"
       "</edXML:TraceHeaderList>\n"
       "</edXML:edXMLHeader>\n"
       "<edXML:edXMLBody><edXML:edXMLManifest version=\"1.0\">"
       "<edXML:Reference xlink:href=\"cid:1\" xlink:role=\"\" xlink:type=\"simple\">"
       "<edXML:Description>Công văn</edXML:Description><edXML:AttachmentName>" +
       code_number +
       "_BCT-VP.pdf</edXML:AttachmentName><edXML:ContentType>application/pdf</edXML:ContentType>"
       "<edXML:ContentId>cid:1</edXML:ContentId></edXML:Reference></edXML:edXMLManifest></edXML:edXMLBody>\n"
       "</edXML:edXMLEnvelope>\n"
       "<edXML:AttachmentEncoded><edXML:Attachment><edXML:ContentType>application/pdf</edXML:ContentType>"
       "<edXML:ContentId>1</edXML:ContentId><edXML:Description>Công văn</edXML:Description>"
       "<edXML:ContentTransferEncoded>" +
       lines +
       "</edXML:ContentTransferEncoded>"
       "<edXML:AttachmentName>" +
       code_number +
       "_BCT-VP.pdf</edXML:AttachmentName>"
       "</edXML:Attachment></edXML:AttachmentEncoded>\n</edXML>\n";
  return x;
}

// The DocumentId sdk_document writes.
inline std::string sdk_document_id(const std::string& from, const std::string& code_number) {
  return from + ",2026/11/23," + code_number + "/BCT-VP";
}

// A status message as older peers write it (the MessageStatus element, which
// EDXML.md says to keep reading), from `from` about the document
// `document_id` of organ `about`; ResponseFor's DocumentId before its
// PromulgationDate and OrganName before OrganizationInCharge, as seen in real
// files.
inline std::string sdk_status(const std::string& from, const std::string& about, const std::string& document_id,
                              const std::string& code, const std::string& code_text = "25/BCT-VP") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\" "
         "xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">\n"
         "<edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageStatus>\n"
         "<edXML:ResponseFor><edXML:OrganId>" +
         about + "</edXML:OrganId><edXML:Code>" + code_text + "</edXML:Code><edXML:DocumentId>" + document_id +
         "</edXML:DocumentId>"
         "<edXML:PromulgationDate>2026/11/23</edXML:PromulgationDate></edXML:ResponseFor>\n"
         "<edXML:From><edXML:OrganId>" +
         from +
         "</edXML:OrganId><edXML:OrganName>Bộ nhận</edXML:OrganName>"
         "<edXML:OrganizationInCharge>Bộ nhận</edXML:OrganizationInCharge></edXML:From>\n"
         "<edXML:StatusCode>" +
         code +
         "</edXML:StatusCode><edXML:Description>Đã tiếp nhận</edXML:Description>"
         "<edXML:Timestamp>2026/11/23 10:00:00</edXML:Timestamp>\n"
         "<edXML:StaffInfo><edXML:Department>Văn thư</edXML:Department><edXML:Staff>Lê Văn An</edXML:Staff>"
         "<edXML:Mobile></edXML:Mobile><edXML:Email></edXML:Email></edXML:StaffInfo>\n"
         "</edXML:MessageStatus>\n"
         "<edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>" +
         from +
         "</edXML:OrganId>"
         "<edXML:Timestamp>2026/11/23 10:00:00</edXML:Timestamp></edXML:TraceHeader></edXML:TraceHeaderList>\n"
         "</edXML:edXMLHeader></edXML:edXMLEnvelope>\n</edXML>\n";
}

// One axis call as the SDK makes it, in pieces a test may tamper with
// before sending.
struct SdkRequest {
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return std::nullopt;
  }
  void set(const std::string& name, const std::string& value) {
    for (auto& [k, v] : headers)
      if (k == name) {
        v = value;
        return;
      }
    headers.emplace_back(name, value);
  }
};

struct SdkAnswer {
  unsigned status = 0;
  std::string raw;
  std::string error;  // transport error
  sdk_bj::value json() const {
    auto v = json::parse(raw);
    return v.ok() ? *v : sdk_bj::value();
  }
  std::string field(const char* key) const {
    const auto v = json();
    if (!v.is_object()) return "";
    const auto* f = v.as_object().if_contains(key);
    return f && f->is_string() ? std::string(f->as_string()) : "";
  }
  // What the SDK counts as success: 200 or 201 with status OK.
  bool ok() const { return (status == 200 || status == 201) && field("status") == "OK"; }
};

class SdkClient {
 public:
  SdkClient(std::string base_url, gateway::ClientOptions tls, std::string system_id, std::string secret,
            std::chrono::minutes made_ago = std::chrono::minutes(0))
      : url_(std::move(base_url)),
        tls_(std::move(tls)),
        system_(std::move(system_id)),
        secret_(std::move(secret)),
        timestamp_(gateway::vdxp::format_timestamp(gateway::vdxp::Clock::now() - made_ago)) {}

  // The one timestamp of this client's life.
  const std::string& timestamp() const { return timestamp_; }

  SdkRequest send_request(const std::string& file_bytes, const std::string& from, const std::string& type = "edoc",
                          const std::string& path = "/sendEdoc") const {
    return build(path, "application/octet-stream",
                 {{"from", from},
                  {"servicetype", "eDoc"},
                  {"messagetype", type},
                  {"hash-file", gateway::vdxp::hash_bytes_hex(file_bytes)}},
                 file_bytes + "\r\n");
  }
  SdkRequest list_request(const std::string& type = "edoc") const {
    return build("/getReceivedEdocList", "application/json", {{"servicetype", "eDoc"}, {"messagetype", type}}, "");
  }
  SdkRequest get_request(const std::string& doc_id) const {
    return build("/getEdoc", "application/json", {{"docId", doc_id}}, "{}");
  }
  SdkRequest status_request(const std::string& doc_id, const std::string& value) const {
    return build("/updateStatus", "application/json", {{"status", value}, {"docId", doc_id}}, "{}");
  }

  SdkAnswer send(const std::string& file_bytes, const std::string& from, const std::string& type = "edoc") const {
    return perform(send_request(file_bytes, from, type));
  }
  SdkAnswer list(const std::string& type = "edoc") const { return perform(list_request(type)); }
  SdkAnswer get(const std::string& doc_id) const { return perform(get_request(doc_id)); }
  SdkAnswer update_status(const std::string& doc_id, const std::string& value) const {
    return perform(status_request(doc_id, value));
  }

  // Signs the logical parameters as the SDK does: timestamp, systemid,
  // Content-Type, then the call's own; the key list bare.
  SdkRequest build(const std::string& path, const std::string& content_type,
                   const std::vector<std::pair<std::string, std::string>>& params, std::string body) const {
    std::vector<std::pair<std::string, std::string>> logical = {
        {"timestamp", timestamp_}, {"systemid", system_}, {"Content-Type", content_type}};
    logical.insert(logical.end(), params.begin(), params.end());
    std::string keys, text = "{";
    for (const auto& [k, v] : logical) {
      keys += (keys.empty() ? "" : ";") + k;
      text += (text.size() > 1 ? "," : "") + quote("XroadVnpt-" + k) + ":" + quote(v);
    }
    text += "}";
    SdkRequest r;
    r.path = path;
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", content_type);
    for (const auto& [k, v] : logical) r.headers.emplace_back("XroadVnpt-" + k, v);
    r.headers.emplace_back("XroadVnpt-sign-header-key", keys);
    r.headers.emplace_back("XroadVnpt-sign-header", text);
    r.headers.emplace_back("XroadVnpt-hash-header", gateway::vdxp::hmac_sha256_hex(secret_, text));
    r.headers.emplace_back("User-Agent", "JAVASDKAgent/1.0.0 XRoad/VPCP");
    r.headers.emplace_back("XroadVnpt-version", "3.0.201608");
    return r;
  }

  SdkAnswer perform(const SdkRequest& r) const {
    SdkAnswer out;
    auto c = gateway::HttpsClient::create(url_, tls_);
    if (!c.ok()) {
      out.error = c.error().message;
      return out;
    }
    gateway::ClientRequest req;
    req.path = r.path;
    req.headers = r.headers;
    req.body = r.body;
    auto resp = c->send(req);
    if (!resp.ok()) {
      out.error = resp.error().code + ": " + resp.error().message;
      return out;
    }
    out.status = resp->status;
    out.raw = resp->body;
    return out;
  }

  // JSON string text as Python's json.dumps(..., ensure_ascii=False) writes it.
  static std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += buf;
      } else {
        out += c;
      }
    }
    return out + "\"";
  }

 private:
  std::string url_;
  gateway::ClientOptions tls_;
  std::string system_;
  std::string secret_;
  std::string timestamp_;
};

// How a call recorded by the simulator (one entry of GET /_sim/requests)
// departs from the SDK's dialect; empty when it speaks it. Checks: the key
// list is bare and starts timestamp;systemid;Content-Type; sign-header holds
// exactly those keys, prefixed, in that order; Content-Type is sent plain and
// signed with the call's type; User-Agent and version are the SDK's; each
// call signs exactly its own parameters (no `to`; the list may add paging);
// messagetype is edoc or status; the body is the file + CRLF (sendEdoc), {}
// (getEdoc, updateStatus) or nothing (the list).
inline std::vector<std::string> check_sdk_dialect(const sdk_bj::value& call) {
  std::vector<std::string> problems;
  auto str = [](const sdk_bj::value& v, const char* k) -> std::string {
    const auto* x = v.is_object() ? v.as_object().if_contains(k) : nullptr;
    return x && x->is_string() ? std::string(x->as_string()) : "";
  };
  const std::string path = str(call, "call");
  std::vector<std::pair<std::string, std::string>> headers;
  if (const auto* h = call.as_object().if_contains("headers"); h && h->is_array())
    for (const auto& kv : h->as_array())
      headers.emplace_back(std::string(kv.as_array()[0].as_string()), std::string(kv.as_array()[1].as_string()));
  auto header = [&](const std::string& name) -> std::optional<std::string> {
    std::optional<std::string> out;
    for (const auto& [k, v] : headers) {
      if (k.size() != name.size() || !std::equal(k.begin(), k.end(), name.begin(),
                                                 [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        continue;
      if (out) problems.push_back(name + " sent twice");
      out = v;
    }
    return out;
  };
  auto expect = [&](const std::string& name, const std::string& want) {
    auto v = header(name);
    if (!v)
      problems.push_back(name + " missing");
    else if (*v != want)
      problems.push_back(name + " is '" + *v + "', not '" + want + "'");
  };
  struct Shape {
    const char* path;
    const char* content_type;
    std::vector<std::string> params;
    const char* body;  // nullptr: the file + CRLF
  };
  static const std::vector<Shape> kShapes = {
      {"/sendEdoc", "application/octet-stream", {"from", "servicetype", "messagetype", "hash-file"}, nullptr},
      {"/getReceivedEdocList", "application/json", {"servicetype", "messagetype"}, ""},
      {"/getEdoc", "application/json", {"docId"}, "{}"},
      {"/updateStatus", "application/json", {"status", "docId"}, "{}"},
      // AgencyServiceImp.getAgenciesList: no parameters of its own, no body.
      {"/getAgenciesList", "application/json", {}, ""}};
  const Shape* shape = nullptr;
  for (const auto& s : kShapes)
    if (path == s.path) shape = &s;
  if (!shape) return {"an axis call the SDK does not make: " + path};
  if (str(call, "method") != "POST") problems.push_back(path + " is not a POST");

  std::vector<std::string> want_keys = {"timestamp", "systemid", "Content-Type"};
  want_keys.insert(want_keys.end(), shape->params.begin(), shape->params.end());
  // The list may page (EDXML.md names pageIndex and pageSize among its keys).
  if (path == "/getReceivedEdocList")
    for (const char* k : {"pageIndex", "pageSize"})
      for (const auto& [name, v] : headers)
        if (name == std::string("XroadVnpt-") + k) want_keys.push_back(k);
  std::string want_list;
  for (const auto& k : want_keys) want_list += (want_list.empty() ? "" : ";") + k;
  expect("XroadVnpt-sign-header-key", want_list);
  if (auto text = header("XroadVnpt-sign-header")) {
    auto v = json::parse(*text);
    std::vector<std::string> keys;
    if (v.ok() && v->is_object())
      for (const auto& kv : v->as_object()) keys.emplace_back(kv.key());
    std::vector<std::string> want_json;
    for (const auto& k : want_keys) want_json.push_back("XroadVnpt-" + k);
    if (keys != want_json) problems.push_back("sign-header does not hold the signed keys in the SDK's order: " + *text);
  } else {
    problems.push_back("XroadVnpt-sign-header missing");
  }
  expect("Content-Type", shape->content_type);
  expect("XroadVnpt-Content-Type", shape->content_type);
  expect("User-Agent", "JAVASDKAgent/1.0.0 XRoad/VPCP");
  expect("XroadVnpt-version", "3.0.201608");
  if (header("XroadVnpt-to")) problems.push_back("a `to` header is sent");
  if (auto t = header("XroadVnpt-messagetype"); t && *t != "edoc" && *t != "status")
    problems.push_back("messagetype '" + *t + "' is neither edoc nor status");
  if (auto s = header("XroadVnpt-status");
      path == "/updateStatus" && s && *s != "processing" && *s != "done" && *s != "fail")
    problems.push_back("updateStatus value '" + *s + "' is none of processing, done, fail");
  if (!header("XroadVnpt-hash-header")) problems.push_back("XroadVnpt-hash-header missing");
  const auto* ends = call.as_object().if_contains("bodyEndsWithCrlf");
  const auto* bytes = call.as_object().if_contains("bodyBytes");
  if (bytes && bytes->is_int64() && bytes->as_int64() < 0) {
    // Refused from its headers, before its body was read: no body to check.
  } else if (!shape->body) {
    if (!ends || !ends->is_bool() || !ends->as_bool()) problems.push_back("the sendEdoc body does not end with CRLF");
  } else if (!bytes || !bytes->is_number() || !call.as_object().contains("body") || str(call, "body") != shape->body) {
    problems.push_back(path + " body is not '" + shape->body + "'");
  }
  return problems;
}

}  // namespace edxgate::testing
