// Tests for guest memory bounds (no KVM needed) and, where /dev/kvm works, the real-mode test
// guests and the speed probe.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vmm/kvm/kvm.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/probe.h"

namespace hearth::vmm {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kMemBytes = 64 * 1024;

TEST(GuestMemoryTest, RejectsBadSizes) {
  EXPECT_FALSE(GuestMemory::create(0).ok());
  EXPECT_FALSE(GuestMemory::create(4097).ok());
  auto m = GuestMemory::create(4096);
  ASSERT_TRUE(m.ok()) << m.error().toString();
  EXPECT_EQ(m->size(), 4096u);
}

TEST(GuestMemoryTest, ReadWriteInRange) {
  auto m = GuestMemory::create(kMemBytes);
  ASSERT_TRUE(m.ok()) << m.error().toString();
  const std::array<uint8_t, 4> in{1, 2, 3, 4};
  ASSERT_TRUE(m->write(0x100, in).ok());
  std::array<uint8_t, 6> out{};
  ASSERT_TRUE(m->read(0xff, out).ok());
  EXPECT_EQ(out, (std::array<uint8_t, 6>{0, 1, 2, 3, 4, 0}));  // fresh memory is zero

  // The very last byte, and empty ranges up to and including the end.
  ASSERT_TRUE(m->write(kMemBytes - 1, std::span<const uint8_t>(in.data(), 1)).ok());
  std::array<uint8_t, 1> last{};
  ASSERT_TRUE(m->read(kMemBytes - 1, last).ok());
  EXPECT_EQ(last[0], 1);
  EXPECT_TRUE(m->checkRange(kMemBytes, 0).ok());
  EXPECT_TRUE(m->checkRange(0, kMemBytes).ok());
}

TEST(GuestMemoryTest, OutOfRangeFailsAndTouchesNothing) {
  auto m = GuestMemory::create(kMemBytes);
  ASSERT_TRUE(m.ok()) << m.error().toString();
  const std::array<uint8_t, 4> in{9, 9, 9, 9};
  // Straddling the end: nothing may be written, not even the in-range part.
  auto r = m->write(kMemBytes - 2, in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_NE(r.error().message.find("outside guest memory"), std::string::npos) << r.error().message;
  std::array<uint8_t, 2> tail{};
  ASSERT_TRUE(m->read(kMemBytes - 2, tail).ok());
  EXPECT_EQ(tail, (std::array<uint8_t, 2>{0, 0}));

  std::array<uint8_t, 1> out{};
  EXPECT_FALSE(m->read(kMemBytes, out).ok());
  EXPECT_FALSE(m->checkRange(kMemBytes + 1, 0).ok());
  EXPECT_FALSE(m->checkRange(0, kMemBytes + 1).ok());
}

TEST(GuestMemoryTest, AddressPlusLengthOverflowIsOutOfRange) {
  auto m = GuestMemory::create(kMemBytes);
  ASSERT_TRUE(m.ok()) << m.error().toString();
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  // gpa + len wraps to a small number that a naive `gpa + len <= size` check would accept.
  EXPECT_FALSE(m->checkRange(0x10, kMax).ok());
  EXPECT_FALSE(m->checkRange(kMax, 2).ok());
  EXPECT_FALSE(m->checkRange(kMax, 0).ok());
  std::array<uint8_t, 16> out{};
  EXPECT_FALSE(m->read(kMax - 7, out).ok());
}

TEST(GuestMemoryTest, MoveTransfersOwnership) {
  auto m = GuestMemory::create(kMemBytes);
  ASSERT_TRUE(m.ok());
  const std::array<uint8_t, 1> in{7};
  ASSERT_TRUE(m->write(5, in).ok());
  GuestMemory moved = std::move(*m);
  std::array<uint8_t, 1> out{};
  ASSERT_TRUE(moved.read(5, out).ok());
  EXPECT_EQ(out[0], 7);
  EXPECT_EQ(m->size(), 0u);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_FALSE(m->read(0, out).ok());  // NOLINT(bugprone-use-after-move)
}

TEST(CountedLoopGuestTest, EncodesTheDocumentedBytes) {
  const GuestProgram g = countedLoopGuest(0x01020304, 0xf4, 0x42);
  const std::vector<uint8_t> want{0x66, 0xB9, 0x04, 0x03, 0x02, 0x01, 0x66, 0x49,
                                  0x75, 0xFC, 0xB0, 0x42, 0xE6, 0xF4, 0xF4};
  EXPECT_EQ(g.code, want);
  EXPECT_EQ(g.instructions, 2ull * 0x01020304 + 3);
}

TEST(ProbeTest, MissingDeviceIsAReportNotAnError) {
  ProbeOptions options;
  options.kvm_path = "/nonexistent/kvm";
  auto report = runProbe(options);
  ASSERT_TRUE(report.ok()) << report.error().toString();
  EXPECT_FALSE(report->kvm);
  EXPECT_FALSE(report->hardware_accelerated);
  EXPECT_NE(report->reason.find("/nonexistent/kvm"), std::string::npos) << report->reason;
  const auto json = nlohmann::json::parse(probeReportToJson(*report), nullptr, false);
  ASSERT_FALSE(json.is_discarded());
  EXPECT_EQ(json["kvm"], false);
  EXPECT_EQ(json["hardware_accelerated"], false);
  EXPECT_FALSE(json.contains("instructions_per_second")) << json.dump();
  EXPECT_EQ(json["reason"], report->reason);
}

// Fixture for tests that run guests: skips with the reason when /dev/kvm cannot be used.
class KvmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kvm = Kvm::open();
    if (!kvm) GTEST_SKIP() << "needs a usable /dev/kvm: " << kvm.error().toString();
    kvm_.emplace(std::move(*kvm));
  }
  std::optional<Kvm> kvm_;
};

