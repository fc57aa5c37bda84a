// base/memory.h: the resident size is read, and a trim gives back what a
// burst of allocations freed.
#include "edxgate/base/memory.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <memory>
#include <vector>

namespace edxgate {
namespace {

TEST(Memory, ResidentSizeIsReadFromProc) {
  const size_t r = resident_bytes();
  EXPECT_GT(r, 1u << 20);    // a test binary holds more than 1 MB
  EXPECT_LT(r, 4ull << 30);  // and less than 4 GB
}

TEST(Memory, TrimGivesBackFreedHeap) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's allocator keeps freed memory in quarantine";
#else
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);  // small blocks come from the heap, as requests' do
  const size_t before = resident_bytes();
  {
    std::vector<std::unique_ptr<char[]> > blocks;
    for (int i = 0; i < 4096; ++i) {
      blocks.emplace_back(new char[16 * 1024]);
      for (int j = 0; j < 16 * 1024; j += 4096) blocks.back()[j] = 1;  // touch every page
    }
    EXPECT_GT(resident_bytes(), before + (32u << 20));
    // Freed in an order that leaves the top of the heap in use: glibc's own
    // trimming at free() returns only the top; malloc_trim returns the rest.
    for (size_t i = 0; i + 1 < blocks.size(); ++i) blocks[i].reset();
    const size_t freed = resident_bytes();
    const size_t after = HeapTrimmer::trim();
    EXPECT_LT(after + (32u << 20), freed) << "before " << before << " freed " << freed << " after " << after;
  }
#endif
}

TEST(Memory, TheTrimmerStopsPromptly) {
  const auto t0 = std::chrono::steady_clock::now();
  { HeapTrimmer t(std::chrono::seconds(30)); }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
}  // namespace edxgate
