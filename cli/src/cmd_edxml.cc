// edxgate commands of the edxml part: pack, unpack, validate, status make/show.

#include <filesystem>
#include <iostream>

#include "cli.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/config/config.h"
#include "edxgate/edxml/json.h"
#include "edxgate/edxml/options.h"
#include "edxgate/edxml/pack.h"
#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/schema.h"
#include "edxgate/edxml/writer.h"
#include "edxgate/edxml/zipped.h"

namespace edxgate::cli {
namespace {

namespace ex = edxgate::edxml;
namespace bj = edxgate::json::bj;

constexpr size_t kMaxMetaBytes = 1 << 20;

// The [edxml] section of --config (or the defaults).
Result<ex::ReadOptions> read_options(const Args& args) {
  ex::ReadOptions ro;
  if (!args.has("--config")) return ro;
  auto cfg = config::load(args.get("--config"));
  if (!cfg.ok()) {
    // The configuration is how the command was set up, not the envelope it
    // reads: a problem with it is a usage error (exit 2).
    Error e = cfg.error();
    if (e.code.rfind("config.", 0) != 0) e.code = "config." + e.code;
    e.kind = ErrorKind::usage;
    return e;
  }
  return ex::read_options_from(cfg->edxml);
}

void print_json(const bj::value& v) { std::cout << json::pretty(v); }

// What was accepted but deviates from our rules, one line each.
void print_warnings(const std::vector<ex::Warning>& warnings) {
  for (const auto& w : warnings) {
    std::cout << "warning: " << w.message;
    if (w.line > 0) std::cout << " (line " << w.line << ")";
    std::cout << " [" << w.code << "]\n";
  }
}

// ---- pack ----

int pack(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--out", "-o", true}, {"--config", "", true}, {"--json"}});
  if (!args.ok()) return fail(args.error());
  const auto& pos = args->positional();
  if (pos.empty() || !args->has("--out")) {
    return fail(kExitUsage, "pack needs META.json, the files and -o OUT.xml (see edxgate pack --help)");
  }
  auto ro = read_options(*args);
  if (!ro.ok()) return fail_coded(ro.error());
  auto text = fs::read_file(pos[0], kMaxMetaBytes);
  if (!text.ok()) return fail(text.error());
  auto meta = json::parse(*text);
  if (!meta.ok()) {
    Error e = meta.error();
    e.message = "META.json: " + e.message;
    return fail(e);
  }
  auto env = ex::envelope_from_json(*meta);
  if (!env.ok()) return fail_coded(env.error());
  std::vector<std::string> files(pos.begin() + 1, pos.end());
  if (auto s = ex::complete_for_pack(*env, files); !s) return fail_coded(s.error());
  ex::WriteOptions wo{ro->format};
  if (auto s = ex::write_envelope_file(*env, wo, args->get("--out")); !s) return fail_coded(s.error());
  if (args->has("--json")) {
    print_json(ex::envelope_to_json(*env));
  } else {
    std::cout << "packed " << args->get("--out") << ": " << ex::format_document_code(env->message->code) << ", "
              << env->message->to.size() << " recipient(s), " << env->attachments.size() << " attachment(s)\n";
  }
  return kExitOk;
}

// ---- unpack ----

// A zipped attachment (zipped.h): the file inside takes the attachment's
// place in DIR, the bytes as received move to DIR/as-received/<name>.zip.
// When it cannot be unzipped, the bytes as received stay where they are and
// the reason is a warning.
constexpr const char* kAsReceived = "as-received";

Status unzip_in_place(const std::string& dir, ex::Attachment& a, const ex::Limits& limits,
                      std::vector<ex::Warning>& warnings) {
  const std::string file = std::filesystem::path(a.path).filename().string();
  const std::string keep_dir = dir + "/" + kAsReceived;
  EDX_TRY(fs::make_dirs(keep_dir));
  const std::string kept = keep_dir + "/" + file + ".zip";
  std::error_code ec;
  std::filesystem::rename(a.path, kept, ec);
  if (ec)
    return make_error(ErrorKind::io, "io.write", "Cannot move " + a.path + " to " + kept + ": " + ec.message() + ".");
  auto r = ex::unzip_attachment(kept, dir, file, limits);
  if (!r.ok()) {
    std::filesystem::rename(kept, a.path, ec);
    if (ec) return make_error(ErrorKind::io, "io.write", "Cannot move " + kept + " back: " + ec.message() + ".");
    std::filesystem::remove(keep_dir, ec);  // only if empty: earlier ones stay
    a.unzip_error = ex::Warning{r.error().code, r.error().message, 0};
    warnings.push_back({r.error().code,
                        "The attachment '" + a.name + "' is zipped and was kept as received: " + r.error().message, 0});
    return {};
  }
  a.path = kept;
  a.unzipped = std::move(r.value());
  a.unzipped->name = a.name;
  return {};
}

int unpack(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--dir", "-d", true}, {"--config", "", true}, {"--json"}});
  if (!args.ok()) return fail(args.error());
  if (args->positional().size() != 1 || !args->has("--dir")) {
    return fail(kExitUsage, "unpack needs ENVELOPE and -d DIR (see edxgate unpack --help)");
  }
  auto ro = read_options(*args);
  if (!ro.ok()) return fail_coded(ro.error());
  std::string dir = args->get("--dir");
  if (auto s = fs::make_dirs(dir); !s) return fail(s.error());
  ro->attachment_dir = dir;
  ro->reserved_names = {"header.json", kAsReceived};
  auto env = ex::read_envelope_file(args->positional()[0], *ro);
  if (!env.ok()) return fail_coded(env.error());
  for (auto& a : env->attachments) {
    if (!a.zipped) continue;
    if (auto s = unzip_in_place(dir, a, ro->limits, env->warnings); !s) return fail_coded(s.error());
  }
  bj::value j = ex::envelope_to_json(*env, dir);
  if (auto s = fs::write_file_atomic(dir + "/header.json", json::pretty(j), 0644); !s) {
    return fail(s.error());
  }
  if (args->has("--json")) {
    print_json(j);
  } else {
    std::cout << "unpacked to " << dir << ": header.json";
    for (const auto& a : env->attachments) {
      std::cout << ", "
                << (a.unzipped ? a.unzipped->name + " (unzipped; as received: " + std::string(kAsReceived) + "/" +
                                     std::filesystem::path(a.path).filename().string() + ")"
                               : std::filesystem::path(a.path).filename().string());
    }
    std::cout << "\n";
    print_warnings(env->warnings);
  }
  return kExitOk;
}

// ---- validate ----

int validate(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--config", "", true}, {"--json"}, {"--outgoing"}});
  if (!args.ok()) return fail(args.error());
  if (args->positional().size() != 1) {
    return fail(kExitUsage, "validate needs exactly one ENVELOPE (see edxgate validate --help)");
  }
  auto ro = read_options(*args);
  if (!ro.ok()) return fail_coded(ro.error());
  const bool outgoing = args->has("--outgoing");
  ro->strictness = outgoing ? ex::Strictness::outgoing : ex::Strictness::receive;
  auto read = ex::read_envelope_file_with_doc(args->positional()[0], *ro);
  Status schema_ok;
  if (read.ok()) schema_ok = ex::validate_schema(read->doc.get());
  const Error* err = !read.ok() ? &read.error() : !schema_ok.ok() ? &schema_ok.error() : nullptr;
  if (args->has("--json")) {
    bj::object out{{"valid", err == nullptr}, {"strictness", outgoing ? "outgoing" : "receive"}};
    if (err) {
      out["code"] = err->code;
      out["message"] = err->message;
      out["line"] = err->line;
    } else {
      out["envelope"] = ex::envelope_to_json(read->envelope);
    }
    print_json(out);
    return err ? exit_code(*err) : kExitOk;
  }
  if (err) return fail_coded(*err);
  const ex::Envelope& env = read->envelope;
  if (env.message) {
    std::cout << "valid: document " << ex::format_document_code(env.message->code) << " from "
              << env.message->from.organ_id << " to " << env.message->to.size() << " recipient(s), "
              << env.attachments.size() << " attachment(s)";
  } else {
    std::cout << "valid: status " << ex::format_status_code(env.status->code) << " ("
              << ex::status_code_meaning(env.status->code) << ") from " << env.status->from.organ_id;
  }
  std::cout << (env.signature == ex::SignaturePresence::dsig        ? ", signed (not verified here)"
                : env.signature == ex::SignaturePresence::lookalike ? ", unsigned (a look-alike signature only)"
                                                                    : ", unsigned")
            << (outgoing ? ", fit to send\n" : "\n");
  for (const auto& a : env.attachments) {
    if (a.zipped) {
      std::cout << "note: the attachment '" << a.name
                << "' is a ZIP under a non-ZIP name; unpack writes the file inside it\n";
    }
  }
  print_warnings(env.warnings);
  return kExitOk;
}

// ---- status make / show ----

Status response_for_from_envelope(const std::string& path, const ex::ReadOptions& ro, ex::ResponseFor& out) {
  auto env = ex::read_envelope_file(path, ro);
  if (!env.ok()) return env.error();
  if (!env->message) {
    return make_error(ErrorKind::invalid, "edxml.missing",
                      "--for must name a document envelope, not a status message.");
  }
  const ex::MessageHeader& m = *env->message;
  out.organ_id = m.from.organ_id;
  out.code = ex::format_document_code(m.code);
  out.promulgation_date = m.promulgation_date;
  out.document_id = m.document_id;
  return {};
}

int status_make(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--out", "-o", true},
                                 {"--config", "", true},
                                 {"--for", "", true},
                                 {"--response-for-organ", "", true},
                                 {"--response-for-code", "", true},
                                 {"--response-for-date", "", true},
                                 {"--response-for-document-id", "", true},
                                 {"--from", "", true},
                                 {"--from-name", "", true},
                                 {"--code", "", true},
                                 {"--description", "", true},
                                 {"--staff", "", true},
                                 {"--department", "", true},
                                 {"--email", "", true},
                                 {"--mobile", "", true},
                                 {"--timestamp", "", true},
                                 {"--status-element", "", true},
                                 {"--json"}});
  if (!args.ok()) return fail(args.error());
  if (!args->positional().empty() || !args->has("--out") || !args->has("--from") || !args->has("--code") ||
      (!args->has("--for") && !args->has("--response-for-organ"))) {
    return fail(kExitUsage,
                "status make needs --code, --from, --for ENVELOPE (or "
                "--response-for-organ ...) and -o OUT.xml (see --help)");
  }
  auto ro = read_options(*args);
  if (!ro.ok()) return fail_coded(ro.error());
  if (args->has("--status-element")) ro->format.status_element = args->get("--status-element");
  ex::Envelope env;
  ex::StatusMessage& s = env.status.emplace();
  if (args->has("--for")) {
    if (auto st = response_for_from_envelope(args->get("--for"), *ro, s.response_for); !st) {
      return fail_coded(st.error());
    }
  }
  if (args->has("--response-for-organ")) s.response_for.organ_id = args->get("--response-for-organ");
  if (args->has("--response-for-code")) s.response_for.code = args->get("--response-for-code");
  if (args->has("--response-for-document-id")) {
    s.response_for.document_id = args->get("--response-for-document-id");
  }
  if (args->has("--response-for-date")) {
    auto d = ex::parse_date(args->get("--response-for-date"));
    if (!d.ok()) return fail_coded(d.error());
    s.response_for.promulgation_date = *d;
  }
  auto code = ex::parse_status_code(args->get("--code"));
  if (!code.ok()) return fail_coded(code.error());
  s.code = *code;
  s.from.organ_id = args->get("--from");
  s.from.organ_name = args->get("--from-name");
  s.from.organization_in_charge = s.from.organ_name;
  s.description = args->get("--description", std::string(ex::status_code_meaning(s.code)));
  s.staff = {args->get("--department"), args->get("--staff"), args->get("--mobile"), args->get("--email")};
  s.timestamp = ex::now_vietnam();
  if (args->has("--timestamp")) {
    auto t = ex::parse_datetime(args->get("--timestamp"));
    if (!t.ok()) return fail_coded(t.error());
    s.timestamp = *t;
  }
  env.trace.traces.push_back({s.from.organ_id, s.timestamp});
  if (auto st = ex::write_envelope_file(env, ex::WriteOptions{ro->format}, args->get("--out")); !st) {
    return fail_coded(st.error());
  }
  if (args->has("--json")) {
    print_json(ex::envelope_to_json(env));
  } else {
    std::cout << "wrote status " << ex::format_status_code(s.code) << " (" << ex::status_code_meaning(s.code) << ") to "
              << args->get("--out") << "\n";
  }
  return kExitOk;
}

