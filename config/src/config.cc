#include "edxgate/config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

#include "edxgate/base/fs.h"

namespace edxgate::config {
namespace {

constexpr size_t kMaxConfigBytes = 1024 * 1024;

struct Problem {
  int line;
  std::string text;
};

// Reads one TOML table against its schema: every key read is remembered, and
// finish() reports whatever key nobody asked for.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string prefix, std::vector<Problem>& problems)
      : table_(table), prefix_(std::move(prefix)), problems_(problems) {}

  void str(const char* key, std::string& out) {
    const toml::node* n = take(key);
    if (!n) return;
    if (auto v = n->value<std::string>(); v && n->is_string()) {
      out = *v;
    } else {
      wrong_type(key, *n, "a string");
    }
  }

  void one_of(const char* key, std::string& out, std::initializer_list<const char*> choices) {
    const toml::node* n = take(key);
    if (!n) return;
    if (!n->is_string()) return wrong_type(key, *n, "a string");
    std::string v = *n->value<std::string>();
    std::string list;
    for (const char* c : choices) {
      if (v == c) {
        out = v;
        return;
      }
      list += list.empty() ? "" : ", ";
      list += std::string("\"") + c + "\"";
    }
    add(*n, key, "must be one of " + list + ", not \"" + v + "\"");
  }

  void boolean(const char* key, bool& out) {
    const toml::node* n = take(key);
    if (!n) return;
    if (!n->is_boolean()) return wrong_type(key, *n, "true or false");
    out = *n->value<bool>();
  }

  template <class T>
  void integer(const char* key, T& out, int64_t min, int64_t max) {
    const toml::node* n = take(key);
    if (!n) return;
    if (!n->is_integer()) return wrong_type(key, *n, "an integer");
    int64_t v = *n->value<int64_t>();
    if (v < min || v > max) {
      add(*n, key,
          "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", not " + std::to_string(v));
      return;
    }
    out = static_cast<T>(v);
  }

  void str_list(const char* key, std::vector<std::string>& out) {
    const toml::node* n = take(key);
    if (!n) return;
    const toml::array* arr = n->as_array();
    if (!arr) return wrong_type(key, *n, "an array of strings");
    out.clear();
    for (const toml::node& item : *arr) {
      if (!item.is_string()) return wrong_type(key, item, "an array of strings");
      out.push_back(*item.value<std::string>());
    }
  }

  // A key that was renamed: its presence is a problem naming the new key.
  void renamed(const char* old_key, const char* new_key, const std::string& hint) {
    if (const toml::node* n = take(old_key)) add(*n, old_key, "renamed: use " + qualified(new_key) + " " + hint);
  }

  const toml::table* table(const char* key) {
    const toml::node* n = take(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      wrong_type(key, *n, "a table");
      return nullptr;
    }
    return n->as_table();
  }

  // An array of tables ([[key]]).
  const toml::array* table_array(const char* key) {
    const toml::node* n = take(key);
    if (!n) return nullptr;
    const toml::array* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      wrong_type(key, *n, "an array of tables ([[" + qualified(key) + "]])");
      return nullptr;
    }
    return arr;
  }

  void finish() {
    for (auto&& [k, v] : table_) {
      std::string name(k.str());
      if (!seen_.count(name)) {
        problems_.push_back({static_cast<int>(k.source().begin.line), qualified(name.c_str()) + ": unknown key"});
      }
    }
  }

  std::string qualified(const char* key) const { return prefix_.empty() ? std::string(key) : prefix_ + "." + key; }

  void add(const toml::node& n, const char* key, const std::string& what) {
    problems_.push_back({static_cast<int>(n.source().begin.line), qualified(key) + ": " + what});
  }

 private:
  const toml::node* take(const char* key) {
    seen_.insert(key);
    return table_.get(key);
  }

  void wrong_type(const char* key, const toml::node& n, const std::string& expected) {
    add(n, key, "must be " + expected);
  }

