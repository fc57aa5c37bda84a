// The agency directory in the workflow: a sync replaces the stored copy whole
// or keeps it; the recipient check applies only once a directory is stored.
#include <gtest/gtest.h>

#include "../support/temp_dir.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/directory.h"

namespace edxgate::workflow {
namespace {

// An axis that serves only a directory: the entries given, or an error.
class DirectoryAxis final : public AxisTransport {
 public:
  Result<std::vector<AxisAgency>> answer = std::vector<AxisAgency>{};
  Result<std::string> send_envelope(const std::string&, const std::vector<std::string>&, AxisMessageType) override {
    return make_error(ErrorKind::internal, "test.unused", "");
  }
  Result<std::string> send_status(const std::string&, const std::vector<std::string>&) override {
    return make_error(ErrorKind::internal, "test.unused", "");
  }
  Result<std::vector<AxisReceivedItem>> list_received(const AxisListQuery&) override {
    return make_error(ErrorKind::internal, "test.unused", "");
  }
  Status get(const std::string&, const std::string&) override {
    return make_error(ErrorKind::internal, "test.unused", "");
  }
  Status update_status(const std::string&, AxisItemStatus) override {
    return make_error(ErrorKind::internal, "test.unused", "");
  }
  Result<std::vector<AxisAgency>> list_agencies(const AxisDirectoryLimits&) override { return answer; }
};

class Directory : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions so;
    so.state_dir = dir_ / "state";
    auto s = store::open_store(so);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  test::TempDir dir_{"edxgate-directory"};
  std::unique_ptr<store::Store> store_;
  DirectoryAxis axis_;
};

TEST_F(Directory, AnEmptyOrNeverSyncedDirectoryBlocksNoRecipient) {
  EXPECT_TRUE(check_recipients(*store_, {"000.00.00.H99", "020100107370"}).ok());
}

TEST_F(Directory, ASyncStoresTheEntriesWithACodeAndTheCheckNamesTheClosest) {
  axis_.answer = std::vector<AxisAgency>{{"000.00.00.H40", "Ủy ban nhân dân tỉnh Nghệ An", "40", "", "", ""},
                                         {"000.00.00.H26", "Ủy ban nhân dân tỉnh Hà Tĩnh", "26", "", "", ""},
                                         {"", "Đơn vị chưa có mã", "7", "", "", ""}};
  auto n = sync_directory(axis_, *store_, {}, "officer:test");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_TRUE(check_recipients(*store_, {"000.00.00.H40", "000.00.00.h26"}).ok());
  auto unknown = check_recipients(*store_, {"000.00.00.H40", "000.00.00.H41"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "recipient.unknown");
  EXPECT_EQ(unknown.error().kind, ErrorKind::invalid);
  EXPECT_NE(unknown.error().message.find("'000.00.00.H41'"), std::string::npos) << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("closest: 000.00.00.H40 Ủy ban nhân dân tỉnh Nghệ An; 000.00.00.H26"),
            std::string::npos)
      << unknown.error().message;
}

TEST_F(Directory, AFailedOrEmptyAnswerKeepsTheStoredCopy) {
  axis_.answer = std::vector<AxisAgency>{{"000.00.00.H40", "Nghệ An", "40", "", "", ""}};
  ASSERT_TRUE(sync_directory(axis_, *store_, {}, "t").ok());
  axis_.answer = std::vector<AxisAgency>{};
  auto empty = sync_directory(axis_, *store_, {}, "t");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "directory.empty");
  axis_.answer = make_error(ErrorKind::too_large, "axis.too_large", "too many");
  auto big = sync_directory(axis_, *store_, {}, "t");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, "axis.too_large");
  auto info = store_->agency_directory_info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->count, 1u);
  EXPECT_FALSE(check_recipients(*store_, {"000.00.00.H41"}).ok());
}

}  // namespace
}  // namespace edxgate::workflow