int status_show(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--config", "", true}, {"--json"}});
  if (!args.ok()) return fail(args.error());
  if (args->positional().size() != 1) return fail(kExitUsage, "status show needs exactly one FILE");
  auto ro = read_options(*args);
  if (!ro.ok()) return fail_coded(ro.error());
  auto env = ex::read_envelope_file(args->positional()[0], *ro);
  if (!env.ok()) return fail_coded(env.error());
  if (!env->status) return fail(kExitInvalid, "the file is a document envelope, not a status message");
  if (args->has("--json")) {
    print_json(ex::envelope_to_json(*env));
    return kExitOk;
  }
  const ex::StatusMessage& s = *env->status;
  std::cout << "status:       " << ex::format_status_code(s.code) << " (" << ex::status_code_meaning(s.code) << ")\n"
            << "from:         " << s.from.organ_id << (s.from.organ_name.empty() ? "" : " ") << s.from.organ_name
            << "\n"
            << "response for: " << s.response_for.organ_id << " " << s.response_for.code
            << (s.response_for.promulgation_date ? " of " + ex::format_date(*s.response_for.promulgation_date)
                                                 : std::string())
            << "\n"
            << "document id:  " << s.response_for.document_id << "\n"
            << "description:  " << s.description << "\n"
            << "timestamp:    " << ex::format_datetime(s.timestamp) << "\n"
            << "staff:        " << s.staff.staff << " " << s.staff.department << " " << s.staff.email << " "
            << s.staff.mobile << "\n";
  print_warnings(env->warnings);
  return kExitOk;
}

