// edxgate commands of the store part: audit verify, queue list, doc show.
// They open the store read-only: they never migrate, write or lock out the
// daemon, and a database from a newer edxgate is refused.
#include <sys/stat.h>

#include <charconv>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/base/time.h"
#include "edxgate/store/json.h"
#include "edxgate/store/store.h"
#include "edxgate/store/transfer.h"

namespace edxgate::cli {
namespace {

namespace bj = json::bj;
using namespace edxgate::store;

// A store named on the command line: "sqlite:DIR", "postgresql:DSN", a
// postgresql:// URI, or (SQLite) the state directory or its edxgate.db, in
// which case blobs/ sits beside it. `dsn_file` holds a connection string
// with its password (never on the command line, where ps shows it).
Result<StoreOptions> store_location(const std::string& where, const std::string& dsn_file,
                                    const std::string& blob_dir) {
  StoreOptions o;
  o.blob_dir = blob_dir;
  std::string dsn;
  if (where.rfind("postgresql:", 0) == 0 && where.rfind("postgresql://", 0) != 0) {
    dsn = where.substr(11);
  } else if (where.rfind("postgresql://", 0) == 0 || where.rfind("postgres://", 0) == 0) {
    dsn = where;
  } else if (where == "postgresql" && !dsn_file.empty()) {
    dsn = "";
  } else {
    const std::string path = where.rfind("sqlite:", 0) == 0 ? where.substr(7) : where;
    if (path.empty()) return make_error(ErrorKind::usage, "usage.db", "no SQLite state directory given");
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec) || where.rfind("sqlite:", 0) == 0) {
      o.state_dir = path;
    } else {
      std::filesystem::path p(path);
      o.db_path = path;
      o.state_dir = p.has_parent_path() ? p.parent_path().string() : ".";
    }
    if (!dsn_file.empty())
      return make_error(ErrorKind::usage, "usage.db", "a connection string file is only for postgresql");
    return o;
  }
  o.backend = Backend::postgresql;
  o.application_name = "edxgate-cli";
  if (!dsn_file.empty()) {
    if (!dsn.empty())
      return make_error(ErrorKind::usage, "usage.db", "give the connection string or its file, not both");
    auto text = fs::read_file(dsn_file, 64 * 1024);
    if (!text.ok())
      return make_error(ErrorKind::usage, "usage.db", "cannot read the connection string file " + dsn_file);
    dsn = *text;
    while (!dsn.empty() && (dsn.back() == '\n' || dsn.back() == '\r')) dsn.pop_back();
  }
  if (dsn.empty()) return make_error(ErrorKind::usage, "usage.db", "no PostgreSQL connection string given");
  o.dsn = dsn;
  if (o.blob_dir.empty()) o.state_dir = ".";  // blobs are needed only by doc show --verify
  return o;
}

// --db names the store to inspect (see store_location); it is opened read-only.
Result<std::unique_ptr<Store>> open_db(const Args& args, bool writable = false) {
  const std::string db = args.get("--db");
  if (db.empty()) {
    return make_error(ErrorKind::usage, "usage.db",
                      "--db is required (the state directory, its edxgate.db, or postgresql:DSN)");
  }
  auto o = store_location(db, args.get("--dsn-file"), args.get("--blob-dir"));
  if (!o.ok()) return o.error();
  o->read_only = !writable;
  return open_store(*o);
}

// YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ, to ms since the epoch.
Result<int64_t> parse_time(const std::string& text) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &tail);
  const bool date_only = n == 3 && text.size() == 10;
  const bool full = n == 7 && tail == 'Z' && text.size() == 20;
  if (!(date_only || full) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return make_error(ErrorKind::usage, "usage.time",
                      "'" + text + "' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

Result<int64_t> parse_int(const std::string& text, const char* what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0) {
    return make_error(ErrorKind::usage, "usage.number",
                      std::string(what) + " must be a non-negative number, not '" + text + "'");
  }
  return v;
}

bj::value blob_json(const std::optional<BlobRef>& b) {
  if (!b) return nullptr;
  return bj::object{{"sha256", b->sha256}, {"size", b->size}};
}

bj::object outbox_json(const OutboxItem& it) {
  return bj::object{{"id", it.id},
                    {"document_id", it.document_id},
                    {"kind", it.kind},
                    {"destination", it.destination},
                    {"state", outbox_state_name(it.state)},
                    {"attempts", it.attempts},
                    {"next_attempt", iso_time(it.next_attempt_ms)},
                    {"last_error", it.last_error},
                    {"lease_owner", it.lease_owner},
                    {"lease_until", iso_time(it.lease_until_ms)},
                    {"payload", blob_json(it.payload)}};
}

// --- audit verify ---

int audit_verify(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--db", "", true}, {"--dsn-file", "", true}, {"--blob-dir", "", true}, {"--json"}});
  if (!args.ok()) return fail(args.error());
  if (!args->positional().empty()) return fail(kExitUsage, "audit verify takes no arguments");
  auto store = open_db(*args);
  if (!store.ok()) return fail(store.error());
  auto check = (*store)->verify_audit();
  if (!check.ok()) return fail(check.error());
  if (args->has("--json")) {
    bj::object o{{"ok", check->ok}, {"rows", check->rows}};
    if (check->ok) {
      o["head_sha256"] = check->head_sha256;
    } else {
      o["first_bad_seq"] = check->first_bad_seq;
      o["problem"] = check->problem;
    }
    std::cout << json::pretty(o);
  } else if (check->ok) {
    std::cout << "audit log ok: " << check->rows << " rows, head sha256 " << check->head_sha256 << "\n";
  } else {
    std::cout << "audit log BROKEN at row " << check->first_bad_seq << ": " << check->problem << "\n";
  }
  return check->ok ? kExitOk : kExitInvalid;
}

// --- queue list ---

Result<DocumentQuery> document_query(const Args& a) {
  DocumentQuery q;
  if (a.has("--direction")) {
    q.direction = parse_direction(a.get("--direction"));
    if (!q.direction) return make_error(ErrorKind::usage, "usage.direction", "--direction is incoming or outgoing");
  }
  if (a.has("--state")) {
    q.state = parse_state(a.get("--state"));
    if (!q.state) return make_error(ErrorKind::usage, "usage.state", "unknown state '" + a.get("--state") + "'");
  }
  q.sender = a.get("--sender");
  q.subject_contains = a.get("--subject");
  if (a.has("--since")) {
    auto t = parse_time(a.get("--since"));
    if (!t.ok()) return t.error();
    q.created_from_ms = *t;
  }
  if (a.has("--until")) {
    auto t = parse_time(a.get("--until"));
    if (!t.ok()) return t.error();
    q.created_until_ms = *t;
  }
  if (a.has("--before")) {
    auto v = parse_int(a.get("--before"), "--before");
    if (!v.ok()) return v.error();
    q.before_id = *v;
  }
  if (a.has("--limit")) {
    auto v = parse_int(a.get("--limit"), "--limit");
    if (!v.ok()) return v.error();
    q.limit = static_cast<uint32_t>(std::min<int64_t>(*v, 1000));
  }
  return q;
}

int list_outbox(Store& store, const Args& a) {
  OutboxQuery q;
  if (a.has("--outbox-state")) {
    const std::string s = a.get("--outbox-state");
    if (s == "pending")
      q.state = OutboxState::pending;
    else if (s == "done")
      q.state = OutboxState::done;
    else if (s == "cancelled")
      q.state = OutboxState::cancelled;
    else if (s == "failed")
      q.state = OutboxState::failed;
    else
      return fail(kExitUsage, "--outbox-state is pending, done, cancelled or failed");
  }
  auto items = store.list_outbox(q);
  if (!items.ok()) return fail(items.error());
  if (a.has("--json")) {
    bj::array arr;
    for (const auto& it : *items) arr.push_back(outbox_json(it));
    std::cout << json::pretty(bj::object{{"outbox", std::move(arr)}});
    return kExitOk;
  }
  std::printf("%-8s %-8s %-9s %-8s %-24s %s\n", "ITEM", "DOC", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR");
  for (const auto& it : *items) {
    std::printf("%-8lld %-8lld %-9s %-8d %-24s %s\n", static_cast<long long>(it.id),
                static_cast<long long>(it.document_id), std::string(outbox_state_name(it.state)).c_str(), it.attempts,
                iso_time(it.next_attempt_ms).c_str(), it.last_error.c_str());
  }
  return kExitOk;
}

int queue_list(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--db", "", true},
                                 {"--dsn-file", "", true},
                                 {"--blob-dir", "", true},
                                 {"--direction", "", true},
                                 {"--state", "", true},
                                 {"--sender", "", true},
                                 {"--since", "", true},
                                 {"--until", "", true},
                                 {"--subject", "", true},
                                 {"--limit", "", true},
                                 {"--before", "", true},
                                 {"--outbox"},
                                 {"--outbox-state", "", true},
                                 {"--json"}});
  if (!args.ok()) return fail(args.error());
  if (!args->positional().empty()) return fail(kExitUsage, "queue list takes no arguments");
  auto query = document_query(*args);
  if (!query.ok()) return fail(query.error());
  auto store = open_db(*args);
  if (!store.ok()) return fail(store.error());
  if (args->has("--outbox")) return list_outbox(**store, *args);
  auto page = (*store)->list_documents(*query);
  if (!page.ok()) return fail(page.error());
  if (args->has("--json")) {
    bj::array docs;
    for (const Document& d : page->documents) {
      docs.push_back(store::document_json(d, false));
    }
    bj::object out{{"documents", std::move(docs)}};
    out["next_before"] = page->next_before_id ? bj::value(*page->next_before_id) : bj::value(nullptr);
    std::cout << json::pretty(out);
    return kExitOk;
  }
  std::printf("%-8s %-9s %-18s %-14s %-24s %s\n", "ID", "DIR", "STATE", "SENDER", "CREATED", "SUBJECT");
  for (const Document& d : page->documents) {
    std::printf("%-8lld %-9s %-18s %-14s %-24s %s\n", static_cast<long long>(d.id),
                std::string(direction_name(d.direction)).c_str(), std::string(state_name(d.state)).c_str(),
                d.sender.c_str(), iso_time(d.created_ms).c_str(), d.subject.c_str());
  }
  if (page->next_before_id) {
    std::printf("(more: --before %lld)\n", static_cast<long long>(*page->next_before_id));
  }
  return kExitOk;
}

