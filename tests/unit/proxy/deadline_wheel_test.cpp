#include "proxy/deadline_wheel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

namespace proxy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Conn : TrackedConnection {
  int expired = 0;
  void expire() override { ++expired; }
  void stop_gracefully() override {}
};

struct Wheel : ::testing::Test {
  Clock::time_point t0 = Clock::now();
  DeadlineWheel wheel{t0};
  std::vector<Conn*> expired;

  void advance(Clock::duration since_t0) {
    expired.clear();
    wheel.advance(t0 + since_t0, [this](TrackedConnection& c) {
      auto& conn = static_cast<Conn&>(c);
      ++conn.expired;
      expired.push_back(&conn);
    });
  }
};

TEST_F(Wheel, ExpiresAConnectionOnceItsDeadlinePassedNotBefore) {
  Conn c;
  c.track_in(wheel);
  c.set_deadline(t0 + milliseconds(250));
  advance(milliseconds(100));
  EXPECT_TRUE(expired.empty());
  advance(milliseconds(249));
  EXPECT_TRUE(expired.empty());
  advance(milliseconds(250));
  EXPECT_EQ(expired, std::vector<Conn*>{&c});
}

TEST_F(Wheel, ADeadlineMovedLaterIsFollowedWhenItsOldSlotComes) {
  Conn c;
  c.track_in(wheel);
  c.set_deadline(t0 + milliseconds(300));
  c.set_deadline(t0 + seconds(5));  // progress: a store, no refiling
  advance(milliseconds(400));
  EXPECT_TRUE(expired.empty());
  EXPECT_EQ(wheel.filed(), 1u);  // filed again under its new deadline
  advance(milliseconds(4900));
  EXPECT_TRUE(expired.empty());
  advance(milliseconds(5000));
  EXPECT_EQ(expired, std::vector<Conn*>{&c});
}

TEST_F(Wheel, ADeadlineMovedEarlierIsFiledAgainAtOnce) {
  Conn c;
  c.track_in(wheel);
  c.set_deadline(t0 + seconds(60));
  c.set_deadline(t0 + milliseconds(150));
  advance(milliseconds(200));
  EXPECT_EQ(expired, std::vector<Conn*>{&c});
}

TEST_F(Wheel, AnExpiredConnectionIsExpiredAgainWhileItsDeadlineStaysPassed) {
  Conn c;
  c.track_in(wheel);
  c.set_deadline(t0 + milliseconds(50));
  advance(milliseconds(100));
  advance(milliseconds(200));
  advance(milliseconds(300));
  EXPECT_EQ(c.expired, 3);
  c.set_deadline(t0 + seconds(10));  // the session went on with a new deadline
  advance(milliseconds(400));
  EXPECT_EQ(c.expired, 3);
}

TEST_F(Wheel, AClearedDeadlineIsNeverDue) {
  Conn c;
  c.track_in(wheel);
  c.set_deadline(t0 + milliseconds(100));
  c.clear_deadline();
  advance(seconds(200));
  EXPECT_TRUE(expired.empty());
  EXPECT_EQ(wheel.filed(), 0u);
  c.set_deadline(t0 + seconds(201));  // filed again by its next deadline
  advance(seconds(202));
  EXPECT_EQ(expired, std::vector<Conn*>{&c});
}

TEST_F(Wheel, DeadlinesPastTheHorizonWaitAndComeOnTime) {
  Conn c;
  c.track_in(wheel);
  const auto far = DeadlineWheel::kSlot * DeadlineWheel::kSlots * 3 + milliseconds(50);
  c.set_deadline(t0 + far);
  for (auto t = seconds(0); t + seconds(1) < far; t += seconds(1)) {
    advance(t);
    ASSERT_TRUE(expired.empty()) << t.count();
  }
  advance(far);
  EXPECT_EQ(expired, std::vector<Conn*>{&c});
}

TEST_F(Wheel, AConnectionDestroyedLeavesTheWheel) {
  auto c = std::make_unique<Conn>();
  c->track_in(wheel);
  c->set_deadline(t0 + milliseconds(100));
  EXPECT_EQ(wheel.filed(), 1u);
  c.reset();
  EXPECT_EQ(wheel.filed(), 0u);
  advance(seconds(1));
  EXPECT_TRUE(expired.empty());
}

TEST_F(Wheel, ExpireMayDestroyTheConnectionAndOthersDue) {
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < 4; ++i) {
    conns.push_back(std::make_unique<Conn>());
    conns.back()->track_in(wheel);
    conns.back()->set_deadline(t0 + milliseconds(10 * i));
  }
  int calls = 0;
  wheel.advance(t0 + milliseconds(100), [&](TrackedConnection&) {
    ++calls;
    conns.clear();  // the first expiry ends every connection
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(wheel.filed(), 0u);
}

TEST_F(Wheel, ManyConnectionsEachExpiredOnceAtItsTime) {
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < 1000; ++i) {
    conns.push_back(std::make_unique<Conn>());
    conns.back()->track_in(wheel);
    conns.back()->set_deadline(t0 + milliseconds(37 * i));
  }
  for (int step = 1; step <= 400; ++step) {
    advance(milliseconds(100 * step));
    for (Conn* c : expired) c->clear_deadline();  // each session ends at its expiry
  }
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(conns[i]->expired, 1) << i;
}

}  // namespace
}  // namespace proxy
