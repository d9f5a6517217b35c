#include "proxy/admin/ctl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/admin/api.h"
#include "proxy/admin/json_text.h"
#include "routing/node_state.h"

namespace proxy::admin {
namespace {

using ::testing::HasSubstr;

TEST(CtlFormat, Age) {
  EXPECT_EQ(format_age(0.4), "0s");
  EXPECT_EQ(format_age(59.9), "59s");
  EXPECT_EQ(format_age(60), "1m00s");
  EXPECT_EQ(format_age(3599), "59m59s");
  EXPECT_EQ(format_age(3600 * 5 + 61), "5h01m");
  EXPECT_EQ(format_age(86400 * 2 + 3600 * 4), "2d04h");
  EXPECT_EQ(format_age(-1), "0s");
}

TEST(CtlFormat, PoolsTableFromTheApisJson) {
  Config c;
  routing::PoolSettings p;
  p.name = "cloud";
  p.nodes = {{"node1", "10.0.0.11:8081", 2}, {"node-two", "10.0.0.12:8081", 1}};
  c.pools = {p};
  Snapshot snap(std::move(c), nullptr);
  auto now = routing::Clock::time_point(std::chrono::hours(10));
  routing::Node& n2 = *snap.pools()[0]->nodes()[1];
  routing::set_admin(n2, routing::Admin::Draining, "admin API from 127.0.0.1",
                     now - std::chrono::seconds(75));
  routing::NodeLease lease(&n2);
  n2.set_ramp(routing::Node::kFullRamp / 2);
  const auto unix_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  snap.pools()[0]->nodes()[0]->checks().record(routing::CheckOutcome::Ok, "HTTP 200",
                                               std::chrono::milliseconds(2), unix_now - 5000);

  Context ctx;
  ctx.snapshot = std::shared_ptr<const Snapshot>(&snap, [](const Snapshot*) {});
  ctx.now = now;
  auto r = handle(Request{"GET", "/api/v1/pools", "", ""}, ctx);
  std::string error;
  std::string table = format_pools_table(r.body, error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(table,
            "POOL   NODE      ADDRESS         HEALTH  ADMIN     WEIGHT   IN_FLIGHT  USABLE  "
            "LAST CHECK  LAST CHANGE\n"
            "cloud  node1     10.0.0.11:8081  up      active    2        0          yes     "
            "ok 5s ago   -\n"
            "cloud  node-two  10.0.0.12:8081  up      draining  1 (0.5)  1          no      "
            "-           1m15s ago: admin API from 127.0.0.1\n");

  // One pool's JSON gives the same rows.
  auto one = handle(Request{"GET", "/api/v1/pools/cloud", "", ""}, ctx);
  EXPECT_EQ(format_pools_table(one.body, error), table);
}

TEST(CtlFormat, NotPoolsJson) {
  std::string error;
  EXPECT_EQ(format_pools_table("<html>", error), "");
  EXPECT_EQ(error, "the answer is not JSON");
  EXPECT_EQ(format_pools_table("{\"error\":\"x\"}", error), "");
  EXPECT_EQ(error, "the answer holds no pools");
}

}  // namespace
}  // namespace proxy::admin
