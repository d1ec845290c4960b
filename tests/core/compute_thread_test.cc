// ComputeThread: work handed over from several threads runs on one thread, one
// piece at a time, and its exceptions come back to the caller.
#include "core/ops/compute_thread.h"

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve {
namespace {

TEST(ComputeThreadTest, WorkFromManyThreadsRunsOnOneThreadOneAtATime) {
  ComputeThread compute;
  absl::Mutex mu;
  std::set<std::thread::id> runners;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> runs{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        compute.Run([&] {
          if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
          {
            absl::MutexLock lock(&mu);
            runners.insert(std::this_thread::get_id());
          }
          runs.fetch_add(1);
          inside.fetch_sub(1);
        });
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(runs.load(), 200);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(runners.size(), 1u);
  EXPECT_EQ(runners.count(std::this_thread::get_id()), 0u);
}

TEST(ComputeThreadTest, ExceptionsComeBackToTheCallerAndTheThreadGoesOn) {
  ComputeThread compute;
  EXPECT_THROW(compute.Run([] { throw std::runtime_error("boom"); }),
               std::runtime_error);
  int value = 0;
  compute.Run([&] { value = 7; });
  EXPECT_EQ(value, 7);
}

TEST(ComputeThreadTest, RunFromTheComputeThreadItselfRunsInline) {
  ComputeThread compute;
  std::thread::id outer, inner;
  compute.Run([&] {
    outer = std::this_thread::get_id();
    compute.Run([&] { inner = std::this_thread::get_id(); });
  });
  EXPECT_EQ(outer, inner);
}

TEST(ComputeThreadTest, RunOnNullRunsHere) {
  std::thread::id ran;
  RunOn(nullptr, [&] { ran = std::this_thread::get_id(); });
  EXPECT_EQ(ran, std::this_thread::get_id());
}

}  // namespace
}  // namespace attnserve