// --- queue retry ---

// Re-queues a document the axis refused permanently (state failed), as
// POST /v1/outgoing/{id}/retry does; the running gateway sends it at its
// next outbox pass. Audited (outbox.requeue) with the operator's name.
int queue_retry(const std::vector<std::string>& argv) {
  auto args =
      Args::parse(argv, {{"--db", "", true}, {"--dsn-file", "", true}, {"--blob-dir", "", true}, {"--by", "", true}});
  if (!args.ok()) return fail(args.error());
  if (args->positional().size() != 1) return fail(kExitUsage, "queue retry needs exactly one document ID");
  auto id = parse_int(args->positional()[0], "the document ID");
  if (!id.ok()) return fail(id.error());
  auto store = open_db(*args, /*writable=*/true);
  if (!store.ok()) return fail(store.error());
  const char* user = std::getenv("USER");
  const std::string by = args->has("--by") ? args->get("--by") : std::string(user && *user ? user : "operator");
  const std::string actor = "cli:" + by;
  if (Status s = (*store)->requeue_failed(*id, actor, "re-queued by " + actor); !s.ok()) return fail(s.error());
  std::printf("document %lld re-queued\n", static_cast<long long>(*id));
  return kExitOk;
}

// --- doc show ---

int doc_show(const std::vector<std::string>& argv) {
  auto args = Args::parse(
      argv, {{"--db", "", true}, {"--dsn-file", "", true}, {"--blob-dir", "", true}, {"--json"}, {"--verify"}});
  if (!args.ok()) return fail(args.error());
  if (args->positional().size() != 1) return fail(kExitUsage, "doc show needs exactly one document ID");
  auto id = parse_int(args->positional()[0], "the document ID");
  if (!id.ok()) return fail(id.error());
  auto store = open_db(*args);
  if (!store.ok()) return fail(store.error());
  auto doc = (*store)->get_document(*id);
  if (!doc.ok()) return fail(doc.error());
  auto history = (*store)->history(*id);
  auto statuses = (*store)->status_messages(*id);
  OutboxQuery oq;
  oq.document_id = *id;
  auto outbox = (*store)->list_outbox(oq);
  if (!history.ok()) return fail(history.error());
  if (!statuses.ok()) return fail(statuses.error());
  if (!outbox.ok()) return fail(outbox.error());
  // --verify re-hashes the envelope and every attachment.
  bool intact = true;
  std::vector<std::string> problems;
  if (args->has("--verify")) {
    std::vector<BlobRef> refs;
    if (doc->envelope) refs.push_back(*doc->envelope);
    for (const auto& a : doc->attachments) {
      refs.push_back(a.blob);
      if (a.unzipped) refs.push_back(*a.unzipped);
    }
    for (const BlobRef& r : refs) {
      Status v = (*store)->blobs().verify(r);
      if (!v.ok()) {
        intact = false;
        problems.push_back(v.error().message);
      }
    }
  }
  if (args->has("--json")) {
    auto detail = store::document_detail_json(**store, *doc);
    if (!detail.ok()) return fail(detail.error());
    bj::object o = std::move(*detail);
    bj::array ob;
    for (const auto& it : *outbox) ob.push_back(outbox_json(it));
    o["outbox"] = std::move(ob);
    if (args->has("--verify")) {
      bj::array p;
      for (const auto& x : problems) p.emplace_back(x);
      o["files_intact"] = intact;
      o["file_problems"] = std::move(p);
    }
    std::cout << json::pretty(o);
    return intact ? kExitOk : kExitInvalid;
  }
  const Document& d = *doc;
  std::cout << "document " << d.id << " (" << direction_name(d.direction) << "), state " << state_name(d.state)
            << "\n  envelope id:  " << d.envelope_id << "\n  sender:       " << d.sender << "\n  recipients:  ";
  for (const auto& r : d.recipients) std::cout << " " << r;
  std::cout << "\n  code:         " << d.code_number << "/" << d.code_notation
            << "\n  promulgated:  " << d.promulgation_date << "\n  type:         " << d.document_type
            << "\n  subject:      " << d.subject << "\n  priority:     " << d.priority
            << "\n  due:          " << d.due_date << "\n  signer:       " << d.signer_summary
            << "\n  created:      " << iso_time(d.created_ms) << "\n  updated:      " << iso_time(d.updated_ms)
            << "\n  envelope:     " << (d.envelope ? d.envelope->sha256 : "(none)") << "\n";
  std::cout << "attachments:\n";
  for (const auto& a : d.attachments) {
    std::cout << "  " << a.name << "  " << a.content_type << "  " << a.blob.size << " bytes  " << a.blob.sha256 << "\n";
  }
  std::cout << "history:\n";
  for (const auto& t : *history) {
    std::cout << "  " << iso_time(t.at_ms) << "  " << (t.from ? state_name(*t.from) : "(new)") << " -> "
              << state_name(t.to) << "  by " << t.actor << (t.reason.empty() ? "" : ": " + t.reason) << "\n";
  }
  std::cout << "status messages:\n";
  for (const auto& m : *statuses) {
    std::cout << "  " << iso_time(m.at_ms) << "  " << direction_name(m.direction) << "  " << m.code << "  "
              << m.description << "\n";
  }
  std::cout << "outbox:\n";
  for (const auto& it : *outbox) {
    std::cout << "  item " << it.id << "  " << it.kind << " to " << it.destination << "  "
              << outbox_state_name(it.state) << "  attempts " << it.attempts
              << (it.last_error.empty() ? "" : "  last error: " + it.last_error) << "\n";
  }
  if (args->has("--verify")) {
    if (intact) std::cout << "files: all intact\n";
    for (const auto& p : problems) std::cout << "files: " << p << "\n";
  }
  return intact ? kExitOk : kExitInvalid;
}

