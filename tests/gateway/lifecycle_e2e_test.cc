// Recall, update and replacement end to end (issue 16): two edxgated
// processes and the axis simulator (e2e_support.h's World). A sends to B
// through the simulator, then recalls, updates or replaces the document over
// its internal API; B applies it to the document it holds, its system finds
// it by the lifecycle filter and answers a recall with 15 or 16. Both
// histories name the other document.
#include <gtest/gtest.h>

#include <fstream>

#include "e2e_support.h"

namespace edxgate::e2e {
namespace {

class LifecycleE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      world_ = new World();
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
      auto tail = [](const std::string& s) { return s.size() > 6000 ? s.substr(s.size() - 6000) : s; };
      std::printf("---- edxgated A log (tail) ----\n%s\n", tail(world_->a().proc.log()).c_str());
      std::printf("---- edxgated B log (tail) ----\n%s\n", tail(world_->b().proc.log()).c_str());
    }
  }
  World& w() { return *world_; }

  // A multipart form with text fields and attachment files.
  Form form(const std::vector<std::pair<std::string, std::string>>& fields,
            const std::vector<std::pair<std::string, std::string>>& files /* name, text */) {
    static int n = 0;
    const std::string path = w().path("lc-form-" + std::to_string(++n));
    const std::string boundary = "lifecycle-e2e-boundary-91c3";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const auto& [name, value] : fields) {
      out << "--" << boundary << "\r\nContent-Disposition: form-data; name=\"" << name << "\"\r\n\r\n"
          << value << "\r\n";
    }
    for (const auto& [name, text] : files) {
      out << "--" << boundary << "\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"" << name
          << "\"\r\nContent-Type: application/octet-stream\r\n\r\n"
          << text << "\r\n";
    }
    out << "--" << boundary << "--\r\n";
    return {path, "multipart/form-data; boundary=" + boundary};
  }

  bj::value get(const Gateway& g, const std::string& who, const std::string& path) {
    Reply r = w().call(g, who, "GET", path);
    EXPECT_EQ(r.status, 200u) << path << ": " << r.error << r.body;
    return r.json();
  }
  bj::value outgoing(const std::string& id) { return get(w().a(), "sys-a", "/v1/outgoing/" + id); }
  bj::value incoming(const std::string& id) { return get(w().b(), "sys-b", "/v1/incoming/" + id); }

  // The leader signs `id` on A's token; it is queued for the axis.
  void sign(const std::string& id) {
    Reply s = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})");
    ASSERT_EQ(s.status, 200u) << s.error << s.body;
    EXPECT_EQ(str(s.json(), "state"), "queued");
  }

  // The id at B of the document with this DocumentId and lifecycle marker
  // (waits for it); "" when it never came.
  std::string wait_at_b(const std::string& document_id, const std::string& lifecycle) {
    std::string found;
    wait_until(
        [&] {
          Reply r = w().call(w().b(), "sys-b", "GET", "/v1/incoming?limit=1000");
          if (r.status != 200) return false;
          const bj::value v = r.json();
          for (const auto& d : v.as_object().at("documents").as_array()) {
            if (str(d, "document_id") == document_id && str(d, "lifecycle") == lifecycle) found = str(d, "id");
          }
          return !found.empty();
        },
        std::chrono::seconds(40));
    return found;
  }
  bool wait_for(const std::function<bool()>& pred) { return wait_until(pred, std::chrono::seconds(40)); }

  // A document sent by A and delivered to B: {A's id, its DocumentId, B's id}.
  struct Sent {
    std::string id, document_id, at_b;
  };
  Sent send(const std::string& code, const std::string& subject) {
    Form f = form({{"metadata", metadata_json(code, subject)}}, {{"cv.txt", "Nội dung " + subject}});
    Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
    EXPECT_EQ(r.status, 202u) << r.error << r.body;
    Sent s;
    s.id = str(r.json(), "id");
    if (s.id.empty()) return s;
    sign(s.id);
    s.document_id = str(outgoing(s.id), "document_id");
    s.at_b = wait_at_b(s.document_id, "");
    EXPECT_FALSE(s.at_b.empty()) << "B did not store " << s.document_id;
    EXPECT_TRUE(wait_for([&] { return str(outgoing(s.id), "state") == "delivered"; })) << bj::serialize(outgoing(s.id));
    return s;
  }

  // "relation:document" of the linked lifecycle events of a document.
  static std::vector<std::string> links(const bj::value& doc) {
    std::vector<std::string> out;
    if (!doc.is_object() || !doc.as_object().contains("lifecycle_events")) return out;
    for (const auto& e : doc.as_object().at("lifecycle_events").as_array()) {
      if (!str(e, "relation").empty()) out.push_back(str(e, "relation") + ":" + str(e, "document"));
    }
    return out;
  }

  // Lists B's incoming documents with a lifecycle marker, as B's system does.
  std::vector<std::string> listed_at_b(const std::string& lifecycle) {
    std::vector<std::string> ids;
    Reply r = w().call(w().b(), "sys-b", "GET", "/v1/incoming?lifecycle=" + lifecycle);
    EXPECT_EQ(r.status, 200u) << r.body;
    if (r.status != 200) return ids;
    const bj::value v = r.json();
    for (const auto& d : v.as_object().at("documents").as_array()) ids.push_back(str(d, "id"));
    return ids;
  }

  static World* world_;
  static std::string setup_error_;
};

