// What may travel on the document interconnection system: the content rules,
// in one place.
//
// Source: Decision 2226/QĐ-BCT (Ministry of Industry and Trade, on the use of
// the electronic document exchange system) forbids on the system
//   - state-secret documents, at every classification: "Mật", "Tối mật",
//     "Tuyệt mật" (the three levels of the Law on the Protection of State
//     Secrets);
//   - denunciation letters ("đơn thư tố cáo");
//   - documents whose circulation is restricted.
// The gateway applies them where it can see them:
//   - outgoing: the submission's `security_level` field (anything but normal
//     is refused, policy.secret), a classification stamp in the subject or
//     the document type (policy.secret), and the document type against the
//     configured forbidden kinds (policy.kind);
//   - incoming: a classification stamp in the envelope's subject or document
//     type quarantines it (policy.secret) and the sender is refused (02).
//
// A stamp is what a clerk types on a secret document: the level in capitals,
// standing on its own ("MẬT", "[TỐI MẬT]", "TUYỆT MẬT - Báo cáo ..."), also
// without diacritics ("MAT", "TOI MAT", "TUYET MAT"). The word inside a
// sentence ("bảo vệ bí mật nhà nước") or inside a longer capitalised phrase
// ("QUY CHẾ BẢO VỆ BÍ MẬT NHÀ NƯỚC") is not a stamp. All text is compared in
// Unicode NFC, so decomposed (NFD) input matches too.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/edxml/model.h"

namespace edxgate::workflow::policy {

enum class SecurityLevel { normal, secret, top_secret, absolute_secret };  // thường, mật, tối mật, tuyệt mật

// The submission field: "" / "normal" / "thường" are normal; "mật", "tối mật",
// "tuyệt mật" and "mat", "toi mat", "tuyet mat" in any case, NFC or NFD, with
// spaces, '_' or '-' between the words, are the secret levels. Anything else
// is an error (invalid, "policy.security_level").
Result<SecurityLevel> parse_security_level(std::string_view text);

// Whether `text` carries a standalone capitalised classification stamp (see
// above). Requires nothing of the input: invalid UTF-8 is taken as is.
bool has_secret_stamp(std::string_view text);

// The denunciation letters of the decision, with and without diacritics.
std::vector<std::string> default_forbidden_kinds();

// Whether the document type `text` names one of `kinds`: a kind is found when
// its words appear in `text` as whole words, case and normalisation aside.
bool is_forbidden_kind(std::string_view text, const std::vector<std::string>& kinds);

// The outgoing rules for a document being submitted. Errors: invalid
// "policy.secret" (a secret level or stamp), "policy.kind" (a forbidden
// document type).
Status check_outgoing(SecurityLevel level, const edxml::MessageHeader& m,
                      const std::vector<std::string>& forbidden_kinds);

// The incoming rule: invalid "policy.secret" when the subject or the document
// type carries a stamp.
Status check_incoming(const edxml::MessageHeader& m);

}  // namespace edxgate::workflow::policy