// --- store migrate ---

int store_migrate(const std::vector<std::string>& argv) {
  auto args = Args::parse(
      argv,
      {{"--from", "", true}, {"--to", "", true}, {"--to-dsn-file", "", true}, {"--blob-dir", "", true}, {"--json"}});
  if (!args.ok()) return fail(args.error());
  if (!args->has("--from") || !args->has("--to")) {
    return fail(kExitUsage, "--from sqlite:DIR and --to postgresql:DSN are both required");
  }
  auto from = store_location(args->get("--from"), "", "");
  if (!from.ok()) return fail(from.error());
  auto to = store_location(args->get("--to"), args->get("--to-dsn-file"), args->get("--blob-dir"));
  if (!to.ok()) return fail(to.error());
  // Unless told otherwise, the target keeps using the source's blob directory.
  if (to->blob_dir.empty()) to->blob_dir = from->state_dir + "/blobs";
  auto report = transfer_store(*from, *to);
  if (!report.ok()) return fail(report.error());
  const TransferReport& r = *report;
  if (args->has("--json")) {
    std::cout << bj::serialize(bj::object{{"documents", r.documents},
                                          {"idempotency_keys", r.idempotency_keys},
                                          {"transitions", r.transitions},
                                          {"status_messages", r.status_messages},
                                          {"outbox_items", r.outbox_items},
                                          {"agencies", r.agencies},
                                          {"audit_rows", r.audit_rows},
                                          {"audit_head_sha256", r.audit_head_sha256},
                                          {"blobs_copied", r.blobs_copied}})
              << "\n";
  } else {
    std::cout << "moved " << r.documents << " documents (" << r.idempotency_keys << " with an idempotency key), "
              << r.transitions << " transitions, " << r.status_messages << " status messages, " << r.outbox_items
              << " outbox items, " << r.agencies << " agency directory entries, " << r.audit_rows << " audit rows; "
              << r.blobs_copied << " blobs copied\naudit chain verified on the target, head " << r.audit_head_sha256
              << "\n";
  }
  return kExitOk;
}