constexpr std::string_view kCommon =
    "  --config FILE   take [edxml] limits, organ id pattern and status element from FILE\n"
    "  --json          print JSON instead of text\n\n"
    "exit codes: 0 success, 1 invalid input, 2 usage or I/O error\n";

const std::string kPackHelp = std::string(
                                  "usage: edxgate pack META.json FILE... -o OUT.xml [--config FILE] [--json]\n\n"
                                  "Builds an edXML document envelope: the header fields from META.json (format: "
                                  "edxml/README.md),\none attachment per FILE (base64-encoded while it is written). "
                                  "Unsigned: sign it with 'edxgate sign'.\n\n"
                                  "options:\n  -o, --out OUT.xml  where to write (atomically)\n") +
                              std::string(kCommon);
const std::string kUnpackHelp =
    std::string(
        "usage: edxgate unpack ENVELOPE -d DIR [--config FILE] [--json]\n\n"
        "Checks ENVELOPE as the receiving gateway does and writes DIR/header.json and each\n"
        "attachment under its declared name. Names with '/', '\\\\', '..', control characters or a\n"
        "leading '.' are refused. Nothing is written under a final name unless the whole\n"
        "envelope is valid.\n"
        "A zipped attachment (a ZIP under a non-ZIP name, as the VNPT library sends any file\n"
        "that is not pdf/doc/docx/xls/xlsx/zip) is unzipped: DIR/NAME is the one file inside it\n"
        "and DIR/as-received/NAME.zip the bytes as received (what was signed). A ZIP that is\n"
        "not one safe file within the limits (several entries, encrypted, a bomb, damaged) is\n"
        "kept as received under NAME, with a warning; header.json says which.\n\n"
        "options:\n  -d, --dir DIR   output directory (created if needed)\n") +
    std::string(kCommon);
