// End to end through the simulator (issue 16): the agency directory and the
// leader's signing agent.
//   DirectorySearch       the directory the simulator serves (getAgenciesList,
//                         the SDK's form) is synchronised at start; search
//                         ignores case and diacritics (NFC and NFD alike);
//                         `edxgate agencies` and `agencies sync` (officer only).
//   UnknownRecipient      a submission to an organ the directory does not hold
//                         is 422 recipient.unknown naming the closest entries;
//                         a known one is accepted.
//   AgentSignsTwo         `edxgate agent` with the leader's certificate and a
//                         SoftHSM2 token standing in for the USB token lists
//                         two documents with their attachments' SHA-256, signs
//                         both; B receives both verified; signing one again
//                         is refused.
#include <gtest/gtest.h>

#include <filesystem>

#include "e2e_support.h"

namespace edxgate::e2e {
namespace {

// The directory as the axis serves it: code, id, name, pid, mail, oldCode;
// one name written in NFD (decomposed diacritics), as some peers store it.
std::string directory_json() {
  const std::string nfd_da_nang =
      "S\xe1\xbb\x9f T\xc3\xa0i chi\xcc\x81nh tha\xcc\x80nh ph\xe1\xbb\x91 \xc4\x90\xc3\xa0 N\xe1\xba\xb5ng";
  bj::array a;
  auto add = [&](const std::string& code, const std::string& name, const std::string& id, const std::string& pid) {
    a.push_back(bj::object{
        {"code", code}, {"id", id}, {"name", name}, {"pid", pid}, {"mail", "vanthu@example.gov.vn"}, {"oldCode", ""}});
  };
  add(kOrganA, "Bộ Nội vụ", "1", "");
  add(kOrganB, "Bộ Thông tin và Truyền thông", "2", "");
  add(kOrganC, "Văn phòng Chính phủ", "3", "");
  add("000.00.00.H40", "Ủy ban nhân dân tỉnh Nghệ An", "40", "");
  add("000.01.00.H40", "Sở Nội vụ tỉnh Nghệ An", "41", "40");
  add("000.00.00.H26", "Ủy ban nhân dân tỉnh Hà Tĩnh", "26", "");
  add("000.05.00.H17", nfd_da_nang, "17", "");
  // Entries with no code cannot be addressed: skipped, not stored.
  a.push_back(bj::object{{"id", "99"}, {"name", "Đơn vị chưa có mã"}});
  return bj::serialize(a);
}

class DirectoryAgent : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      world_ = new World({}, directory_json());
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(world_, nullptr) << setup_error_; }
  void TearDown() override {
    if (HasFailure() && world_) {
      std::printf("---- edxgated A log ----\n%s\n", world_->a().proc.log().c_str());
      std::printf("---- sim log ----\n%s\n", read_text(world_->path("sim.log")).c_str());
    }
  }
  World& w() { return *world_; }

  std::string url(const Gateway& g) const { return "https://127.0.0.1:" + std::to_string(g.internal_port); }
  std::string tls_args(const std::string& who) {
    return " --url " + url(w().a()) + " --cert " + w().tls().cert(who) + " --key " + w().tls().key(who) + " --ca " +
           w().tls().cert("ca");
  }
  // Waits for A's start-up sync; returns the agencies `q` finds.
  bj::array search(const std::string& q_encoded, const std::string& who = "sys-a") {
    Reply r = w().call(w().a(), who, "GET", "/v1/agencies?q=" + q_encoded);
    EXPECT_EQ(r.status, 200u) << r.error << r.body;
    auto v = r.json();
    if (!v.is_object() || !v.as_object().contains("agencies")) return {};
    return v.as_object().at("agencies").as_array();
  }
  void wait_synced() {
    ASSERT_TRUE(wait_until(
        [&] {
          Reply r = w().call(w().a(), "officer-a", "GET", "/v1/agencies");
          auto v = r.json();
          return v.is_object() && v.as_object().contains("directory_entries") &&
                 v.as_object().at("directory_entries").to_number<int64_t>() == 7;
        },
        std::chrono::seconds(30)));
  }
  std::string submit_to(const std::string& to, const std::string& code, const std::string& subject,
                        const std::vector<std::pair<std::string, std::string>>& files, Reply* out = nullptr) {
    static int n = 0;
    Form f = make_form(w().path("dform-" + std::to_string(++n)), metadata_json(code, subject, kOrganA, to), files);
    Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
    std::filesystem::remove(f.file);
    if (out) *out = r;
    return str(r.json(), "id");
  }

