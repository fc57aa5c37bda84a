// Commands that talk to a running edxgated over its internal API (mutual
// TLS, https_client.h): the agency directory (`agencies`, `agencies sync`)
// and the leader's signing agent (`agent`).
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>

#include "cli.h"
#include "edxgate/base/base64.h"
#include "edxgate/base/json.h"
#include "edxgate/base/url.h"
#include "edxgate/crypto/signer.h"
#include "edxgate/crypto/x509.h"
#include "edxgate/hsm/hsm.h"
#include "https_client.h"

namespace edxgate::cli {
namespace {

namespace bj = json::bj;

constexpr OptionSpec kUrl{"--url", "", true};
constexpr OptionSpec kCert{"--cert", "", true};
constexpr OptionSpec kKey{"--key", "", true};
constexpr OptionSpec kCa{"--ca", "", true};
constexpr OptionSpec kJson{"--json"};
constexpr OptionSpec kLimit{"--limit", "", true};
constexpr OptionSpec kTokenUri{"--token-uri", "", true};
constexpr OptionSpec kModule{"--module", "", true};
constexpr OptionSpec kPinFile{"--pin-file", "", true};
constexpr OptionSpec kSign{"--sign", "", true, true};
constexpr OptionSpec kSignerCert{"--signer-cert", "", true};

// Exit codes: the gateway or token unreachable, bad usage: 2; a refusal: 1.
int fail_remote(const Error& e) { return fail(e); }

Result<HttpsOptions> connection(const Args& args) {
  HttpsOptions o;
  o.url = args.get("--url");
  o.cert = args.get("--cert");
  o.key = args.get("--key");
  o.ca = args.get("--ca");
  if (o.url.empty() || o.cert.empty() || o.key.empty())
    return make_error(ErrorKind::usage, "usage.missing_option", "--url, --cert and --key are required");
  return o;
}

// One call whose answer must be 2xx JSON.
Result<bj::value> call_json(const HttpsOptions& o, const std::string& method, const std::string& path,
                            const std::string& body = "") {
  auto r = https_request(o, method, path, body.empty() ? "" : "application/json", body);
  if (!r.ok()) return r.error();
  if (r->status < 200 || r->status > 299) return problem_error(*r);
  auto v = json::parse(r->body);
  if (!v.ok()) return make_error(ErrorKind::unavailable, "https.malformed", "the gateway's answer is not JSON");
  return *v;
}

std::string text_of(const bj::value& v, std::string_view key) {
  if (!v.is_object()) return "";
  const auto* x = v.as_object().if_contains(key);
  if (!x) return "";
  if (x->is_string()) return std::string(x->as_string());
  if (x->is_int64()) return std::to_string(x->as_int64());
  if (x->is_uint64()) return std::to_string(x->as_uint64());
  return "";
}

// --- agencies ---

int cmd_agencies(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {kUrl, kCert, kKey, kCa, kJson, kLimit});
  if (!args.ok()) return fail(args.error());
  auto o = connection(*args);
  if (!o.ok()) return fail(o.error());
  std::string query;
  for (const auto& p : args->positional()) query += (query.empty() ? "" : " ") + p;
  std::string path = "/v1/agencies?q=" + percent_encode(query);
  if (args->has("--limit")) path += "&limit=" + percent_encode(args->get("--limit"));
  auto v = call_json(*o, "GET", path);
  if (!v.ok()) return fail_remote(v.error());
  if (args->has("--json")) {
    std::cout << json::pretty(*v);
    return kExitOk;
  }
  const auto* list = v->as_object().if_contains("agencies");
  if (!list || !list->is_array()) return fail(kExitUsage, "the gateway's answer has no agencies");
  if (text_of(*v, "directory_entries") == "0") {
    std::cerr << "edxgate: the gateway's agency directory is empty (never synchronised: edxgate agencies sync)\n";
  }
  for (const auto& a : list->as_array()) std::cout << text_of(a, "code") << "\t" << text_of(a, "name") << "\n";
  return list->as_array().empty() ? kExitInvalid : kExitOk;
}

int cmd_agencies_sync(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {kUrl, kCert, kKey, kCa, kJson});
  if (!args.ok()) return fail(args.error());
  if (!args->positional().empty()) return fail(kExitUsage, "unexpected argument '" + args->positional()[0] + "'");
  auto o = connection(*args);
  if (!o.ok()) return fail(o.error());
  o->timeout = std::chrono::minutes(10);  // ~111,000 entries fetched and stored
  auto v = call_json(*o, "POST", "/v1/agencies/sync", "{}");
  if (!v.ok()) return fail_remote(v.error());
  if (args->has("--json"))
    std::cout << json::pretty(*v);
  else
    std::cout << "agency directory synchronised: " << text_of(*v, "entries") << " entries\n";
  return kExitOk;
}