const std::string kValidateHelp =
    std::string(
        "usage: edxgate validate ENVELOPE [--outgoing] [--config FILE] [--json]\n\n"
        "Parses ENVELOPE with the hardened parser, checks every field and attachment (base64,\n"
        "manifest), then validates it against edxml/schema/edxml.xsd. By default it judges as\n"
        "the receiving gateway does: what real peers send but we would not (an organ id outside\n"
        "the configured pattern, a CodeNumber that is not digits, unknown elements) is printed\n"
        "as a warning and the envelope is valid. Exit 0 valid, 1 invalid (the reason and its\n"
        "code are printed), 2 usage or I/O error.\n\n"
        "options:\n"
        "  --outgoing      apply the rules for what we send instead: organ ids match the\n"
        "                  pattern, CodeNumber is digits, every TraceHeader names its organ,\n"
        "                  the header is in the SDK order\n") +
    std::string(kCommon);
const std::string kStatusMakeHelp =
    std::string(
        "usage: edxgate status make --code NN --from ORGAN_ID (--for ENVELOPE |\n"
        "         --response-for-organ ID --response-for-code NUM/NOTATION\n"
        "         [--response-for-date yyyy/MM/dd] [--response-for-document-id ID])\n"
        "         [--from-name NAME] [--description TEXT] [--staff NAME] [--department D]\n"
        "         [--email E] [--mobile M] [--timestamp 'yyyy/MM/dd HH:mm:ss']\n"
        "         [--status-element MessageHeader|MessageStatus|Status] -o OUT.xml\n\n"
        "Writes a status message answering a document. Codes: 01 đã đến, 02 từ chối tiếp nhận,\n"
        "03 đã tiếp nhận, 04 phân công, 05 đang xử lý, 06 hoàn thành, 13 yêu cầu lấy lại,\n"
        "15 đồng ý lấy lại/cập nhật, 16 từ chối lấy lại/cập nhật. --description defaults to\n"
        "the code's meaning, --timestamp to now (UTC+07:00). The status is written under\n"
        "MessageHeader, as the SDKs write it (--status-element or [edxml] status_element for\n"
        "older peers).\n\n"
        "options:\n") +
    std::string(kCommon);
const std::string kStatusShowHelp =
    std::string(
        "usage: edxgate status show FILE [--config FILE] [--json]\n\n"
        "Checks a status message (under MessageHeader, MessageStatus or Status) as the\n"
        "receiving gateway does and prints its fields and any warnings.\n\noptions:\n") +
    std::string(kCommon);

const Command kCommands[] = {
    {"pack", "build an edXML envelope from META.json and files", kPackHelp, pack},
    {"unpack", "check an envelope, write header.json and attachments", kUnpackHelp, unpack},
    {"validate", "check an envelope against the rules and the XSD", kValidateHelp, validate},
    {"status make", "write a status message (đã đến, tiếp nhận, ...)", kStatusMakeHelp, status_make},
    {"status show", "print a status message", kStatusShowHelp, status_show},
};

}  // namespace

std::span<const Command> edxml_commands() { return kCommands; }

}  // namespace edxgate::cli
