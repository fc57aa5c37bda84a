// Two edxgated nodes of ministry A on one PostgreSQL database (issue 18),
// behind the axis simulator, with ministry B as in e2e_test.cc. Both nodes
// take submissions and signatures; one is SIGKILLed mid-load; every
// document a node accepted is delivered to B exactly once, and the shared
// audit chain verifies (`edxgate audit verify`).
#include <set>

#include "../store/pg_server.h"
#include "e2e_support.h"

namespace edxgate::e2e {
namespace {

using store::testing::PgServer;

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class ClusterE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    PgServer& pg = PgServer::get();
    ASSERT_TRUE(pg.up()) << "no PostgreSQL for the test: " << pg.error();
    database_ = pg.create_database();
    ASSERT_FALSE(database_.empty()) << pg.error();
    dsn_ = pg.dsn(database_);
  }
  void TearDown() override {
    if (HasFailure() && world_) {
      std::printf("---- node a1 ----\n%s\n---- node a2 ----\n%s\n---- B ----\n%s\n",
                  tail(world_->a().proc.log()).c_str(), tail(a2_.proc.log()).c_str(),
                  tail(world_->b().proc.log()).c_str());
    }
    a2_.proc.stop();
    world_.reset();
    PgServer::get().drop_database(database_);
  }
  static std::string tail(const std::string& s) { return s.size() > 5000 ? s.substr(s.size() - 5000) : s; }

  // A second node of A: A's config with its own listeners, state directory
  // and node name; the same database, blob directory and token.
  void start_second_node() {
    World& w = *world_;
    Gateway& a = w.a();
    a2_.name = "a2";
    a2_.organ = a.organ;
    a2_.dir = w.path("gw-a2");
    std::filesystem::create_directories(a2_.dir);
    a2_.internal_port = free_port();
    a2_.health_port = free_port();
    std::string c = read_text(a.config);
    c = replaced(c, "127.0.0.1:" + std::to_string(a.internal_port), "127.0.0.1:" + std::to_string(a2_.internal_port));
    c = replaced(c, "127.0.0.1:" + std::to_string(a.health_port), "127.0.0.1:" + std::to_string(a2_.health_port));
    c = replaced(c, "\"" + a.state_dir() + "\"", "\"" + a2_.state_dir() + "\"");
    c = replaced(c, "node = \"a1\"", "node = \"a2\"");
    // This node reads its connection string, with a password, from a file.
    write_text(a2_.dir + "/store.dsn", dsn_ + " password=" + kPassword + "\n");
    ::chmod((a2_.dir + "/store.dsn").c_str(), 0600);
    c = replaced(c, "dsn = \"" + dsn_ + "\"", "dsn_file = \"" + a2_.dir + "/store.dsn\"");
    a2_.config = a2_.dir + "/edxgate.toml";
    write_text(a2_.config, c);
    a2_.proc.start({bin("edxgated"), "--config", a2_.config}, {{"SOFTHSM2_CONF", a.token->conf()}},
                   a2_.dir + "/edxgated.log");
    ASSERT_TRUE(
        wait_until([&] { return !a2_.proc.running() || port_open(a2_.internal_port); }, std::chrono::seconds(30)) &&
        a2_.proc.running())
        << a2_.proc.log();
  }

