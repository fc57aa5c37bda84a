// The agency directory: a cache of the axis' getAgenciesList, replaced whole
// at each sync, searched ignoring case and Vietnamese diacritics.
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <string>

#include "sql_store.h"

namespace edxgate::store {
namespace {

// Rows a search ranks before keeping `limit`: enough for any useful query,
// bounded for a one-letter one over ~111,000 entries.
constexpr int kMaxSearchCandidates = 5000;
constexpr size_t kMaxFieldBytes = 4096;

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

Agency read_agency(const sql::Stmt& st) {
  return Agency{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5)};
}

}  // namespace

std::string fold_for_search(std::string_view utf8) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(err);
  icu::UnicodeString in =
      icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  icu::UnicodeString decomposed = U_SUCCESS(err) ? nfd->normalize(in, err) : in;
  if (U_FAILURE(err)) decomposed = in;
  icu::UnicodeString kept;
  bool space = true;  // drops leading spaces and collapses runs
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (u_charType(c) == U_NON_SPACING_MARK) continue;
    if (c == 0x0111 || c == 0x0110) c = 'd';  // đ, Đ: a letter of its own, not d + a mark
    if (u_isUWhiteSpace(c)) {
      if (!space) kept.append(static_cast<UChar32>(' '));
      space = true;
      continue;
    }
    kept.append(c);
    space = false;
  }
  if (kept.length() > 0 && kept.charAt(kept.length() - 1) == ' ') kept.truncate(kept.length() - 1);
  kept.foldCase();
  std::string out;
  kept.toUTF8String(out);
  return out;
}

Status SqlStore::replace_agencies(const std::vector<Agency>& entries, const std::string& actor) {
  for (const Agency& a : entries) {
    if (a.code.empty()) return make_error(ErrorKind::invalid, "store.agency", "a directory entry has no code");
    for (const std::string* f : {&a.code, &a.name, &a.id, &a.pid, &a.mail, &a.old_code}) {
      if (f->size() > kMaxFieldBytes)
        return make_error(ErrorKind::invalid, "store.agency",
                          "directory entry " + a.code.substr(0, 64) + " has a field too long");
    }
  }
  auto done = write_tx<bool>([&](sql::Conn& c) -> Result<bool> {
    const int64_t at = now();
    EDX_TRY(c.exec("DELETE FROM agencies"));
    auto ins = c.prepare(
        "INSERT INTO agencies(code, code_folded, name, name_folded, axis_id, pid, mail, old_code)"
        " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET code_folded = excluded.code_folded,"
        " name = excluded.name, name_folded = excluded.name_folded, axis_id = excluded.axis_id,"
        " pid = excluded.pid, mail = excluded.mail, old_code = excluded.old_code");
    if (!ins.ok()) return ins.error();
    for (const Agency& a : entries) {
      ins->bind(1, a.code).bind(2, fold_for_search(a.code)).bind(3, a.name).bind(4, fold_for_search(a.name));
      ins->bind(5, a.id).bind(6, a.pid).bind(7, a.mail).bind(8, a.old_code);
      EDX_TRY(ins->run());
      ins->reset();
    }
    auto count = c.prepare("SELECT count(*) FROM agencies");
    if (!count.ok()) return count.error();
    auto row = count->step();
    if (!row.ok()) return row.error();
    const int64_t n = *row ? count->i64(0) : 0;
    auto meta = c.prepare(
        "INSERT INTO agency_directory(singleton, entries, synced_ms) VALUES(1, ?, ?)"
        " ON CONFLICT(singleton) DO UPDATE SET entries = excluded.entries, synced_ms = excluded.synced_ms");
    if (!meta.ok()) return meta.error();
    EDX_TRY(meta->bind(1, n).bind(2, at).run());
    EDX_TRY(append_audit(c, {actor, "directory.sync", "agencies", "ok", std::to_string(n) + " entries"}, at));
    return true;
  });
  if (!done.ok()) return done.error();
  return {};
}