World* LifecycleE2e::world_ = nullptr;
std::string LifecycleE2e::setup_error_;

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST_F(LifecycleE2e, ARecallAgreedRevokesTheDocumentAtBothGateways) {
  const Sent s = send("31/BA-VP", "V/v thu hồi thử nghiệm");
  ASSERT_FALSE(s.at_b.empty());
  // Only the document's own system may recall it.
  EXPECT_EQ(w().call(w().a(), "officer-a", "POST", "/v1/outgoing/" + s.id + "/revoke", R"({"reason":"x"})").status,
            403u);
  Reply r =
      w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + s.id + "/revoke",
               R"({"reason":"Văn bản có sai sót","staff":{"name":"Nguyễn Thị Văn Thư","department":"Văn phòng"}})");
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string recall = str(r.json(), "id");
  EXPECT_EQ(str(r.json(), "state"), "pending_signature");
  EXPECT_EQ(str(outgoing(s.id), "lifecycle"), "recall_requested");
  EXPECT_EQ(links(outgoing(s.id)), std::vector<std::string>{"revoked_by:" + recall});
  EXPECT_EQ(links(outgoing(recall)), std::vector<std::string>{"revocation_of:" + s.id});
  sign(recall);

  // B applies it to the document it holds; its system finds it by the filter.
  const std::string request_at_b = wait_at_b(s.document_id, "revocation");
  ASSERT_FALSE(request_at_b.empty());
  EXPECT_EQ(str(incoming(s.at_b), "lifecycle"), "recall_requested");
  EXPECT_TRUE(contains(listed_at_b("recall_requested"), s.at_b));
  EXPECT_EQ(links(incoming(s.at_b)), std::vector<std::string>{"revoked_by:" + request_at_b});
  EXPECT_EQ(links(incoming(request_at_b)), std::vector<std::string>{"revocation_of:" + s.at_b});

  Reply answer = w().call(w().b(), "sys-b", "POST", "/v1/incoming/" + s.at_b + "/status",
                          R"({"state":"recall_agreed","staff":{"name":"Lê Văn An"}})");
  ASSERT_EQ(answer.status, 202u) << answer.body;
  EXPECT_EQ(str(answer.json(), "lifecycle"), "revoked");
  EXPECT_EQ(str(incoming(s.at_b), "lifecycle"), "revoked");
  EXPECT_TRUE(wait_for([&] { return str(outgoing(s.id), "lifecycle") == "revoked"; })) << bj::serialize(outgoing(s.id));
  EXPECT_EQ(str(outgoing(recall), "state"), "accepted");
  // A revoked document is neither updated nor recalled again.
  Reply again = w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + s.id + "/update",
                         R"({"reason":"sửa","changes":{"subject":"mới"}})");
  EXPECT_EQ(again.status, 409u) << again.body;
  EXPECT_EQ(str(again.json(), "type"), "urn:edxgate:problem:lifecycle.state") << again.body;
}