  const toml::table& table_;
  std::string prefix_;
  std::vector<Problem>& problems_;
  std::set<std::string> seen_;
};

constexpr int64_t kU32 = std::numeric_limits<uint32_t>::max();
constexpr int64_t kI64 = std::numeric_limits<int64_t>::max();

bool valid_listen(const std::string& s) {
  if (s.empty()) return true;
  static const std::regex re(R"(^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):([0-9]{1,5})$)");
  std::smatch m;
  if (!std::regex_match(s, m, re)) return false;
  int port = std::stoi(m[2].str());
  return port >= 0 && port <= 65535;
}

void read_server(TableReader& r, Server& s) {
  r.str("internal_listen", s.internal_listen);
  r.str("axis_listen", s.axis_listen);
  r.str("health_listen", s.health_listen);
  r.str("tls_cert", s.tls_cert);
  r.str("tls_key", s.tls_key);
  r.str("client_ca", s.client_ca);
  r.integer("shutdown_grace_s", s.shutdown_grace_s, 0, 3600);
}

void read_limits(TableReader& r, Limits& l) {
  r.integer("max_header_bytes", l.max_header_bytes, 1024, 1024 * 1024);
  r.integer("max_body_bytes", l.max_body_bytes, 1024, kI64);
  r.integer("max_json_bytes", l.max_json_bytes, 1024, 64 * 1024 * 1024);
  r.integer("request_timeout_s", l.request_timeout_s, 1, 86400);
  r.integer("idle_timeout_s", l.idle_timeout_s, 1, 3600);
  r.integer("handshake_timeout_s", l.handshake_timeout_s, 1, 600);
  r.integer("min_body_rate_bps", l.min_body_rate_bps, 0, kU32);
  r.integer("max_connections", l.max_connections, 1, 1000000);
  r.integer("max_connections_per_client", l.max_connections_per_client, 1, 1000000);
}

void read_edxml(TableReader& r, Edxml& e) {
  r.integer("max_depth", e.max_depth, 8, 10000);
  r.integer("max_nodes", e.max_nodes, 100, kI64);
  r.integer("max_attributes", e.max_attributes, 4, 10000);
  r.integer("max_text_bytes", e.max_text_bytes, 1024, kI64);
  r.integer("max_attachments", e.max_attachments, 0, 100000);
  r.integer("max_attachment_bytes", e.max_attachment_bytes, 1, kI64);
  r.integer("parse_timeout_s", e.parse_timeout_s, 1, 86400);
  r.integer("max_zip_ratio", e.max_zip_ratio, 1, 1000000);
  r.str("organ_id_pattern", e.organ_id_pattern);
  r.one_of("status_element", e.status_element, {"MessageHeader", "MessageStatus", "Status"});
}

void read_trust(TableReader& r, Trust& t, std::vector<Problem>& problems) {
  r.str_list("anchors", t.anchors);
  r.str_list("intermediates", t.intermediates);
  r.str_list("crls", t.crls);
  r.one_of("revocation", t.revocation, {"hard", "soft", "off"});
  r.boolean("fetch_crl", t.fetch_crl);
  r.boolean("ocsp", t.ocsp);
  r.integer("revocation_cache_s", t.revocation_cache_s, 0, 7 * 86400);
  r.integer("max_dual_bytes", t.max_dual_bytes, 0, kI64);
  if (const toml::array* arr = r.table_array("sha1_exception")) {
    for (const toml::node& n : *arr) {
      TableReader er(*n.as_table(), "trust.sha1_exception", problems);
      Sha1Exception ex;
      er.str("sender", ex.sender);
      er.str("until", ex.until);
      er.finish();
      static const std::regex date(R"(^\d{4}-\d{2}-\d{2}$)");
      if (ex.sender.empty() || !std::regex_match(ex.until, date)) {
        er.add(n, "until", "each exception needs a sender and an until date (YYYY-MM-DD)");
      }
      t.sha1_exceptions.push_back(ex);
    }
  }
}

void read_axis(TableReader& r, Axis& a) {
  r.one_of("mode", a.mode, {"pull", "push", "off"});
  r.str("endpoint", a.endpoint);
  r.str("organ_id", a.organ_id);
  r.str("system_id", a.system_id);
  r.str("secret_file", a.secret_file);
  r.str("secret_credential", a.secret_credential);
  r.str("ca_file", a.ca_file);
  r.str("client_cert", a.client_cert);
  r.str("client_key", a.client_key);
  r.integer("poll_interval_s", a.poll_interval_s, 1, 86400);
  r.integer("timeout_s", a.timeout_s, 1, 3600);
  r.integer("retry_base_s", a.retry_base_s, 1, 86400);
  r.integer("retry_max_s", a.retry_max_s, 1, 7 * 86400);
  r.integer("max_permanent_failures", a.max_permanent_failures, 1, 100);
  r.integer("max_in_flight", a.max_in_flight, 1, 64);
  r.integer("timestamp_window_s", a.timestamp_window_s, 0, 86400);
  r.integer("directory_refresh_h", a.directory_refresh_h, 0, 24 * 365);
  r.integer("directory_max_entries", a.directory_max_entries, 1, 10'000'000);
  r.integer("directory_max_mb", a.directory_max_mb, 1, 4096);
  r.renamed("replay_window_s", "timestamp_window_s", "(0, the default, checks no timestamp)");
}

void read_clients(const toml::array& arr, std::vector<Client>& out, std::vector<Problem>& problems) {
  for (const toml::node& n : arr) {
    TableReader r(*n.as_table(), "clients", problems);
    Client c;
    std::string role = "system";
    r.str("name", c.name);
    r.one_of("role", role, {"system", "axis", "officer", "leader"});
    r.str("subject", c.subject);
    r.str("fingerprint", c.fingerprint);
    r.str_list("organ_ids", c.organ_ids);
    r.str_list("sign_keys", c.sign_keys);
    r.str_list("remote_signing_certs", c.remote_signing_certs);
    r.finish();
    if (role == "axis")
      c.role = Role::axis;
    else if (role == "officer")
      c.role = Role::officer;
    else if (role == "leader")
      c.role = Role::leader;
    if (c.name.empty()) r.add(n, "name", "every client needs a name");
    if (!c.sign_keys.empty() && c.role != Role::leader) {
      r.add(n, "sign_keys", "only a leader signs documents (client \"" + c.name + "\")");
    }
    for (const auto& k : c.sign_keys) {
      if (k.rfind("pkcs11:", 0) != 0) r.add(n, "sign_keys", "\"" + k + "\" is not a pkcs11: URI");
    }
    if (!c.remote_signing_certs.empty() && c.role != Role::leader) {
      r.add(n, "remote_signing_certs", "only a leader signs documents (client \"" + c.name + "\")");
    }
    static const std::regex fp(R"(^sha256:[0-9a-fA-F]{64}$)");
    for (auto& f : c.remote_signing_certs) {
      if (!std::regex_match(f, fp)) {
        r.add(n, "remote_signing_certs", "\"" + f + "\" must be \"sha256:\" followed by 64 hex digits");
      }
      std::transform(f.begin(), f.end(), f.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    }
    if (c.subject.empty() == c.fingerprint.empty()) {
      r.add(n, "subject", "give exactly one of subject or fingerprint for client \"" + c.name + "\"");
    }
    if (!c.fingerprint.empty() && !std::regex_match(c.fingerprint, fp)) {
      r.add(n, "fingerprint", "must be \"sha256:\" followed by 64 hex digits");
    }
    out.push_back(std::move(c));
  }
}

// [store]
void read_store(TableReader& r, Store& s) {
  r.one_of("backend", s.backend, {"sqlite", "postgresql"});
  r.str("state_dir", s.state_dir);
  r.str("blob_dir", s.blob_dir);
  r.integer("busy_timeout_ms", s.busy_timeout_ms, 0, 600000);
  r.str("dsn", s.dsn);
  r.str("dsn_file", s.dsn_file);
  r.integer("pool_size", s.pool_size, 1, 1000);
  r.integer("statement_timeout_ms", s.statement_timeout_ms, 100, 3600000);
  r.str("node", s.node);
  r.integer("min_free_mb", s.min_free_mb, 0, 1 << 30);
}

// A password written into a connection string ("password=..." or a URI's
// "user:password@"): a secret in the TOML.
bool dsn_has_password(const std::string& dsn) {
  static const std::regex kw(R"((^|\s)password\s*=)", std::regex::icase);
  static const std::regex uri(R"(^postgres(ql)?://[^/@]*:[^/@]*@)", std::regex::icase);
  return std::regex_search(dsn, kw) || std::regex_search(dsn, uri);
}

void check_store(const Store& s, const std::function<void(const char*, const std::string&)>& bad) {
  if (s.backend == "postgresql") {
    if (s.dsn.empty() == s.dsn_file.empty()) {
      bad("store.dsn", "backend \"postgresql\" needs exactly one of dsn and dsn_file");
    }
    if (dsn_has_password(s.dsn)) {
      bad("store.dsn",
          "holds a password: put the connection string in dsn_file (mode 0600) or the "
          "password in ~/.pgpass, never in this file");
    }
  } else if (!s.dsn.empty() || !s.dsn_file.empty()) {
    bad("store.dsn", "is only for backend = \"postgresql\"");
  }
  if (s.node.size() > 200) bad("store.node", "is longer than 200 characters");
}

// Checks that need several keys at once, after every table was read.
void cross_check(const toml::table& root, Config& c, std::vector<Problem>& problems) {
  auto line_of = [&](const char* path) {
    if (const toml::node* n = root.at_path(path).node()) {
      return static_cast<int>(n->source().begin.line);
    }
    return 0;
  };
  auto bad = [&](const char* path, const std::string& what) {
    problems.push_back({line_of(path), std::string(path) + ": " + what});
  };
  if (!valid_listen(c.server.internal_listen)) bad("server.internal_listen", "must be HOST:PORT");
  if (!valid_listen(c.server.axis_listen)) bad("server.axis_listen", "must be HOST:PORT");
  if (!valid_listen(c.server.health_listen)) bad("server.health_listen", "must be HOST:PORT");
  try {
    std::regex re(c.edxml.organ_id_pattern);
    if (!c.axis.organ_id.empty() && !std::regex_search(c.axis.organ_id, re)) {
      bad("axis.organ_id", "\"" + c.axis.organ_id + "\" is not an organ id (edxml.organ_id_pattern)");
    }
    for (const Client& cl : c.clients) {
      for (const std::string& id : cl.organ_ids) {
        if (!std::regex_search(id, re)) {
          bad("clients", "organ id \"" + id + "\" of client \"" + cl.name + "\" is malformed");
        }
      }
    }
  } catch (const std::regex_error&) {
    bad("edxml.organ_id_pattern", "is not a valid regular expression");
  }
  check_store(c.store, bad);
  if (c.axis.retry_base_s > c.axis.retry_max_s) {
    bad("axis.retry_base_s", "must not exceed axis.retry_max_s");
  }
  if (!c.axis.secret_file.empty() && !c.axis.secret_credential.empty()) {
    bad("axis.secret_file", "give either secret_file or secret_credential, not both");
  }
  if (!c.hsm.pin_file.empty() && !c.hsm.pin_credential.empty()) {
    bad("hsm.pin_file", "give either pin_file or pin_credential, not both");
  }
  if (c.signing.mode == "organization" &&
      (c.hsm.key_uri.empty() || (c.hsm.pin_file.empty() && c.hsm.pin_credential.empty()))) {
    bad("signing.mode",
        "\"organization\" signs with the agency's key: set [hsm] key_uri and pin_file or "
        "pin_credential");
  }
  if (!c.axis.endpoint.empty() && c.axis.endpoint.rfind("https://", 0) != 0 &&
      c.axis.endpoint.rfind("http://127.", 0) != 0 && c.axis.endpoint.rfind("http://localhost", 0) != 0) {
    bad("axis.endpoint", "must be an https:// URL");
  }
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::system:
      return "system";
    case Role::axis:
      return "axis";
    case Role::officer:
      return "officer";
    case Role::leader:
      return "leader";
  }
  return "system";
}

Result<Config> parse(std::string_view text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    int line = static_cast<int>(e.source().begin.line);
    return make_error(ErrorKind::invalid, "config.syntax",
                      std::string(origin) + ":" + std::to_string(line) + ": " + std::string(e.description()), line);
  }
  Config c;
  c.path = std::string(origin);
  std::vector<Problem> problems;
  TableReader top(root, "", problems);
  if (const toml::table* t = top.table("server")) {
    TableReader r(*t, "server", problems);
    read_server(r, c.server);
    r.finish();
  }
  if (const toml::table* t = top.table("limits")) {
    TableReader r(*t, "limits", problems);
    read_limits(r, c.limits);
    r.finish();
  }
  if (const toml::table* t = top.table("edxml")) {
    TableReader r(*t, "edxml", problems);
    read_edxml(r, c.edxml);
    r.finish();
  }
  if (const toml::table* t = top.table("store")) {
    TableReader r(*t, "store", problems);
    read_store(r, c.store);
    r.finish();
  }
  if (const toml::table* t = top.table("hsm")) {
    TableReader r(*t, "hsm", problems);
    r.str("module", c.hsm.module);
    r.str("key_uri", c.hsm.key_uri);
    r.str("cert", c.hsm.cert);
    r.str("chain", c.hsm.chain);
    r.str("pin_file", c.hsm.pin_file);
    r.str("pin_credential", c.hsm.pin_credential);
    r.finish();
  }
  if (const toml::table* t = top.table("trust")) {
    TableReader r(*t, "trust", problems);
    read_trust(r, c.trust, problems);
    r.finish();
  }
  if (const toml::table* t = top.table("axis")) {
    TableReader r(*t, "axis", problems);
    read_axis(r, c.axis);
    r.finish();
  }
  if (const toml::table* t = top.table("signing")) {
    TableReader r(*t, "signing", problems);
    r.one_of("mode", c.signing.mode, {"personal", "organization"});
    r.finish();
  }
  if (const toml::table* t = top.table("policy")) {
    TableReader r(*t, "policy", problems);
    std::vector<std::string> kinds;
    bool given = t->contains("forbidden_kinds");
    r.str_list("forbidden_kinds", kinds);
    if (given) c.policy.forbidden_kinds = std::move(kinds);
    r.finish();
  }
  if (const toml::array* a = top.table_array("clients")) read_clients(*a, c.clients, problems);
  if (const toml::table* t = top.table("reports")) {
    TableReader r(*t, "reports", problems);
    r.integer("no_answer_days", c.reports.no_answer_days, 1, 3650);
    r.finish();
  }
  if (const toml::table* t = top.table("log")) {
    TableReader r(*t, "log", problems);
    r.one_of("level", c.log.level, {"debug", "info", "warn", "error"});
    r.finish();
  }
  top.finish();
  if (problems.empty()) cross_check(root, c, problems);
  if (problems.empty()) return c;

  std::stable_sort(problems.begin(), problems.end(),
                   [](const Problem& a, const Problem& b) { return a.line < b.line; });
  std::ostringstream msg;
  for (size_t i = 0; i < problems.size(); ++i) {
    if (i) msg << '\n';
    msg << origin;
    if (problems[i].line > 0) msg << ':' << problems[i].line;
    msg << ": " << problems[i].text;
  }
  return make_error(ErrorKind::invalid, "config.invalid", msg.str(), problems.front().line);
}

Result<Config> load(const std::string& path) {
  auto text = fs::read_file(path, kMaxConfigBytes);
  if (!text.ok()) {
    return make_error(ErrorKind::io, "config.unreadable", "cannot read config: " + text.error().message);
  }
  return parse(*text, path);
}

}  // namespace edxgate::config
