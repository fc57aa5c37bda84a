#include "edxgate/workflow/policy.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>

namespace edxgate::workflow::policy {
namespace {

icu::UnicodeString nfc(std::string_view s) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* norm = icu::Normalizer2::getNFCInstance(ec);
  if (U_FAILURE(ec)) return u;
  icu::UnicodeString out = norm->normalize(u, ec);
  return U_FAILURE(ec) ? u : out;
}

std::string utf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

bool is_word_char(UChar32 c) {
  if (u_isUAlphabetic(c) || u_isdigit(c)) return true;
  const int8_t t = u_charType(c);
  return t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK;
}

// Splits into words; a word is a run of letters, digits and marks. `breaks`
// receives, for each word, whether anything but white space stands between
// it and the previous word (punctuation: a new segment).
std::vector<icu::UnicodeString> words(const icu::UnicodeString& u, std::vector<bool>* breaks = nullptr) {
  std::vector<icu::UnicodeString> out;
  icu::UnicodeString cur;
  bool punct = true;
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    i += U16_LENGTH(c);
    if (is_word_char(c)) {
      if (cur.isEmpty() && breaks) breaks->push_back(punct);
      if (cur.isEmpty()) punct = false;
      cur.append(c);
      continue;
    }
    // Punctuation between two word characters glues them ("12/MAT-BCT" is
    // one word, a document code, not a stamp between separators).
    if (!cur.isEmpty() && !u_isUWhiteSpace(c) && i < u.length() && is_word_char(u.char32At(i))) {
      cur.append(c);
      continue;
    }
    if (!cur.isEmpty()) out.push_back(cur);
    cur.remove();
    if (!u_isUWhiteSpace(c)) punct = true;
  }
  if (!cur.isEmpty()) out.push_back(cur);
  return out;
}

// A word with at least one letter and no lower- or title-case letter.
bool capitalised(const icu::UnicodeString& w) {
  bool letter = false;
  for (int32_t i = 0; i < w.length();) {
    const UChar32 c = w.char32At(i);
    i += U16_LENGTH(c);
    if (u_isULowercase(c) || u_istitle(c)) return false;
    if (u_isUAlphabetic(c)) letter = true;
  }
  return letter;
}

// Lower case (Vietnamese rules), NFC, words joined by one space.
std::string folded_words(std::string_view text) {
  icu::UnicodeString u = nfc(text);
  u.toLower(icu::Locale("vi"));
  std::string out;
  for (const auto& w : words(u)) {
    if (!out.empty()) out += ' ';
    out += utf8(w);
  }
  return out;
}

constexpr std::array<std::string_view, 6> kStamps = {"MẬT", "TỐI MẬT", "TUYỆT MẬT", "MAT", "TOI MAT", "TUYET MAT"};

}  // namespace

Result<SecurityLevel> parse_security_level(std::string_view text) {
  std::string spaced(text);
  std::replace_if(
      spaced.begin(), spaced.end(), [](char c) { return c == '_' || c == '-'; }, ' ');
  const std::string f = folded_words(spaced);
  if (f.empty() || f == "normal" || f == "thường" || f == "thuong" || f == "bình thường" || f == "binh thuong") {
    return SecurityLevel::normal;
  }
  if (f == "mật" || f == "mat") return SecurityLevel::secret;
  if (f == "tối mật" || f == "toi mat") return SecurityLevel::top_secret;
  if (f == "tuyệt mật" || f == "tuyet mat") return SecurityLevel::absolute_secret;
  return make_error(ErrorKind::invalid, "policy.security_level",
                    "security_level must be normal, or one of mật, tối mật, tuyệt mật (which are refused)");
}

bool has_secret_stamp(std::string_view text) {
  std::vector<bool> breaks;
  const std::vector<icu::UnicodeString> ws = words(nfc(text), &breaks);
  // Maximal runs of capitalised words within one punctuation-delimited
  // segment: the run must be exactly a stamp.
  size_t i = 0;
  while (i < ws.size()) {
    if (!capitalised(ws[i])) {
      ++i;
      continue;
    }
    std::string run = utf8(ws[i]);
    size_t j = i + 1;
    while (j < ws.size() && !breaks[j] && capitalised(ws[j])) run += " " + utf8(ws[j++]);
    if (std::find(kStamps.begin(), kStamps.end(), run) != kStamps.end()) return true;
    i = j;
  }
  return false;
}

std::vector<std::string> default_forbidden_kinds() {
  return {"đơn thư tố cáo", "đơn tố cáo", "thư tố cáo", "don thu to cao", "don to cao", "thu to cao"};
}

bool is_forbidden_kind(std::string_view text, const std::vector<std::string>& kinds) {
  const std::string t = " " + folded_words(text) + " ";
  for (const auto& k : kinds) {
    const std::string f = folded_words(k);
    if (!f.empty() && t.find(" " + f + " ") != std::string::npos) return true;
  }
  return false;
}

Status check_outgoing(SecurityLevel level, const edxml::MessageHeader& m,
                      const std::vector<std::string>& forbidden_kinds) {
  if (level != SecurityLevel::normal) {
    return make_error(
        ErrorKind::invalid, "policy.secret",
        "secret documents (mật, tối mật, tuyệt mật) may not be sent on this system (Decision 2226/QĐ-BCT)");
  }
  if (has_secret_stamp(m.subject) || has_secret_stamp(m.type_name) || has_secret_stamp(m.type_detail)) {
    return make_error(ErrorKind::invalid, "policy.secret",
                      "the subject or document type carries a secret classification stamp; secret documents may not "
                      "be sent on this system (Decision 2226/QĐ-BCT)");
  }
  if (is_forbidden_kind(m.type_name, forbidden_kinds) || is_forbidden_kind(m.type_detail, forbidden_kinds)) {
    return make_error(ErrorKind::invalid, "policy.kind",
                      "documents of type '" + m.type_name + "' may not be sent on this system (Decision 2226/QĐ-BCT)");
  }
  return {};
}

Status check_incoming(const edxml::MessageHeader& m) {
  if (has_secret_stamp(m.subject) || has_secret_stamp(m.type_name) || has_secret_stamp(m.type_detail)) {
    return make_error(ErrorKind::invalid, "policy.secret",
                      "the envelope carries a secret classification stamp in its subject or document type; secret "
                      "documents may not be exchanged on this system (Decision 2226/QĐ-BCT)");
  }
  return {};
}

}  // namespace edxgate::workflow::policy