Result<std::vector<Agency>> SqlStore::search_agencies(std::string_view query, uint32_t limit) {
  const std::string q = fold_for_search(query);
  return read_tx<std::vector<Agency>>([&](sql::Conn& c) -> Result<std::vector<Agency>> {
    std::vector<std::pair<std::string, Agency>> found;  // (name_folded, entry)
    if (q.empty()) {
      auto st =
          c.prepare("SELECT code, name, axis_id, pid, mail, old_code, name_folded FROM agencies ORDER BY code LIMIT ?");
      if (!st.ok()) return st.error();
      st->bind(1, static_cast<int64_t>(limit));
      std::vector<Agency> out;
      for (;;) {
        auto row = st->step();
        if (!row.ok()) return row.error();
        if (!*row) break;
        out.push_back(read_agency(*st));
      }
      return out;
    }
    auto st = c.prepare(c.is_postgresql() ? "SELECT code, name, axis_id, pid, mail, old_code, name_folded FROM agencies"
                                            " WHERE strpos(name_folded, ?1) > 0 OR strpos(code_folded, ?1) > 0 LIMIT ?2"
                                          : "SELECT code, name, axis_id, pid, mail, old_code, name_folded FROM agencies"
                                            " WHERE instr(name_folded, ?1) > 0 OR instr(code_folded, ?1) > 0 LIMIT ?2");
    if (!st.ok()) return st.error();
    st->bind(1, q).bind(2, static_cast<int64_t>(kMaxSearchCandidates));
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      found.emplace_back(st->text(6), read_agency(*st));
    }
    // Best first: the code itself, a name starting with the query, a word of
    // the name starting with it, anything else; shorter names first within.
    auto rank = [&](const std::pair<std::string, Agency>& e) {
      if (fold_for_search(e.second.code) == q) return 0;
      if (e.first.rfind(q, 0) == 0) return 1;
      if (e.first.find(" " + q) != std::string::npos) return 2;
      return 3;
    };
    std::stable_sort(found.begin(), found.end(), [&](const auto& x, const auto& y) {
      const int rx = rank(x), ry = rank(y);
      if (rx != ry) return rx < ry;
      if (x.first.size() != y.first.size()) return x.first.size() < y.first.size();
      return x.second.code < y.second.code;
    });
    std::vector<Agency> out;
    for (auto& e : found) {
      if (out.size() >= limit) break;
      out.push_back(std::move(e.second));
    }
    return out;
  });
}

Result<std::optional<Agency>> SqlStore::find_agency(std::string_view code) {
  const std::string folded = fold_for_search(code);
  return read_tx<std::optional<Agency>>([&](sql::Conn& c) -> Result<std::optional<Agency>> {
    auto st = c.prepare("SELECT code, name, axis_id, pid, mail, old_code FROM agencies WHERE code_folded = ? LIMIT 1");
    if (!st.ok()) return st.error();
    st->bind(1, folded);
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) return std::optional<Agency>();
    return std::optional<Agency>(read_agency(*st));
  });
}

Result<std::vector<Agency>> SqlStore::closest_agencies(std::string_view code, uint32_t limit) {
  const std::string folded = fold_for_search(code);
  return read_tx<std::vector<Agency>>([&](sql::Conn& c) -> Result<std::vector<Agency>> {
    auto st = c.prepare("SELECT code, name, axis_id, pid, mail, old_code, code_folded FROM agencies");
    if (!st.ok()) return st.error();
    std::vector<std::pair<size_t, Agency>> best;  // kept sorted, at most `limit`
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      const std::string other = st->text(6);
      if (other.size() > folded.size() + 8 || folded.size() > other.size() + 8) continue;
      const size_t d = edit_distance(folded, other);
      if (best.size() == limit && d >= best.back().first) continue;
      auto at = std::upper_bound(best.begin(), best.end(), d, [](size_t v, const auto& e) { return v < e.first; });
      best.insert(at, {d, read_agency(*st)});
      if (best.size() > limit) best.pop_back();
    }
    std::vector<Agency> out;
    for (auto& e : best) out.push_back(std::move(e.second));
    return out;
  });
}

Result<AgencyDirectoryInfo> SqlStore::agency_directory_info() {
  return read_tx<AgencyDirectoryInfo>([&](sql::Conn& c) -> Result<AgencyDirectoryInfo> {
    auto st = c.prepare("SELECT entries, synced_ms FROM agency_directory WHERE singleton = 1");
    if (!st.ok()) return st.error();
    auto row = st->step();
    if (!row.ok()) return row.error();
    AgencyDirectoryInfo info;
    if (*row) {
      info.count = static_cast<uint64_t>(st->i64(0));
      info.synced_ms = st->i64(1);
    }
    return info;
  });
}

}  // namespace edxgate::store