// --- agent ---

struct Pending {
  std::string id;
  bj::value doc;  // GET /v1/outgoing/{id}
};

void show(const Pending& p) {
  const bj::value& d = p.doc;
  std::cout << "[" << p.id << "] " << text_of(d, "code") << "  " << text_of(d, "subject") << "\n";
  std::cout << "    from " << text_of(d, "from");
  if (const auto* to = d.as_object().if_contains("to"); to && to->is_array()) {
    std::cout << " to";
    for (const auto& t : to->as_array())
      if (t.is_string()) std::cout << " " << t.as_string();
  }
  std::cout << "; " << text_of(d, "document_type") << " " << text_of(d, "promulgation_date") << "\n";
  if (const auto* atts = d.as_object().if_contains("attachments"); atts && atts->is_array()) {
    for (const auto& a : atts->as_array()) {
      std::cout << "    " << text_of(a, "name") << "  " << text_of(a, "size") << " bytes  sha256 "
                << text_of(a, "sha256") << "\n";
    }
  }
}

Result<std::vector<Pending>> awaiting(const HttpsOptions& o) {
  std::vector<Pending> out;
  std::string cursor;
  for (int pages = 0; pages < 100; ++pages) {
    auto list = call_json(
        o, "GET",
        "/v1/outgoing?state=pending_signature&limit=100" + (cursor.empty() ? std::string() : "&cursor=" + cursor));
    if (!list.ok()) return list.error();
    const auto* docs = list->as_object().if_contains("documents");
    if (!docs || !docs->is_array())
      return make_error(ErrorKind::unavailable, "https.malformed", "the list has no documents");
    for (const auto& d : docs->as_array()) {
      Pending p{text_of(d, "id"), {}};
      auto full = call_json(o, "GET", "/v1/outgoing/" + percent_encode(p.id));
      if (!full.ok()) return full.error();
      p.doc = std::move(*full);
      out.push_back(std::move(p));
    }
    cursor = text_of(*list, "next_cursor");
    if (cursor.empty()) break;
  }
  return out;
}

// One line typed on the controlling terminal (not stdin, which may be a pipe).
Result<std::string> read_line_terminal(std::string_view prompt) {
  std::unique_ptr<FILE, int (*)(FILE*)> tty(std::fopen("/dev/tty", "r+"), &std::fclose);
  if (!tty) {
    return make_error(ErrorKind::usage, "usage.no_terminal",
                      "no terminal to ask which documents to sign: give --sign ID or --sign all");
  }
  // A prompt that could not be shown still lets the leader type the answer.
  (void)std::fwrite(prompt.data(), 1, prompt.size(), tty.get());
  (void)std::fflush(tty.get());
  std::string line;
  for (int c; (c = std::fgetc(tty.get())) != EOF && c != '\n';) {
    if (line.size() < 4096) line.push_back(static_cast<char>(c));
  }
  return line;
}

// The ids to sign: --sign (repeatable, or "all"), else asked on the terminal.
Result<std::vector<std::string>> choose(const Args& args, const std::vector<Pending>& pending) {
  std::vector<std::string> wanted = args.all("--sign");
  if (wanted.empty()) {
    auto line = read_line_terminal("sign which documents? (ids separated by spaces, 'all', or Enter for none): ");
    if (!line.ok()) return line.error();
    std::string word;
    for (char c : *line + " ") {
      if (c == ' ' || c == ',' || c == '\t') {
        if (!word.empty()) wanted.push_back(word);
        word.clear();
      } else {
        word.push_back(c);
      }
    }
  }
  if (wanted.size() == 1 && wanted[0] == "all") {
    wanted.clear();
    for (const auto& p : pending) wanted.push_back(p.id);
  }
  return wanted;
}

