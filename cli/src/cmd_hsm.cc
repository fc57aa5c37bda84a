// edxgate token/key/csr/cert ...: the security officer's PKCS#11 commands.
#include <unistd.h>

#include <iostream>

#include "cli.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/hsm/hsm.h"

namespace edxgate::cli {
namespace {

namespace bj = boost::json;
using hsm::Pkcs11Uri;

constexpr std::string_view kDefaultAuditLog = "./edxgate-audit.log";

void print_json(const bj::value& v) { std::cout << json::pretty(v); }

bj::array string_array(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// The token selector: --token URI (token fields only), empty = the only token.
Result<Pkcs11Uri> token_selector(const Args& args) {
  if (!args.has("--token")) return Pkcs11Uri{};
  return Pkcs11Uri::parse(args.get("--token"));
}

// The key selector: --key URI, or --label / --id, plus --token's fields.
Result<Pkcs11Uri> key_selector(const Args& args) {
  auto tok = token_selector(args);
  if (!tok.ok()) return tok.error();
  Pkcs11Uri key = *tok;
  if (args.has("--key")) {
    auto k = Pkcs11Uri::parse(args.get("--key"));
    if (!k.ok()) return k.error();
    key = *k;
    if (!key.selects_token()) {  // token fields from --token when the key URI has none
      key.token = tok->token;
      key.serial = tok->serial;
      key.manufacturer = tok->manufacturer;
      key.model = tok->model;
      key.slot_id = tok->slot_id;
    }
    if (!key.module_path) key.module_path = tok->module_path;
    if (!key.pin_source) key.pin_source = tok->pin_source;
  }
  if (args.has("--label")) key.object = args.get("--label");
  if (args.has("--id")) {
    auto id = hsm::parse_hex_id(args.get("--id"));
    if (!id.ok()) return id.error();
    key.id = *id;
  }
  if (!key.object && !key.id) {
    return make_error(ErrorKind::usage, "usage.key",
                      "name the key with --key pkcs11:object=...;id=... or --label/--id");
  }
  return key;
}

Result<std::shared_ptr<hsm::Module>> load_module(const Args& args, const Pkcs11Uri& uri) {
  std::string path = args.get("--module", uri.module_path.value_or(std::string(hsm::kDefaultModule)));
  return hsm::Module::load(path);
}

Result<SecretString> obtain_pin(const Args& args, const Pkcs11Uri& uri, const std::string& label) {
  if (args.has("--pin-file")) return hsm::read_pin_file(args.get("--pin-file"));
  if (args.has("--pin-credential")) return hsm::read_pin_credential(args.get("--pin-credential"));
  if (uri.pin_source) return hsm::read_pin_file(*uri.pin_source);
  return hsm::read_pin_terminal("PIN for token '" + label + "': ");
}

// Everything a token command needs: module, session, audit sink.
struct Context {
  std::unique_ptr<FileAuditSink> audit;
  std::optional<hsm::TokenSession> session;
  bool json = false;
};

Result<Context> open_token(const Args& args, const Pkcs11Uri& selector, bool login) {
  Context ctx;
  ctx.json = args.has("--json");
  ctx.audit = std::make_unique<FileAuditSink>(args.get("--audit-log", std::string(kDefaultAuditLog)));
  auto module = load_module(args, selector);
  if (!module.ok()) return module.error();
  auto session = hsm::TokenSession::open(*module, selector, hsm::Actor{"officer:cli", ctx.audit.get()});
  if (!session.ok()) return session.error();
  ctx.session.emplace(std::move(session.value()));
  if (login) {
    auto pin = obtain_pin(args, selector, ctx.session->token().label);
    if (!pin.ok()) return pin.error();
    EDX_TRY(ctx.session->login(*pin));
  }
  return ctx;
}

#define EDX_CLI_ARGS(...)                                                           \
  auto args = Args::parse(argv, {__VA_ARGS__});                                     \
  if (!args.ok()) return fail(args.error());                                        \
  if (!args->positional().empty()) {                                                \
    return fail(kExitUsage, "unexpected argument '" + args->positional()[0] + "'"); \
  }

constexpr OptionSpec kModule{"--module", "", true};
constexpr OptionSpec kToken{"--token", "", true};
constexpr OptionSpec kKey{"--key", "", true};
constexpr OptionSpec kLabel{"--label", "", true};
constexpr OptionSpec kId{"--id", "", true};
constexpr OptionSpec kPinFile{"--pin-file", "", true};
constexpr OptionSpec kPinCred{"--pin-credential", "", true};
constexpr OptionSpec kAudit{"--audit-log", "", true};
constexpr OptionSpec kJson{"--json"};

std::string flags_text(const hsm::TokenInfo& t) {
  std::vector<std::string> f;
  if (t.initialized) f.push_back("initialized");
  if (t.login_required) f.push_back("login-required");
  if (t.user_pin_initialized) f.push_back("user-pin-set");
  if (t.read_only) f.push_back("read-only");
  if (t.pin_count_low) f.push_back("pin-count-low");
  if (t.pin_final_try) f.push_back("PIN-FINAL-TRY");
  if (t.pin_locked) f.push_back("PIN-LOCKED");
  if (t.pin_to_be_changed) f.push_back("pin-to-be-changed");
  std::string out;
  for (const auto& s : f) out += (out.empty() ? "" : ", ") + s;
  return out;
}

int token_list(const std::vector<std::string>& argv) {
  EDX_CLI_ARGS(kModule, kJson);
  auto module = load_module(*args, Pkcs11Uri{});
  if (!module.ok()) return fail(module.error());
  auto list = hsm::list_tokens(**module);
  if (!list.ok()) return fail(list.error());
  if (args->has("--json")) {
    bj::array slots;
    for (const auto& t : list->slots) {
      bj::object o{{"slot_id", t.slot_id},
                   {"slot_description", t.slot_description},
                   {"token_present", t.present},
                   {"removable", t.removable}};
      if (t.present) {
        o["label"] = t.label;
        o["serial"] = t.serial;
        o["manufacturer"] = t.manufacturer;
        o["model"] = t.model;
        o["uri"] = t.uri();
        o["flags"] = bj::object{{"initialized", t.initialized},
                                {"login_required", t.login_required},
                                {"user_pin_initialized", t.user_pin_initialized},
                                {"read_only", t.read_only},
                                {"pin_count_low", t.pin_count_low},
                                {"pin_final_try", t.pin_final_try},
                                {"pin_locked", t.pin_locked},
                                {"pin_to_be_changed", t.pin_to_be_changed}};
      }
      slots.push_back(std::move(o));
    }
    print_json(bj::object{{"module", (*module)->path()},
                          {"manufacturer", list->module_manufacturer},
                          {"description", list->module_description},
                          {"slots", std::move(slots)}});
    return kExitOk;
  }
  std::cout << "module " << (*module)->path() << " (" << list->module_description << ")\n";
  for (const auto& t : list->slots) {
    std::cout << "slot " << t.slot_id << ": ";
    if (!t.present || !t.initialized) {
      std::cout << (t.present ? "uninitialized token\n" : "no token\n");
      continue;
    }
    std::cout << "'" << t.label << "' serial " << t.serial << ", " << t.manufacturer << " " << t.model
              << "\n  flags: " << flags_text(t) << "\n  uri: " << t.uri() << "\n";
  }
  return kExitOk;
}

bj::object key_json(const hsm::KeyInfo& k) {
  return bj::object{{"label", k.label},
                    {"id", hsm::to_hex(k.id)},
                    {"type", k.spec.to_string()},
                    {"sensitive", k.sensitive},
                    {"extractable", k.extractable},
                    {"always_sensitive", k.always_sensitive},
                    {"never_extractable", k.never_extractable},
                    {"sign", k.can_sign},
                    {"has_certificate", k.has_certificate},
                    {"uri", k.uri}};
}

void print_key(const hsm::KeyInfo& k) {
  std::cout << k.label << "  " << k.spec.to_string() << "  id " << hsm::to_hex(k.id)
            << (k.sensitive && !k.extractable ? "  sensitive, not extractable" : "  EXTRACTABLE")
            << (k.can_sign ? ", sign" : "") << (k.has_certificate ? ", certificate" : "") << "\n  " << k.uri << "\n";
}

int key_list(const std::vector<std::string>& argv) {
  EDX_CLI_ARGS(kModule, kToken, kPinFile, kPinCred, kAudit, kJson);
  auto sel = token_selector(*args);
  if (!sel.ok()) return fail(sel.error());
  auto ctx = open_token(*args, *sel, true);
  if (!ctx.ok()) return fail(ctx.error());
  auto keys = ctx->session->keys();
  if (!keys.ok()) return fail(keys.error());
  if (ctx->json) {
    bj::array a;
    for (const auto& k : *keys) a.push_back(key_json(k));
    print_json(bj::object{{"token", ctx->session->token().uri()}, {"keys", std::move(a)}});
  } else {
    if (keys->empty()) std::cout << "no private keys on '" << ctx->session->token().label << "'\n";
    for (const auto& k : *keys) print_key(k);
  }
  return kExitOk;
}

int key_generate(const std::vector<std::string>& argv) {
  EDX_CLI_ARGS(kModule, kToken, kPinFile, kPinCred, kAudit, kJson, kLabel, kId, OptionSpec{"--type", "", true});
  if (!args->has("--label")) return fail(kExitUsage, "key generate needs --label");
  auto spec = hsm::KeySpec::parse(args->get("--type", "rsa:2048"));
  if (!spec.ok()) return fail(spec.error());
  std::vector<uint8_t> id;
  if (args->has("--id")) {
    auto parsed = hsm::parse_hex_id(args->get("--id"));
    if (!parsed.ok()) return fail(parsed.error());
    id = *parsed;
  }
  auto sel = token_selector(*args);
  if (!sel.ok()) return fail(sel.error());
  auto ctx = open_token(*args, *sel, true);
  if (!ctx.ok()) return fail(ctx.error());
  auto key = ctx->session->generate_key(*spec, args->get("--label"), id);
  if (!key.ok()) return fail(key.error());
  if (ctx->json) {
    print_json(key_json(*key));
  } else {
    std::cout << "generated ";
    print_key(*key);
  }
  return kExitOk;
}

int key_delete(const std::vector<std::string>& argv) {
  EDX_CLI_ARGS(kModule, kToken, kKey, kLabel, kId, kPinFile, kPinCred, kAudit, kJson, OptionSpec{"--yes"});
  auto sel = key_selector(*args);
  if (!sel.ok()) return fail(sel.error());
  auto ctx = open_token(*args, *sel, true);
  if (!ctx.ok()) return fail(ctx.error());
  auto key = ctx->session->find_key(*sel);
  if (!key.ok()) return fail(key.error());
  if (!args->has("--yes")) {
    auto yes = hsm::confirm_on_terminal("Delete key '" + key->label + "' (id " + hsm::to_hex(key->id) +
                                        ") and its certificate from '" + ctx->session->token().label +
                                        "'? This cannot be undone.");
    if (!yes.ok()) return fail(yes.error());
    if (!*yes) return fail(kExitInvalid, "not deleted");
  }
  Status st = ctx->session->delete_key(*sel);
  if (!st.ok()) return fail(st.error());
  if (ctx->json) {
    print_json(bj::object{{"deleted", key->uri}});
  } else {
    std::cout << "deleted " << key->uri << "\n";
  }
  return kExitOk;
}

int csr(const std::vector<std::string>& argv) {
  EDX_CLI_ARGS(kModule, kToken, kKey, kLabel, kId, kPinFile, kPinCred, kAudit, kJson, OptionSpec{"--subject", "", true},
               OptionSpec{"--email", "", true}, OptionSpec{"--out", "-o", true});
  if (!args->has("--subject")) return fail(kExitUsage, "csr needs --subject DN");
  auto sel = key_selector(*args);
  if (!sel.ok()) return fail(sel.error());
  auto ctx = open_token(*args, *sel, true);
  if (!ctx.ok()) return fail(ctx.error());
  auto pem = ctx->session->make_csr(*sel, args->get("--subject"), args->get("--email"));
  if (!pem.ok()) return fail(pem.error());
  if (args->has("--out")) {
    Status st = fs::write_file_atomic(args->get("--out"), *pem, 0644);
    if (!st.ok()) return fail(st.error());
  }
  if (ctx->json) {
    print_json(bj::object{{"csr", *pem}, {"subject", args->get("--subject")}});
  } else if (!args->has("--out")) {
    std::cout << *pem;
  } else {
    std::cout << "wrote " << args->get("--out") << "\n";
  }
  return kExitOk;
}

bj::object cert_json(const hsm::CertInfo& c) {
  return bj::object{{"label", c.label},
                    {"id", hsm::to_hex(c.id)},
                    {"subject", c.subject},
                    {"issuer", c.issuer},
                    {"serial", c.serial},
                    {"not_before", c.not_before},
                    {"not_after", c.not_after},
                    {"days_to_expiry", c.days_to_expiry},
                    {"key_usage", string_array(c.key_usage)},
                    {"uri", c.uri}};
}

void print_cert(const hsm::CertInfo& c) {
  std::string ku;
  for (const auto& u : c.key_usage) ku += (ku.empty() ? "" : ", ") + u;
  std::cout << c.label << "  id " << hsm::to_hex(c.id) << "\n  subject: " << c.subject << "\n  issuer:  " << c.issuer
            << "\n  serial:  " << c.serial << "\n  valid:   " << c.not_before << " .. " << c.not_after << " ("
            << (c.days_to_expiry < 0 ? "EXPIRED " + std::to_string(-c.days_to_expiry) + " days ago"
                                     : std::to_string(c.days_to_expiry) + " days left")
            << ")\n  key usage: " << (ku.empty() ? "(none)" : ku) << "\n  " << c.uri << "\n";
}

int cert_import(const std::vector<std::string>& argv) {
  EDX_CLI_ARGS(kModule, kToken, kKey, kLabel, kId, kPinFile, kPinCred, kAudit, kJson, OptionSpec{"--cert", "", true},
               OptionSpec{"--replace"});
  if (!args->has("--cert")) return fail(kExitUsage, "cert import needs --cert FILE");
  auto bytes = fs::read_file(args->get("--cert"), 1 << 20);
  if (!bytes.ok()) return fail(bytes.error());
  auto sel = key_selector(*args);
  if (!sel.ok()) return fail(sel.error());
  auto ctx = open_token(*args, *sel, true);
  if (!ctx.ok()) return fail(ctx.error());
  auto info = ctx->session->import_certificate(*sel, *bytes, args->has("--replace"));
  if (!info.ok()) return fail(info.error());
  if (ctx->json) {
    print_json(cert_json(*info));
  } else {
    std::cout << "imported ";
    print_cert(*info);
  }
  return kExitOk;
}

int cert_list(const std::vector<std::string>& argv) {
  EDX_CLI_ARGS(kModule, kToken, kJson);
  auto sel = token_selector(*args);
  if (!sel.ok()) return fail(sel.error());
  Context ctx;
  auto module = load_module(*args, *sel);
  if (!module.ok()) return fail(module.error());
  auto session = hsm::TokenSession::open(*module, *sel);
  if (!session.ok()) return fail(session.error());
  auto certs = session->certificates();
  if (!certs.ok()) return fail(certs.error());
  if (args->has("--json")) {
    bj::array a;
    for (const auto& c : *certs) a.push_back(cert_json(c));
    print_json(bj::object{{"token", session->token().uri()}, {"certificates", std::move(a)}});
  } else {
    if (certs->empty()) std::cout << "no certificates on '" << session->token().label << "'\n";
    for (const auto& c : *certs) print_cert(c);
  }
  return kExitOk;
}

#define EDX_COMMON_HELP                                                                    \
  "  --module PATH         PKCS#11 module (default /usr/lib/softhsm/libsofthsm2.so)\n"     \
  "  --token URI           the token, as pkcs11:token=LABEL;serial=... (needed when the\n" \
  "                        module has several tokens)\n"
#define EDX_PIN_HELP                                                                    \
  "  --pin-file FILE       read the user PIN from FILE (mode 0600 or stricter)\n"       \
  "  --pin-credential NAME read the PIN from $CREDENTIALS_DIRECTORY/NAME (systemd)\n"   \
  "                        (neither: the PIN is asked on the terminal, without echo)\n" \
  "  --audit-log FILE      append audit events here (default ./edxgate-audit.log)\n"
#define EDX_KEY_HELP                                                    \
  "  --key URI             the key, as pkcs11:object=LABEL;id=%01%02\n" \
  "  --label LABEL, --id HEX   the key by label and/or id instead of --key\n"

constexpr Command kCommands[] = {
    {"token list", "list PKCS#11 slots and tokens",
     "usage: edxgate token list [--module PATH] [--json]\n\n"
     "Lists every slot of the module and its token: label, serial, manufacturer,\n"
     "model, flags (login required, PIN count low / final try / locked) and URI.\n\n"
     "  --module PATH         PKCS#11 module (default /usr/lib/softhsm/libsofthsm2.so)\n"
     "  --json                machine-readable output\n",
     token_list},
    {"key list", "list the private keys on a token",
     "usage: edxgate key list [--token URI] [--pin-file FILE] [--json]\n\n"
     "Logs in and lists the private keys: label, id, type, whether sensitive and\n"
     "non-extractable, whether a certificate is stored with it, and its URI.\n\n" EDX_COMMON_HELP EDX_PIN_HELP
     "  --json                machine-readable output\n",
     key_list},
    {"key generate", "generate a signing key pair on a token",
     "usage: edxgate key generate --label LABEL [--type TYPE] [--id HEX] [--token URI]\n"
     "                            [--pin-file FILE] [--json]\n\n"
     "Generates a key pair on the token; the private key is sensitive, never\n"
     "extractable, private, and may only sign. The event is audited.\n\n"
     "  --type TYPE           rsa:2048 (default), rsa:3072, rsa:4096, ec:P-256, ec:P-384\n"
     "  --label LABEL         the key's label (must be unused)\n"
     "  --id HEX              the key's CKA_ID (default: 16 random bytes)\n" EDX_COMMON_HELP EDX_PIN_HELP
     "  --json                machine-readable output\n",
     key_generate},
    {"key delete", "delete a key, its public key and certificate",
     "usage: edxgate key delete (--key URI | --label L | --id HEX) [--yes] [--pin-file FILE]\n\n"
     "Destroys the private key, its public key and its certificate (same id). Asks\n"
     "for confirmation on the terminal unless --yes. The event is audited.\n\n" EDX_KEY_HELP
     "  --yes                 do not ask for confirmation\n" EDX_COMMON_HELP EDX_PIN_HELP
     "  --json                machine-readable output\n",
     key_delete},
    {"csr", "make a PKCS#10 request signed by a token key",
     "usage: edxgate csr (--key URI | --label L | --id HEX) --subject DN [--email ADDR]\n"
     "                   [--out FILE] [--pin-file FILE] [--json]\n\n"
     "Makes a certificate request for the token key, signed on the token. The\n"
     "subject is an RFC 4514 DN with UTF-8 values, e.g.\n"
     "  --subject 'CN=Trần Hữu Linh,O=Bộ Công Thương,C=VN'\n"
     "(or the /C=VN/O=.../CN=... form). Writes PEM to FILE or stdout.\n\n" EDX_KEY_HELP
     "  --subject DN          the subject distinguished name\n"
     "  --email ADDR          add subjectAltName email:ADDR\n"
     "  --out FILE, -o FILE   write the PEM here\n" EDX_COMMON_HELP EDX_PIN_HELP
     "  --json                machine-readable output\n",
     csr},
    {"cert import", "store a certificate next to its key",
     "usage: edxgate cert import (--key URI | --label L | --id HEX) --cert FILE [--replace]\n"
     "                           [--pin-file FILE] [--json]\n\n"
     "Stores the certificate (PEM or DER) on the token with the key's id and label,\n"
     "after checking that its public key is the key's. The event is audited.\n\n" EDX_KEY_HELP
     "  --cert FILE           the certificate\n"
     "  --replace             replace the certificate already stored for the key\n" EDX_COMMON_HELP EDX_PIN_HELP
     "  --json                machine-readable output\n",
     cert_import},
    {"cert list", "list the certificates on a token",
     "usage: edxgate cert list [--token URI] [--module PATH] [--json]\n\n"
     "Lists the certificates stored on the token: subject, issuer, serial,\n"
     "validity, key usage and days to expiry. Needs no PIN.\n\n" EDX_COMMON_HELP
     "  --json                machine-readable output\n",
     cert_list},
};

}  // namespace

std::span<const Command> hsm_commands() { return kCommands; }

}  // namespace edxgate::cli
