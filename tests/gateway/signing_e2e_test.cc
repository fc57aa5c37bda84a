// Organization signing mode end to end (issue 13, README "Who signs"): two
// gateways through the axis simulator (e2e_support.h), A in
// `[signing] mode = "organization"`. A system client submits; the agency's
// key ([hsm] key_uri, its PIN from pin_file) signs at acceptance with no
// person involved; B verifies it; A's history and audit log say "signed by
// the organization for sys-a"; a leader's sign routes are 409 sign.mode.
#include <gtest/gtest.h>

#include <filesystem>

#include "e2e_support.h"

namespace edxgate::e2e {
namespace {

TEST(OrganizationMode, TheAgencysKeySignsAtAcceptanceAndTheRecipientVerifiesIt) {
  std::unique_ptr<World> world;
  try {
    world = std::make_unique<World>([](Gateway& a, Gateway&) { a.signing_mode = "organization"; });
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  World& w = *world;
  write_text(w.path("org.txt"), "Công văn ký bằng khóa của cơ quan");
  Form f = make_form(w.path("form-org"), metadata_json("50/BA-VP", "V/v ký bằng khóa của cơ quan"),
                     {{"cong-van.txt", w.path("org.txt")}});
  Reply submitted = w.call(w.a(), "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
  ASSERT_EQ(submitted.status, 202u) << submitted.error << submitted.body;
  // Signed when accepted: no PIN, no leader.
  EXPECT_EQ(str(submitted.json(), "state"), "queued") << submitted.body;
  const std::string id = str(submitted.json(), "id");
  ASSERT_FALSE(id.empty());

  // A leader neither signs it nor fetches bytes to sign: this gateway does not sign personally.
  Reply by_hand = w.call(w.a(), "leader-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})");
  EXPECT_EQ(by_hand.status, 409u) << by_hand.body;
  EXPECT_EQ(problem_code(by_hand), "sign.mode") << by_hand.body;
  w.a().remote_signing_certs["leader-a"] = {World::certificate_fingerprint(w.a().dir + "/sign.pem")};
  w.reconfigure(w.a());
  int st = 0;
  std::string der = run_capture("openssl x509 -in " + w.a().dir + "/sign.pem -outform DER | openssl base64 -A", &st);
  ASSERT_EQ(st, 0);
  for (char& c : der) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!der.empty() && der.back() == '=') der.pop_back();
  Reply to_sign = w.call(w.a(), "leader-a", "GET", "/v1/outgoing/" + id + "/to-sign?cert=" + der);
  EXPECT_EQ(to_sign.status, 409u) << to_sign.body;
  EXPECT_EQ(problem_code(to_sign), "sign.mode") << to_sign.body;

  // B receives it and verifies the agency's signature.
  Reply doc = w.call(w.a(), "sys-a", "GET", "/v1/outgoing/" + id);
  ASSERT_EQ(doc.status, 200u) << doc.body;
  const std::string document_id = str(doc.json(), "document_id");
  bj::value at_b;
  ASSERT_TRUE(wait_until(
      [&] {
        Reply l = w.call(w.b(), "officer-b", "GET", "/v1/incoming?limit=1000");
        auto v = l.json();
        if (!v.is_object() || !v.as_object().contains("documents")) return false;
        for (const auto& x : v.as_object().at("documents").as_array())
          if (str(x, "document_id") == document_id) at_b = x;
        return at_b.is_object();
      },
      std::chrono::seconds(40)))
      << document_id;
  EXPECT_EQ(str(at_b, "state"), "verified") << bj::serialize(at_b);
  EXPECT_NE(str(at_b, "signer").find("Lãnh đạo a"), std::string::npos) << str(at_b, "signer");

  // A's history: signed by the organization for the submitting system, naming the certificate.
  const std::string fingerprint = World::certificate_fingerprint(w.a().dir + "/sign.pem");
  doc = w.call(w.a(), "sys-a", "GET", "/v1/outgoing/" + id);
  bool named = false;
  const bj::value detail = doc.json();
  for (const auto& h : detail.as_object().at("history").as_array()) {
    if (str(h, "state") != "signed") continue;
    EXPECT_NE(str(h, "reason").find("signed by the organization for sys-a"), std::string::npos) << str(h, "reason");
    named = str(h, "reason").find(fingerprint) != std::string::npos;
  }
  EXPECT_TRUE(named) << doc.body;
  // And the audit log.
  Reply summary = w.call(w.a(), "officer-a", "GET", "/v1/summary");
  ASSERT_EQ(summary.status, 200u) << summary.body;
  bool audited = false;
  const bj::value recent = summary.json();
  for (const auto& row : recent.as_object().at("audit").as_object().at("recent").as_array()) {
    audited |= str(row, "action") == "document.sign" && str(row, "outcome") == "ok" &&
               str(row, "detail").find("signed by the organization for sys-a") != std::string::npos;
  }
  EXPECT_TRUE(audited) << summary.body;
}

}  // namespace
}  // namespace edxgate::e2e