std::string base64url(std::string_view bytes) {
  std::string s = base64::encode(bytes);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

// One document: to-sign with our certificate, sign on the token, post the value.
Result<std::string> sign_one(const HttpsOptions& o, const std::string& id, crypto::Signer& signer,
                             const crypto::Certificate& cert) {
  const auto der = cert.der();
  auto tbs = https_request(o, "GET",
                           "/v1/outgoing/" + percent_encode(id) + "/to-sign?cert=" +
                               base64url(std::string_view(reinterpret_cast<const char*>(der.data()), der.size())));
  if (!tbs.ok()) return tbs.error();
  if (tbs->status != 200) return problem_error(*tbs);
  crypto::SignatureAlgorithm alg;
  auto name = tbs->headers["x-edxgate-signature-algorithm"];
  if (!crypto::parse_signature_name(name, alg))
    return make_error(ErrorKind::unavailable, "https.malformed", "the gateway named no known signature algorithm");
  auto value =
      signer.sign(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(tbs->body.data()), tbs->body.size()), alg);
  if (!value.ok()) return value.error();
  bj::object body{
      {"signature", base64::encode(std::string_view(reinterpret_cast<const char*>(value->data()), value->size()))},
      {"certificates", bj::array{bj::value(cert.pem())}},
      {"algorithm", name}};
  auto done = call_json(o, "POST", "/v1/outgoing/" + percent_encode(id) + "/signature", bj::serialize(body));
  if (!done.ok()) return done.error();
  return text_of(*done, "state");
}

int cmd_agent(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {kUrl, kCert, kKey, kCa, kTokenUri, kModule, kPinFile, kSign, kSignerCert});
  if (!args.ok()) return fail(args.error());
  if (!args->positional().empty()) return fail(kExitUsage, "unexpected argument '" + args->positional()[0] + "'");
  auto o = connection(*args);
  if (!o.ok()) return fail(o.error());
  auto pending = awaiting(*o);
  if (!pending.ok()) return fail_remote(pending.error());
  if (pending->empty()) {
    std::cout << "no document awaits your signature\n";
    if (args->has("--sign"))
      return fail(kExitInvalid, "nothing to sign: " + args->all("--sign")[0] + " does not await your signature");
    return kExitOk;
  }
  std::cout << pending->size() << " document(s) await your signature:\n";
  for (const auto& p : *pending) show(p);
  auto wanted = choose(*args, *pending);
  if (!wanted.ok()) return fail_remote(wanted.error());
  if (wanted->empty()) return kExitOk;
  std::set<std::string> known;
  for (const auto& p : *pending) known.insert(p.id);
  for (const auto& id : *wanted) {
    if (!known.count(id))
      return fail(kExitInvalid, "document " + id + " does not await your signature (already signed, or not yours)");
  }
  // The leader's own token: its key, its certificate, the PIN without echo.
  if (!args->has("--token-uri"))
    return fail(kExitUsage, "--token-uri pkcs11:... (the signing key on your token) is required to sign");
  auto uri = hsm::Pkcs11Uri::parse(args->get("--token-uri"));
  if (!uri.ok()) return fail(uri.error());
  const std::string module_path = args->get("--module", uri->module_path.value_or(std::string(hsm::kDefaultModule)));
  auto module = hsm::Module::load(module_path);
  if (!module.ok()) return fail(module.error());
  auto pin = args->has("--pin-file") ? hsm::read_pin_file(args->get("--pin-file"))
             : uri->pin_source       ? hsm::read_pin_file(*uri->pin_source)
                                     : hsm::read_pin_terminal("PIN of your token: ");
  if (!pin.ok()) return fail_remote(pin.error());
  auto signer = hsm::TokenSigner::open(*module, *uri, std::move(*pin), hsm::Actor{"leader:agent", nullptr});
  if (!signer.ok()) return fail_remote(signer.error());
  Result<crypto::Certificate> cert = make_error(ErrorKind::internal, "cert.missing", "");
  if (args->has("--signer-cert")) {
    auto certs = crypto::Certificate::load_file(args->get("--signer-cert"));
    if (!certs.ok()) return fail(certs.error());
    if (certs->empty()) return fail(kExitUsage, "--signer-cert holds no certificate");
    cert = (*certs)[0];
  } else {
    cert = hsm::token_certificate(*module, *uri, (*signer)->key().id);
  }
  if (!cert.ok()) return fail_remote(cert.error());
  int failures = 0;
  for (const auto& id : *wanted) {
    auto state = sign_one(*o, id, **signer, *cert);
    if (state.ok()) {
      std::cout << "signed " << id << ": " << *state << "\n";
    } else {
      ++failures;
      std::cerr << "edxgate: document " << id << " not signed: " << state.error().to_string() << "\n";
    }
  }
  return failures ? kExitInvalid : kExitOk;
}

