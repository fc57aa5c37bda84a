// The OpenAPI document served at /openapi.json lists exactly the routes the
// internal API serves, each with the roles it allows.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "../support/temp_dir.h"
#include "../support/workflow_doubles.h"
#include "edxgate/base/json.h"
#include "edxgate/gateway/api.h"
#include "edxgate/gateway/api_directory.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"
#include "openapi_json.h"

namespace edxgate::gateway {
namespace {

TEST(OpenApi, TheDocumentListsExactlyTheRoutesWithTheirRoles) {
  test::TempDir dir("edxgate-openapi");
  store::StoreOptions so;
  so.state_dir = dir / "state";
  auto db = store::open_store(so);
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto verifier = std::make_shared<crypto::Verifier>(crypto::test::Pki::get().trust(true), crypto::VerifyPolicy{});
  MetricsRegistry metrics;
  test::SoftwareKeys keys;
  workflow::EngineOptions eo;
  eo.organ_id = "000.00.00.G01";
  eo.work_dir = dir / "work";
  workflow::Engine engine(eo, **db, verifier, &keys, nullptr, metrics);
  Router router;
  add_api_routes(router, engine, **db, ApiOptions{dir.path(), 1 << 20, {}, 7, ""});
  add_directory_routes(
      router, **db,
      std::make_shared<DirectorySync>(nullptr, **db, workflow::AxisDirectoryLimits{}, std::chrono::hours(0)));

  auto doc = json::parse(kOpenApiJson, 64);
  ASSERT_TRUE(doc.ok());
  const auto& paths = doc->as_object().at("paths").as_object();
  std::set<std::string> documented, served;
  for (const auto& [path, ops] : paths) {
    if (std::string(path).rfind("/v1/", 0) != 0 || path == "/v1/whoami") continue;
    for (const auto& [method, op] : ops.as_object()) {
      std::string m(method);
      std::transform(m.begin(), m.end(), m.begin(), ::toupper);
      documented.insert(m + " " + std::string(path));
      EXPECT_EQ(op.as_object().at("x-edxgate-status").as_string(), "implemented") << path;
      // The roles documented are the roles allowed.
      std::set<std::string> roles;
      for (const auto& r : op.as_object().at("x-edxgate-roles").as_array()) roles.insert(std::string(r.as_string()));
      for (const auto& route : router.routes()) {
        if (route.method != m || route.pattern != path) continue;
        std::set<std::string> allowed;
        for (auto role : route.access.roles) allowed.insert(std::string(config::role_name(role)));
        EXPECT_EQ(allowed, roles) << m << " " << path;
      }
    }
  }
  for (const auto& route : router.routes()) served.insert(route.method + " " + route.pattern);
  EXPECT_EQ(documented, served);
}

}  // namespace
}  // namespace edxgate::gateway