TEST_F(LifecycleE2e, ARecallRefusedLeavesTheDocumentInForce) {
  const Sent s = send("32/BA-VP", "V/v thu hồi bị từ chối");
  ASSERT_FALSE(s.at_b.empty());
  Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + s.id + "/revoke", R"({"reason":"Gửi nhầm"})");
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string recall = str(r.json(), "id");
  sign(recall);
  ASSERT_FALSE(wait_at_b(s.document_id, "revocation").empty());
  ASSERT_TRUE(wait_for([&] { return str(incoming(s.at_b), "lifecycle") == "recall_requested"; }));
  Reply no_reason =
      w().call(w().b(), "sys-b", "POST", "/v1/incoming/" + s.at_b + "/status", R"({"state":"recall_refused"})");
  EXPECT_EQ(no_reason.status, 422u) << no_reason.body;
  Reply answer = w().call(w().b(), "sys-b", "POST", "/v1/incoming/" + s.at_b + "/status",
                          R"({"state":"recall_refused","reason":"Văn bản đã được xử lý"})");
  ASSERT_EQ(answer.status, 202u) << answer.body;
  EXPECT_EQ(str(incoming(s.at_b), "lifecycle"), "recall_refused");
  EXPECT_TRUE(wait_for([&] { return str(outgoing(s.id), "lifecycle") == "recall_refused"; }))
      << bj::serialize(outgoing(s.id));
  EXPECT_TRUE(wait_for([&] { return str(outgoing(recall), "state") == "refused"; })) << bj::serialize(outgoing(recall));
  EXPECT_EQ(str(outgoing(s.id), "state"), "delivered");
}

TEST_F(LifecycleE2e, ARetriedRecallWithItsIdempotencyKeyGetsTheFirstAnswer) {
  const Sent s = send("38/BA-VP", "V/v thu hồi gửi lại");
  ASSERT_FALSE(s.at_b.empty());
  const std::string path = "/v1/outgoing/" + s.id + "/revoke";
  const std::string body = R"({"reason":"Gửi nhầm"})";
  auto keyed = [&](const std::string& key) {
    return w().call(w().a(), "sys-a", "POST", path, body, "application/json", "", "", {{"Idempotency-Key", key}});
  };
  Reply bad = keyed(std::string(129, 'k'));
  EXPECT_EQ(bad.status, 400u) << bad.body;
  EXPECT_EQ(str(bad.json(), "type"), "urn:edxgate:problem:api.idempotency_key") << bad.body;
  EXPECT_EQ(str(outgoing(s.id), "lifecycle"), "");
  Reply first = keyed("thu-hoi-38");
  ASSERT_EQ(first.status, 202u) << first.body;
  EXPECT_FALSE(first.json().as_object().at("existing").as_bool());
  Reply again = keyed("thu-hoi-38");
  ASSERT_EQ(again.status, 202u) << again.body;
  EXPECT_EQ(str(again.json(), "id"), str(first.json(), "id"));
  EXPECT_TRUE(again.json().as_object().at("existing").as_bool());
  Reply unkeyed = w().call(w().a(), "sys-a", "POST", path, body);
  EXPECT_EQ(unkeyed.status, 409u) << unkeyed.body;
  EXPECT_EQ(links(outgoing(s.id)), std::vector<std::string>{"revoked_by:" + str(first.json(), "id")});
}

TEST_F(LifecycleE2e, AnUpdateReachesBWithTheChangedHeaderAndAttachment) {
  const Sent s = send("33/BA-VP", "V/v cập nhật thử nghiệm");
  ASSERT_FALSE(s.at_b.empty());
  Form f = form({{"reason", "Bổ sung phụ lục"}, {"changes", R"j({"subject":"V/v cập nhật thử nghiệm (bổ sung)"})j"}},
                {{"phu-luc-moi.txt", "Phụ lục bổ sung"}});
  Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + s.id + "/update", "", f.content_type, f.file);
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string update = str(r.json(), "id");
  EXPECT_EQ(str(outgoing(update), "document_id"), s.document_id);  // the same document, updated
  EXPECT_EQ(str(outgoing(s.id), "lifecycle"), "updated");
  sign(update);

  const std::string at_b = wait_at_b(s.document_id, "update");
  ASSERT_FALSE(at_b.empty());
  const bj::value got = incoming(at_b);
  EXPECT_EQ(str(got, "subject"), "V/v cập nhật thử nghiệm (bổ sung)");
  ASSERT_EQ(got.as_object().at("attachments").as_array().size(), 1u);
  EXPECT_EQ(str(got.as_object().at("attachments").as_array()[0], "name"), "phu-luc-moi.txt");
  EXPECT_EQ(str(incoming(s.at_b), "lifecycle"), "updated");
  EXPECT_EQ(links(incoming(s.at_b)), std::vector<std::string>{"updated_by:" + at_b});
  EXPECT_EQ(links(got), std::vector<std::string>{"update_of:" + s.at_b});
  EXPECT_TRUE(contains(listed_at_b("updated"), s.at_b));
  EXPECT_EQ(links(outgoing(s.id)), std::vector<std::string>{"updated_by:" + update});
}