constexpr Command kCommands[] = {
    {"audit verify", "check the hash chain of the audit log",
     "usage: edxgate audit verify --db PATH [--json]\n\n"
     "Walks the audit log of the store at PATH (the state directory, its\n"
     "edxgate.db, or postgresql:DSN with --dsn-file FILE for a password) and checks that every row holds the SHA-256 "
     "of the previous row\n"
     "and of its own content. Prints the row count and the head hash (record it\n"
     "elsewhere: a log cut short after the head you recorded is then detected), or\n"
     "the first broken row. Exit 0 intact, 1 broken, 2 cannot read the store.\n",
     audit_verify},
    {"queue list", "list documents (or outbox items) in the store",
     "usage: edxgate queue list --db PATH [filters] [--limit N] [--before ID] [--json]\n"
     "       edxgate queue list --db PATH --outbox [--outbox-state pending|done|cancelled|failed] [--json]\n\n"
     "Lists documents newest first. Filters:\n"
     "  --direction incoming|outgoing   --state STATE   --sender ORGAN_ID\n"
     "  --since DATE   --until DATE     (created time; YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)\n"
     "  --subject TEXT                  (case-insensitive substring)\n"
     "Pages hold --limit documents (default 50, at most 1000); the next page is\n"
     "--before the last ID shown. --outbox lists the send queue instead, with\n"
     "attempts, next attempt and last error. PATH is the state directory or its\n"
     "edxgate.db, or postgresql:DSN (--dsn-file FILE for a connection string with a\n"
     "password); the store is opened read-only.\n",
     queue_list},
    {"queue retry", "re-queue an outgoing document the axis refused permanently",
     "usage: edxgate queue retry ID --db PATH [--by NAME]\n\n"
     "A document the axis refused [axis] max_permanent_failures times is failed\n"
     "(queue list --state failed; its outbox item's last error says why). This\n"
     "puts it back in the outbox with its refusals forgotten; the running gateway\n"
     "sends it at its next pass. Audited as outbox.requeue by cli:NAME (default\n"
     "$USER). Exit 1 when the document is not failed or does not exist. PATH as\n"
     "for queue list (opened for writing).\n",
     queue_retry},
    {"doc show", "show one document: fields, files, history, status, outbox",
     "usage: edxgate doc show ID --db PATH [--verify] [--json]\n\n"
     "Prints the document's header fields, envelope and attachments (name, type,\n"
     "size, SHA-256), its state history, the status messages received or sent for\n"
     "it, and its outbox items. --verify re-hashes its files (exit 1 if one is\n"
     "missing or corrupt). Exit 1 when there is no such document. PATH as for\n"
     "queue list; with postgresql:DSN, --blob-dir DIR names the blob directory.\n",
     doc_show},
    {"store migrate", "move a gateway's state from SQLite to PostgreSQL",
     "usage: edxgate store migrate --from sqlite:DIR --to postgresql:DSN [--to-dsn-file FILE]\n"
     "                             [--blob-dir DIR] [--json]\n\n"
     "Copies everything in the SQLite store of state directory DIR into the\n"
     "PostgreSQL database DSN (a libpq connection string or postgresql:// URI):\n"
     "documents, recipients, attachments, transitions, status messages, the outbox,\n"
     "idempotency keys and the audit chain with its hashes, keeping every id. The\n"
     "target must be empty (its schema is created). Stop the gateway first.\n"
     "--to-dsn-file FILE reads the connection string (with its password) from FILE\n"
     "instead (give --to postgresql). --blob-dir DIR is the cluster's blob\n"
     "directory: the blobs the rows name are copied there and re-hashed (default:\n"
     "DIR/blobs, nothing copied). Afterwards the audit chain is verified on the\n"
     "target and must end at the source's head hash. Exit 0 moved, 1 refused (target\n"
     "not empty, a source blob corrupt, check failed), 2 usage or connection error\n"
     "or a corrupt source database (store.corrupt).\n",
     store_migrate},
};

}  // namespace

std::span<const Command> store_commands() { return kCommands; }

Result<std::unique_ptr<Store>> open_store_from_args(const Args& args) { return open_db(args); }

}  // namespace edxgate::cli
