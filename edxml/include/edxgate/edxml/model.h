// The edXML envelope (QCVN 102:2016/BTTTT) as plain C++ values.
//
// An Envelope is either a document (MessageHeader + manifest + attachments)
// or a status message (StatusMessage, no body). Text fields are UTF-8; the
// writer normalizes them to NFC and the reader returns them NFC-normalized,
// so a field compares equal after any round trip. An empty string means the
// element was absent or empty. Attachments never live in memory: an
// Attachment names the file holding its bytes.
//
// The checked values (organ ids, dates, document codes, status codes) have
// parse functions returning a Result; their error codes are "edxml.organ_id",
// "edxml.date", "edxml.code", "edxml.status_code".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/result.h"

namespace edxgate::edxml {

// Format choices the sources leave unsure (config [edxml]).
struct FormatOptions {
  // ECMAScript regex an organ id (mã định danh) must match, e.g. 000.00.00.G06,
  // in what we send. On receive an id outside it is only a warning.
  std::string organ_id_pattern = R"(^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$)";
  // Element name written for a status message. "MessageHeader" is what the
  // SDKs and the VNPT library write (and all a receiver built on that library
  // finds); "MessageStatus" and "Status" are for older peers. All three are
  // read, and a status is told from a document by its content (a
  // MessageHeader holding StatusCode is a status).
  std::string status_element = "MessageHeader";
};

// The element names a status message may have (the first is the default).
inline constexpr std::string_view kStatusElements[] = {"MessageHeader", "MessageStatus", "Status"};

// How strictly input is judged.
//  - receive: what the receiving gateway accepts from real peers (EDXML.md
//    "What real files look like"): any organ id that is a non-empty token
//    without spaces, a CodeNumber that is not digits, a TraceHeader without
//    OrganId (the axis's own hop), header elements in any order. What deviates
//    from our own rules is reported as a Warning, not refused.
//  - outgoing: the rules for what we send: organ ids match organ_id_pattern
//    (except the one a ResponseFor names: that is the peer's, answered as it
//    came, a non-empty token without spaces),
//    CodeNumber is digits, every TraceHeader names its organ and time, and the
//    header elements are in the order our writer (and the SDKs) write them.
// Both refuse what is truly broken (not well-formed, undeclared prefixes, bad
// base64, dates that are not yyyy/MM/dd, unsafe attachment names...).
enum class Strictness { receive, outgoing };

// Something a received envelope does that we would not do, or a per-attachment
// problem (a zipped attachment that could not be unzipped) that does not stop
// the envelope from being read. `code` is stable ("edxml.organ_id",
// "edxml.code", "edxml.unknown_element", "edxml.zip_*"...).
struct Warning {
  std::string code;
  std::string message;
  int line = 0;
  bool operator==(const Warning&) const = default;
};

// Checks an organ id against the pattern ("edxml.organ_id"): the rule for
// what we send.
Status check_organ_id(std::string_view id, const FormatOptions& format);
// The rule on receive: a non-empty token of at most 64 characters without
// spaces ("edxml.organ_id").
Status check_received_organ_id(std::string_view id);

// A calendar date, written yyyy/MM/dd.
struct Date {
  int year = 0, month = 0, day = 0;
  bool operator==(const Date&) const = default;
};
// A wall-clock time in Vietnam (UTC+07:00), written yyyy/MM/dd HH:mm:ss.
struct DateTime {
  Date date;
  int hour = 0, minute = 0, second = 0;
  bool operator==(const DateTime&) const = default;
};
// Accept yyyy/MM/dd and ISO 8601 yyyy-MM-dd (a time part is refused).
Result<Date> parse_date(std::string_view text);
// Accept yyyy/MM/dd HH:mm:ss, yyyy/MM/dd alone (midnight) and ISO 8601
// yyyy-MM-ddTHH:mm:ss[.fraction][Z|±hh:mm]; a zone is converted to UTC+07:00.
Result<DateTime> parse_datetime(std::string_view text);
std::string format_date(const Date& d);
std::string format_datetime(const DateTime& t);
// The current time in UTC+07:00.
DateTime now_vietnam();

// Số và ký hiệu: "251/TMĐT-TTTH" = number 251, notation TMĐT-TTTH.
struct DocumentCode {
  std::string number;    // digits (in what we send; on receive any token without spaces)
  std::string notation;  // letters, digits and - . / & _
  bool operator==(const DocumentCode&) const = default;
};
Result<DocumentCode> parse_document_code(std::string_view text);  // "251/TMĐT-TTTH"
// The rule for what we send: number 1-12 digits, notation letters, digits and
// - . / & _ ("edxml.code").
Status check_document_code(const DocumentCode& code);
std::string format_document_code(const DocumentCode& code);

// The processing statuses of Decision 28/2018/QĐ-TTg (two digits on the wire).
enum class StatusCode : int {
  arrived = 1,            // 01 đã đến
  refused = 2,            // 02 từ chối tiếp nhận
  accepted = 3,           // 03 đã tiếp nhận (vào sổ)
  assigned = 4,           // 04 phân công
  processing = 5,         // 05 đang xử lý
  completed = 6,          // 06 hoàn thành
  recall_requested = 13,  // 13 yêu cầu lấy lại
  recall_agreed = 15,     // 15 đồng ý lấy lại / cập nhật
  recall_refused = 16,    // 16 từ chối lấy lại / cập nhật
};
Result<StatusCode> parse_status_code(std::string_view text);  // "01".."16"
std::string format_status_code(StatusCode code);              // "01"
std::string_view status_code_meaning(StatusCode code);        // Vietnamese

// An element the reader did not know, kept as self-contained XML text (its
// namespaces declared on it). Written back only when it was read.
struct RawElement {
  std::string xml;
  bool operator==(const RawElement&) const = default;
};

struct Organization {
  std::string organ_id, organization_in_charge, organ_name, organ_add, email, telephone, fax, website;
  bool operator==(const Organization&) const = default;
};

struct ResponseFor {
  std::string organ_id;
  std::string code;  // số/ký hiệu as one string, e.g. "251/TMĐT-TTTH"
  std::optional<Date> promulgation_date;
  std::string document_id;
  bool operator==(const ResponseFor&) const = default;
};

struct StaffInfo {
  std::string department, staff, mobile, email;
  bool operator==(const StaffInfo&) const = default;
};

struct MessageHeader {
  Organization from;
  std::vector<Organization> to;  // at least one
  DocumentCode code;
  std::string promulgation_place;
  Date promulgation_date;
  std::string type, type_detail, type_name;  // DocumentType
  std::string subject, content;
  std::string signer_competence, signer_position, signer_full_name;  // SignerInfo
  std::optional<Date> due_date;
  std::vector<std::string> to_places;
  // OtherInfo
  std::string priority, sphere_of_promulgation, typer_notation, promulgation_amount, page_amount;
  std::vector<std::string> appendixes;
  std::vector<RawElement> other_info_extensions;
  std::string steering_type, document_id;
  std::optional<ResponseFor> response_for;
  std::vector<RawElement> extensions;  // unknown MessageHeader children
  bool operator==(const MessageHeader&) const = default;
};

struct StatusMessage {
  ResponseFor response_for;
  Organization from;
  StatusCode code = StatusCode::arrived;
  std::string description;
  DateTime timestamp;
  StaffInfo staff;
  std::vector<RawElement> extensions;
  bool operator==(const StatusMessage&) const = default;
};

struct TraceHeader {
  std::string organ_id;
  DateTime timestamp;
  bool operator==(const TraceHeader&) const = default;
};

// BussinessDocType: what the document does to an earlier one.
enum class BusinessDocType : int { new_document = 0, revocation = 1, update = 2, replacement = 3 };

struct ReplacementInfo {
  std::string document_id;
  std::vector<std::string> organ_ids;
  bool operator==(const ReplacementInfo&) const = default;
};

// The "Bussiness" block of TraceHeaderList (the SDKs' spelling on the wire).
struct Business {
  BusinessDocType doc_type = BusinessDocType::new_document;
  std::string reason;
  std::string document_id;
  std::string document_info, document_receiver;  // BussinessDocumentInfo
  std::vector<RawElement> receivers;             // ReceiverList/Receiver, kept whole
  std::vector<ReplacementInfo> replacements;
  bool paper = false;
  StaffInfo staff;
  bool operator==(const Business&) const = default;
};

struct TraceHeaderList {
  std::vector<TraceHeader> traces;
  std::optional<Business> business;
  bool operator==(const TraceHeaderList&) const = default;
};

// The real file inside a zipped attachment (see zipped.h), once unzipped.
struct UnzippedFile {
  std::string path;        // the file written
  std::string name;        // the name the clerk gets: the attachment's declared name
  std::string entry_name;  // the name inside the ZIP (often a meaningless temp name)
  uint64_t size = 0;
  std::array<uint8_t, 32> sha256{};
  bool operator==(const UnzippedFile&) const = default;
};

// An attachment: its metadata and the file holding its bytes.
struct Attachment {
  std::string content_id;  // without "cid:"
  std::string name;        // AttachmentName as declared (NFC)
  std::string content_type;
  std::string description;
  std::string path;  // the file with the decoded bytes (reader) or to encode (writer)
  uint64_t size = 0;
  std::array<uint8_t, 32> sha256{};
  // Set by the reader: the bytes are a ZIP under a non-ZIP name, as the VNPT
  // library sends every file that is not pdf/doc/docx/xls/xlsx/zip
  // (is_zipped_attachment). `path`, `size` and `sha256` stay those of the
  // bytes as received: they are what was signed.
  bool zipped = false;
  std::optional<UnzippedFile> unzipped;  // when unzipping was asked and succeeded
  std::optional<Warning> unzip_error;    // when it was asked and failed ("edxml.zip_*")
  bool operator==(const Attachment&) const = default;
};

// What stands in the header's signature slot.
enum class SignaturePresence {
  none,       // nothing
  dsig,       // a Signature element in the XML-DSig namespace
  lookalike,  // only a look-alike (no-namespace Signature, edXML:DigitalSignature)
};

struct Envelope {
  std::optional<MessageHeader> message;  // exactly one of message, status
  std::optional<StatusMessage> status;
  TraceHeaderList trace;
  std::vector<Attachment> attachments;  // empty for a status message
  SignaturePresence signature = SignaturePresence::none;
  // Set by the reader: what was accepted but deviates from our own rules, and
  // per-attachment unzip failures. Never written.
  std::vector<Warning> warnings;
};

// Checks an attachment name for use as a file name: non-empty, at most 255
// bytes, valid UTF-8, no '/', '\\', "..", control characters, and not starting
// with '.' ("edxml.attachment_name"). Names are refused, never rewritten.
Status check_attachment_name(std::string_view name);

// Checks the whole envelope: required fields ("edxml.missing"), organ ids,
// document code, trace headers, unique content ids
// ("edxml.duplicate_content_id"), attachment names. The default is the rule
// for what we send (the writer always checks so); with Strictness::receive
// the deviations real peers send are appended to `warnings` (if given)
// instead of refused.
Status check_envelope(const Envelope& env, const FormatOptions& format, Strictness strictness = Strictness::outgoing,
                      std::vector<Warning>* warnings = nullptr);

}  // namespace edxgate::edxml