#define EDX_REMOTE_HELP                                                        \
  "  --url URL             the gateway's internal API, https://HOST:PORT\n"    \
  "  --cert PEM, --key PEM your TLS client certificate and key (mutual TLS)\n" \
  "  --ca PEM              the CA the gateway's certificate must chain to\n"   \
  "                        (default: the system's CA store)\n"

const Command kCommands[] = {
    {"agencies", "search the gateway's agency directory",
     "usage: edxgate agencies --url URL --cert PEM --key PEM [--ca PEM] [--json] [--limit N] [QUERY]\n\n"
     "Searches the agency directory the gateway synchronised from the axis\n"
     "(getAgenciesList), ignoring case and Vietnamese diacritics: 'nghe an' finds\n"
     "'Nghệ An'. Prints one line per entry: organ id, a tab, the name. Exit 1 when\n"
     "nothing matches.\n\n" EDX_REMOTE_HELP "  --json                the gateway's answer as JSON\n"
     "  --limit N             at most N entries (1..1000, default 20)\n",
     cmd_agencies},
    {"agencies sync", "fetch the agency directory from the axis now",
     "usage: edxgate agencies sync --url URL --cert PEM --key PEM [--ca PEM] [--json]\n\n"
     "Asks the gateway to fetch the agency directory from the axis now and replace\n"
     "its copy (it also does so at start and every [axis] directory_refresh_h).\n"
     "Needs an officer's certificate.\n\n" EDX_REMOTE_HELP,
     cmd_agencies_sync},
    {"agent", "a leader's signing agent: list and sign documents awaiting you",
     "usage: edxgate agent --url URL --cert PEM --key PEM [--ca PEM]\n"
     "                     [--token-uri pkcs11:...] [--module SO] [--pin-file FILE]\n"
     "                     [--sign ID ... | --sign all] [--signer-cert PEM]\n\n"
     "Run on the leader's PC with the leader's client certificate. Lists the\n"
     "documents awaiting your signature (subject, sender, recipients, attachments\n"
     "and their SHA-256), then signs the ones you choose (--sign, repeatable, or\n"
     "asked on the terminal) with the key on your own token: the gateway gives the\n"
     "bytes to sign, the token signs them, the signature goes back and the\n"
     "document is sent. The PIN is asked on the terminal without echo.\n\n" EDX_REMOTE_HELP
     "  --token-uri URI       your signing key, e.g. pkcs11:token=Lanh%20dao;object=sign\n"
     "  --module SO           the PKCS#11 module (default Debian's SoftHSM2)\n"
     "  --pin-file FILE       read the PIN from FILE (mode 0600) instead of asking\n"
     "  --signer-cert PEM     your certificate, when it is not stored on the token\n\n"
     "exit codes: 0 all chosen documents signed, 1 one was refused (e.g. already\n"
     "signed), 2 usage, the gateway or the token unreachable\n",
     cmd_agent},
};

}  // namespace

std::span<const Command> remote_commands() { return kCommands; }

}  // namespace edxgate::cli