  static World* world_;
  static std::string setup_error_;
};
World* DirectoryAgent::world_ = nullptr;
std::string DirectoryAgent::setup_error_;

std::vector<std::string> codes(const bj::array& a) {
  std::vector<std::string> out;
  for (const auto& e : a) out.push_back(str(e, "code"));
  return out;
}

TEST_F(DirectoryAgent, DirectorySearchIgnoresCaseAndDiacritics) {
  wait_synced();
  // "nghe an" finds both Nghệ An entries, the shorter name first.
  auto found = codes(search("nghe%20an"));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0], "000.01.00.H40");  // "Sở Nội vụ tỉnh Nghệ An" is shorter than "Ủy ban ..."
  EXPECT_EQ(found[1], "000.00.00.H40");
  // Upper case with diacritics, NFC, finds the entry stored in NFD; đ/Đ is d.
  EXPECT_EQ(codes(search("%C4%90%C3%80%20N%E1%BA%B4NG")), std::vector<std::string>{"000.05.00.H17"});
  EXPECT_EQ(codes(search("da+nang")), std::vector<std::string>{"000.05.00.H17"});
  // An NFD query ("Tĩnh" with a combining tilde) finds the NFC name.
  EXPECT_EQ(codes(search("ti%CC%83nh%20h%C3%A0")), std::vector<std::string>{"000.00.00.H26"});
  // By organ id; nothing for a name that is not there.
  EXPECT_EQ(codes(search("000.00.00.g02")), std::vector<std::string>{kOrganB});
  EXPECT_TRUE(search("quang%20ninh").empty());
  // The entry without a code was not stored.
  EXPECT_TRUE(search("chua%20co%20ma").empty());

  // The CLI, as an officer: the table and --json; nothing found is exit 1.
  int st = 0;
  std::string out = run_capture(bin("edxgate") + " agencies" + tls_args("officer-a") + " nghe an 2>&1", &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_NE(out.find("000.00.00.H40\tỦy ban nhân dân tỉnh Nghệ An"), std::string::npos) << out;
  out = run_capture(bin("edxgate") + " agencies --json" + tls_args("officer-a") + " 'bo noi vu' 2>&1", &st);
  EXPECT_EQ(st, 0) << out;
  auto v = json::parse(out);
  ASSERT_TRUE(v.ok()) << out;
  EXPECT_EQ(codes(v->as_object().at("agencies").as_array()), std::vector<std::string>{kOrganA});
  out = run_capture(bin("edxgate") + " agencies" + tls_args("officer-a") + " quang ninh 2>&1", &st);
  EXPECT_EQ(st, 1) << out;

  // agencies sync: an officer may; a system may not (403, exit 1).
  out = run_capture(bin("edxgate") + " agencies sync" + tls_args("officer-a") + " 2>&1", &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_NE(out.find("7 entries"), std::string::npos) << out;
  out = run_capture(bin("edxgate") + " agencies sync" + tls_args("sys-a") + " 2>&1", &st);
  EXPECT_EQ(st, 1) << out;
  // A gateway whose server certificate does not chain to --ca is refused.
  out = run_capture(bin("edxgate") + " agencies --url " + url(w().a()) + " --cert " + w().tls().cert("officer-a") +
                        " --key " + w().tls().key("officer-a") + " --ca " + w().signing_ca() + " x 2>&1",
                    &st);
  EXPECT_EQ(st, 2) << out;
  EXPECT_NE(out.find("certificate"), std::string::npos) << out;
}

TEST_F(DirectoryAgent, UnknownRecipientIs422WithTheClosestNames) {
  wait_synced();
  Reply r;
  EXPECT_EQ(submit_to("000.00.00.H41", "31/BNV-VP", "V/v gửi nhầm mã", {}, &r), "");
  EXPECT_EQ(r.status, 422u) << r.body;
  const std::string detail = str(r.json(), "detail");
  EXPECT_NE(str(r.json(), "type").find("recipient.unknown"), std::string::npos) << r.body;
  EXPECT_NE(detail.find("000.00.00.H41"), std::string::npos) << detail;
  EXPECT_NE(detail.find("000.00.00.H40 Ủy ban nhân dân tỉnh Nghệ An"), std::string::npos) << detail;
  // A known recipient is accepted.
  EXPECT_NE(submit_to("000.00.00.H40", "32/BNV-VP", "V/v gửi đúng mã", {}, &r), "") << r.body;
  EXPECT_EQ(r.status, 202u);
}

TEST_F(DirectoryAgent, AgentSignsTwoDocumentsOnTheLeadersTokenAndTheyAreDelivered) {
  wait_synced();
  // The leader's USB token: SoftHSM2 with a key made on it and a certificate
  // of the signing CA the gateways trust.
  testing::SoftHsmToken token("leader-usb", kPin);
  std::string out;
  auto run = [&](const std::string& cmd) {
    out.clear();
    ASSERT_EQ(token.run(cmd, &out), 0) << cmd << "\n" << out;
  };
  const std::string common = " --pin-file " + token.pin_file() + " --audit-log " + w().path("leader-audit.log");
  run(bin("edxgate") + " key generate --type rsa:2048 --label leader --id 0a" + common);
  run(bin("edxgate") + " csr --label leader --subject 'CN=Phạm Thị Hoa,O=Bộ Nội vụ,C=VN' -o " + w().path("leader.csr") +
      common);
  w().issue_signer_csr(w().path("leader.csr"), w().path("leader.pem"));
  run(bin("edxgate") + " cert import --label leader --cert " + w().path("leader.pem") + common);
  // The security officer lists the token's certificate for leader-a (issue 13: none listed, none signs remotely).
  w().a().remote_signing_certs["leader-a"] = {World::certificate_fingerprint(w().path("leader.pem"))};
  w().reconfigure(w().a());

  write_text(w().path("to-trinh.txt"), "Tờ trình về việc ký số từ xa");
  const std::string sha = sha256_hex_of_file(w().path("to-trinh.txt"));
  const std::string id1 =
      submit_to(kOrganB, "41/BNV-VP", "V/v ký số văn bản thứ nhất", {{"to-trinh.txt", w().path("to-trinh.txt")}});
  const std::string id2 = submit_to(kOrganB, "42/BNV-VP", "V/v ký số văn bản thứ hai", {});
  ASSERT_FALSE(id1.empty());
  ASSERT_FALSE(id2.empty());

  const std::string agent = bin("edxgate") + " agent" + tls_args("leader-a") +
                            " --token-uri 'pkcs11:token=leader-usb;object=leader'" + " --module " +
                            testing::SoftHsmToken::module() + " --pin-file " + token.pin_file();
  // Listing only (no terminal, no --sign): both shown with subject, sender and
  // the attachment's SHA-256; nothing signed.
  int st = 0;
  out = run_capture("SOFTHSM2_CONF=" + token.conf() + " " + agent + " --sign none-of-these </dev/null 2>&1", &st);
  EXPECT_EQ(st, 1) << out;
  EXPECT_NE(out.find("V/v ký số văn bản thứ nhất"), std::string::npos) << out;
  EXPECT_NE(out.find("V/v ký số văn bản thứ hai"), std::string::npos) << out;
  EXPECT_NE(out.find("from " + std::string(kOrganA)), std::string::npos) << out;
  EXPECT_NE(out.find("to-trinh.txt"), std::string::npos) << out;
  EXPECT_NE(out.find("sha256 " + sha), std::string::npos) << out;

  out = run_capture("SOFTHSM2_CONF=" + token.conf() + " " + agent + " --sign " + id1 + " --sign " + id2 + " 2>&1", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("signed " + id1 + ": queued"), std::string::npos) << out;
  EXPECT_NE(out.find("signed " + id2 + ": queued"), std::string::npos) << out;

  // Both reach B, verified, signed by the leader.
  for (const std::string& id : {id1, id2}) {
    Reply d = w().call(w().a(), "sys-a", "GET", "/v1/outgoing/" + id);
    const std::string document_id = str(d.json(), "document_id");
    bj::value at_b;
    EXPECT_TRUE(wait_until(
        [&] {
          Reply l = w().call(w().b(), "officer-b", "GET", "/v1/incoming?limit=1000");
          auto v = l.json();
          if (!v.is_object()) return false;
          for (const auto& x : v.as_object().at("documents").as_array())
            if (str(x, "document_id") == document_id) at_b = x;
          return at_b.is_object();
        },
        std::chrono::seconds(40)))
        << document_id;
    EXPECT_EQ(str(at_b, "state"), "verified") << bj::serialize(at_b);
    EXPECT_NE(str(at_b, "signer").find("Phạm Thị Hoa"), std::string::npos) << str(at_b, "signer");
  }
  // Signing one again: it no longer awaits a signature.
  out = run_capture("SOFTHSM2_CONF=" + token.conf() + " " + agent + " --sign " + id1 + " 2>&1", &st);
  EXPECT_EQ(st, 1) << out;
  EXPECT_EQ(out.find("signed " + id1), std::string::npos) << out;
}

}  // namespace
}  // namespace edxgate::e2e