TEST_F(LifecycleE2e, AReplacementIsANewDocumentLinkedToTheOriginal) {
  const Sent s = send("34/BA-VP", "V/v văn bản sẽ bị thay thế");
  ASSERT_FALSE(s.at_b.empty());
  Form f = form({{"reason", "Thay thế văn bản số 34"}, {"metadata", metadata_json("35/BA-VP", "V/v văn bản thay thế")}},
                {{"cv35.txt", "Nội dung thay thế"}});
  Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + s.id + "/replace", "", f.content_type, f.file);
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string replacement = str(r.json(), "id");
  const std::string new_document_id = str(outgoing(replacement), "document_id");
  EXPECT_NE(new_document_id, s.document_id);
  sign(replacement);

  const std::string at_b = wait_at_b(new_document_id, "replacement");
  ASSERT_FALSE(at_b.empty());
  EXPECT_EQ(str(incoming(at_b), "subject"), "V/v văn bản thay thế");
  EXPECT_EQ(str(incoming(s.at_b), "lifecycle"), "replaced");
  EXPECT_EQ(links(incoming(s.at_b)), std::vector<std::string>{"replaced_by:" + at_b});
  EXPECT_EQ(links(incoming(at_b)), std::vector<std::string>{"replaces:" + s.at_b});
  EXPECT_EQ(str(outgoing(s.id), "lifecycle"), "replaced");
  EXPECT_EQ(links(outgoing(s.id)), std::vector<std::string>{"replaced_by:" + replacement});
  EXPECT_EQ(links(outgoing(replacement)), std::vector<std::string>{"replaces:" + s.id});
}

TEST_F(LifecycleE2e, BadRequestsChangeNothing) {
  // A document never sent cannot be recalled.
  Form f = form({{"metadata", metadata_json("36/BA-VP", "V/v chưa gửi")}}, {{"x.txt", "x"}});
  Reply sub = w().call(w().a(), "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
  ASSERT_EQ(sub.status, 202u) << sub.body;
  const std::string id = str(sub.json(), "id");
  Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + id + "/revoke", R"({"reason":"thu hồi"})");
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(str(r.json(), "type"), "urn:edxgate:problem:lifecycle.not_sent");
  EXPECT_EQ(str(outgoing(id), "lifecycle"), "");
  // No such document, no reason, an unknown filter, an answer to nothing asked.
  EXPECT_EQ(w().call(w().a(), "sys-a", "POST", "/v1/outgoing/999999/revoke", R"({"reason":"x"})").status, 404u);
  EXPECT_EQ(w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + id + "/revoke", R"({})").status, 422u);
  EXPECT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/incoming?lifecycle=deleted").status, 400u);
  const Sent s = send("37/BA-VP", "V/v không thu hồi");
  ASSERT_FALSE(s.at_b.empty());
  Reply none = w().call(w().b(), "sys-b", "POST", "/v1/incoming/" + s.at_b + "/status", R"({"state":"recall_agreed"})");
  EXPECT_EQ(none.status, 409u) << none.body;
  EXPECT_EQ(str(incoming(s.at_b), "lifecycle"), "");
  // An update that names no change, or tries to change the DocumentId.
  Reply nothing = w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + s.id + "/update", R"({"reason":"x"})");
  EXPECT_EQ(nothing.status, 422u) << nothing.body;
  Reply other_id = w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + s.id + "/update",
                            R"({"reason":"x","changes":{"document_id":"000.00.00.G01,2026/11/23,1/X"}})");
  EXPECT_EQ(other_id.status, 422u) << other_id.body;
  EXPECT_EQ(str(outgoing(s.id), "lifecycle"), "");
}

}  // namespace
}  // namespace edxgate::e2e