TEST_F(KvmTest, ProbeMeasuresAPositiveRateForTheExactLoop) {
  ProbeOptions options;
  options.iterations = 50'000;
  auto report = runProbe(options);
  ASSERT_TRUE(report.ok()) << report.error().toString();
  ASSERT_TRUE(report->kvm) << report->reason;
  EXPECT_EQ(report->loop_instructions, 100'003u);
  EXPECT_GT(report->instructions_per_second, 0);
  EXPECT_GT(report->elapsed.count(), 0);
  EXPECT_EQ(report->hardware_accelerated,
            report->instructions_per_second >= kHardwareInstructionsPerSecond);
  const auto json = nlohmann::json::parse(probeReportToJson(*report), nullptr, false);
  ASSERT_FALSE(json.is_discarded());
  EXPECT_EQ(json["kvm"], true);
  EXPECT_EQ(json["loop_instructions"], 100'003);
  EXPECT_GT(json["instructions_per_second"].get<double>(), 0);
  EXPECT_GT(json["elapsed_ms"].get<double>(), 0);
}

TEST_F(KvmTest, GuestByteReachesTheVmm) {
  const GuestProgram g = countedLoopGuest(1, 0xf4, 0xA5);
  auto run = runRealModeGuest(*kvm_, g.code, 0xf4, milliseconds(5000));
  ASSERT_TRUE(run.ok()) << run.error().toString();
  EXPECT_EQ(run->out_value, 0xA5);

  const GuestProgram g2 = countedLoopGuest(3, 0xf4, 0x00);
  auto run2 = runRealModeGuest(*kvm_, g2.code, 0xf4, milliseconds(5000));
  ASSERT_TRUE(run2.ok()) << run2.error().toString();
  EXPECT_EQ(run2->out_value, 0x00);
}

TEST_F(KvmTest, OutToAnotherPortIsAnError) {
  const GuestProgram g = countedLoopGuest(1, 0x80, 0x11);
  auto run = runRealModeGuest(*kvm_, g.code, 0xf4, milliseconds(5000));
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, ErrorCode::kSandbox);
  EXPECT_NE(run.error().message.find("port 0x80"), std::string::npos) << run.error().message;
}

TEST_F(KvmTest, HltIsAnError) {
  const std::array<uint8_t, 1> hlt{0xF4};
  auto run = runRealModeGuest(*kvm_, hlt, 0xf4, milliseconds(5000));
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().message.find("KVM_EXIT_HLT"), std::string::npos) << run.error().message;
}

TEST_F(KvmTest, HungGuestIsStoppedByTheWatchdog) {
  const std::array<uint8_t, 2> spin{0xEB, 0xFE};  // l: jmp l
  const auto start = std::chrono::steady_clock::now();
  auto run = runRealModeGuest(*kvm_, spin, 0xf4, milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().message.find("did not exit within 300 ms"), std::string::npos)
      << run.error().message;
  EXPECT_LT(took, std::chrono::seconds(3));
}

}  // namespace
}  // namespace hearth::vmm