  // Submits and signs one document on `node`; returns its id, "" unless accepted.
  std::string submit_and_sign(const Gateway& node, int n) {
    World& w = *world_;
    const std::string file = w.path("cl-" + std::to_string(n) + ".txt");
    write_text(file, "Văn bản cụm máy chủ số " + std::to_string(n));
    Form f =
        make_form(w.path("cl-form-" + std::to_string(n)),
                  metadata_json(std::to_string(100 + n) + "/CL-VP", "Cụm máy chủ, văn bản số " + std::to_string(n)),
                  {{"van-ban.txt", file}});
    Reply r = w.call(node, "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
    if (r.status != 202) {
      ADD_FAILURE() << "submit " << n << ": " << r.status << " " << r.error << r.body;
      return "";
    }
    const std::string id = str(r.json(), "id");
    Reply s = w.call(node, "leader-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})");
    if (s.status != 200 || str(s.json(), "state") != "queued") {
      ADD_FAILURE() << "sign " << n << ": " << s.status << " " << s.error << s.body;
      return "";
    }
    return id;
  }

  // B's incoming documents by subject.
  std::map<std::string, int> at_b() {
    std::map<std::string, int> out;
    Reply r = world_->call(world_->b(), "officer-b", "GET", "/v1/incoming?limit=1000");
    auto v = r.json();
    if (!v.is_object() || !v.as_object().contains("documents")) return out;
    for (const auto& d : v.as_object().at("documents").as_array()) ++out[str(d, "subject")];
    return out;
  }

  static constexpr const char* kPassword = "n0t-in-any-log";
  std::string database_, dsn_;
  std::unique_ptr<World> world_;
  Gateway a2_;
};

TEST_F(ClusterE2e, EveryAcceptedDocumentIsDeliveredOnceThoughANodeIsKilledMidLoad) {
  testing::TempDir shared_blobs;
  try {
    world_ = std::make_unique<World>([&](Gateway& a, Gateway&) {
      a.store_extra = "backend = \"postgresql\"\ndsn = \"" + dsn_ + "\"\nblob_dir = \"" + shared_blobs.path() +
                      "\"\nnode = \"a1\"\npool_size = 4\n";
      a.axis_timeout_s = 2;  // the outbox lease (2 x timeout + 30 s) of a killed node expires sooner
    });
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  start_second_node();
  if (HasFatalFailure()) return;

  constexpr int kDocuments = 10;
  std::vector<int> accepted;
  std::vector<std::string> ids;
  for (int n = 0; n < kDocuments; ++n) {
    const bool a1_alive = n < kDocuments / 2;
    const Gateway& node = a1_alive && n % 2 == 0 ? world_->a() : a2_;
    const std::string id = submit_and_sign(node, n);
    if (!id.empty()) {
      accepted.push_back(n);
      ids.push_back(id);
    }
    if (n == kDocuments / 2 - 1) world_->a().proc.kill();  // mid-load, its outbox busy sending
  }
  ASSERT_EQ(accepted.size(), size_t{kDocuments});

  // Every accepted document reaches B, each exactly once.
  std::map<std::string, int> got;
  const bool all = wait_until(
      [&] {
        got = at_b();
        for (int n : accepted)
          if (got["Cụm máy chủ, văn bản số " + std::to_string(n)] < 1) return false;
        return true;
      },
      std::chrono::seconds(120));
  EXPECT_TRUE(all);
  for (int n : accepted) EXPECT_EQ(got["Cụm máy chủ, văn bản số " + std::to_string(n)], 1) << "document " << n;
  EXPECT_EQ(got.size(), accepted.size());

  // The surviving node serves every document, whichever node took it.
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), ids.size());  // the nodes share one sequence of ids
  for (const std::string& id : ids) {
    std::string state;
    wait_until(
        [&] {
          state = str(world_->call(a2_, "sys-a", "GET", "/v1/outgoing/" + id).json(), "state");
          return state != "queued" && !state.empty();
        },
        std::chrono::seconds(30));
    EXPECT_NE(state, "queued") << "document " << id;
    EXPECT_FALSE(state.empty()) << "document " << id;
  }

  // One audit chain for the cluster, unbroken.
  a2_.proc.stop();
  EXPECT_EQ(a2_.proc.log().find(kPassword), std::string::npos);
  int status = 0;
  const std::string out =
      testing::run_capture(bin("edxgate") + " audit verify --db 'postgresql:" + dsn_ + "'", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("audit log ok"), std::string::npos) << out;
}

}  // namespace
}  // namespace edxgate::e2e
