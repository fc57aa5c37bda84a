// The agency directory in the store, on both engines: replaced whole,
// searched ignoring case and Vietnamese diacritics, closest codes.
#include "backend_fixture.h"
#include "sql_store.h"

namespace edxgate::store {
namespace {

struct AgenciesFixture : testing::BackendTest {
  std::unique_ptr<Store> store;
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    store = testing::open_or_die(base_options());
    ASSERT_TRUE(store);
  }
};

std::vector<std::string> codes(const Result<std::vector<Agency>>& r) {
  std::vector<std::string> out;
  if (r.ok())
    for (const auto& a : *r) out.push_back(a.code);
  return out;
}

TEST(FoldForSearch, DropsVietnameseDiacriticsAndCaseInEitherNormalForm) {
  EXPECT_EQ(fold_for_search("Ủy ban nhân dân tỉnh Nghệ An"), "uy ban nhan dan tinh nghe an");
  EXPECT_EQ(fold_for_search("ĐÀ NẴNG"), "da nang");
  EXPECT_EQ(fold_for_search("đường"), "duong");
  // NFD: "Nghệ" as e + circumflex + dot below.
  EXPECT_EQ(fold_for_search("Nghe\xcc\x82\xcc\xa3  An "), "nghe an");
  EXPECT_EQ(fold_for_search(""), "");
}

TEST_P(AgenciesFixture, ASyncReplacesTheWholeDirectoryAndIsAudited) {
  auto info = store->agency_directory_info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->count, 0u);
  EXPECT_EQ(info->synced_ms, 0);
  ASSERT_TRUE(store
                  ->replace_agencies({{"000.00.00.H40", "UBND tỉnh Nghệ An", "40", "", "", ""},
                                      {"000.00.00.H26", "UBND tỉnh Hà Tĩnh", "26", "", "", ""}},
                                     "officer:test")
                  .ok());
  ASSERT_TRUE(store
                  ->replace_agencies({{"000.00.00.H40", "Ủy ban nhân dân tỉnh Nghệ An", "40", "", "a@b.vn", "H40"}},
                                     "officer:test")
                  .ok());
  info = store->agency_directory_info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->count, 1u);
  EXPECT_GT(info->synced_ms, 0);
  auto found = store->find_agency("000.00.00.h40");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->name, "Ủy ban nhân dân tỉnh Nghệ An");
  EXPECT_EQ((*found)->mail, "a@b.vn");
  EXPECT_EQ((*found)->old_code, "H40");
  auto gone = store->find_agency("000.00.00.H26");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(raw_value("SELECT count(*) FROM audit_log WHERE action = 'directory.sync'"), "2");
}

TEST_P(AgenciesFixture, AnEntryWithoutCodeRefusesTheSyncAndKeepsTheOldCopy) {
  ASSERT_TRUE(store->replace_agencies({{"000.00.00.H40", "Nghệ An", "40", "", "", ""}}, "t").ok());
  auto bad =
      store->replace_agencies({{"000.00.00.H26", "Hà Tĩnh", "", "", "", ""}, {"", "Không mã", "", "", "", ""}}, "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "store.agency");
  EXPECT_EQ(codes(store->search_agencies("", 10)), std::vector<std::string>{"000.00.00.H40"});
}

TEST_P(AgenciesFixture, SearchIgnoresCaseAndDiacriticsBestFirst) {
  ASSERT_TRUE(store
                  ->replace_agencies({{"000.00.00.H40", "Ủy ban nhân dân tỉnh Nghệ An", "", "", "", ""},
                                      {"000.01.00.H40", "Sở Nội vụ tỉnh Nghệ An", "", "", "", ""},
                                      {"000.00.00.H41", "Nghệ An Tourism", "", "", "", ""},
                                      {"000.00.00.H17", "Sở Tài chính Đà Nẵng", "", "", "", ""},
                                      {"000.00.00.G02", "Bộ Nội vụ", "", "", "", ""}},
                                     "t")
                  .ok());
  // A name starting with the query first, then shorter names.
  EXPECT_EQ(codes(store->search_agencies("nghe an", 10)),
            (std::vector<std::string>{"000.00.00.H41", "000.01.00.H40", "000.00.00.H40"}));
  EXPECT_EQ(codes(store->search_agencies("nghe an", 2)), (std::vector<std::string>{"000.00.00.H41", "000.01.00.H40"}));
  EXPECT_EQ(codes(store->search_agencies("DA NANG", 10)), std::vector<std::string>{"000.00.00.H17"});
  EXPECT_EQ(codes(store->search_agencies("Đà Nẵng", 10)), std::vector<std::string>{"000.00.00.H17"});
  EXPECT_EQ(codes(store->search_agencies("000.00.00.g02", 10)), std::vector<std::string>{"000.00.00.G02"});
  EXPECT_TRUE(codes(store->search_agencies("quang ninh", 10)).empty());
  // LIKE wildcards are plain text.
  EXPECT_TRUE(codes(store->search_agencies("%", 10)).empty());
}

TEST_P(AgenciesFixture, TheClosestCodesComeFirst) {
  ASSERT_TRUE(store
                  ->replace_agencies({{"000.00.00.H40", "Nghệ An", "", "", "", ""},
                                      {"000.00.00.G02", "Bộ Nội vụ", "", "", "", ""},
                                      {"000.00.00.H26", "Hà Tĩnh", "", "", "", ""},
                                      {"020100107370", "Tập đoàn", "", "", "", ""}},
                                     "t")
                  .ok());
  EXPECT_EQ(codes(store->closest_agencies("000.00.00.H41", 2)),
            (std::vector<std::string>{"000.00.00.H40", "000.00.00.H26"}));
  EXPECT_EQ(codes(store->closest_agencies("000.00.00.H41", 1)), std::vector<std::string>{"000.00.00.H40"});
}

EDXGATE_BOTH_BACKENDS(AgenciesFixture);

}  // namespace
}  // namespace edxgate::store
