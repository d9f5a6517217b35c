#include "proxy/metrics/exposition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "routing/node_state.h"

namespace proxy::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A snapshot of one pool with two nodes, counted by two workers.
struct Fixture {
  Fixture() {
    Config c;
    routing::PoolSettings p;
    p.name = "cloud";
    p.nodes = {{"node1", "10.0.0.11:8081", 1}, {"node2", "10.0.0.12:8081", 1}};
    c.pools = {p};
    snap = std::make_shared<const Snapshot>(std::move(c), nullptr, 2);
  }
  routing::Node& node(size_t i) { return *snap->pools()[0]->nodes()[i]; }
  std::string text() {
    ReloadStats reloads;
    reloads.success = 3;
    reloads.failure = 1;
    reloads.last_ok = false;
    return render(Sources{.snapshot = snap, .reloads = &reloads, .start_unix = 1'700'000'000});
  }
  std::shared_ptr<const Snapshot> snap;
};

TEST(Exposition, SumsTheWorkersCounters) {
  Fixture f;
  f.node(0).traffic(0).responses[1].add(5);  // 2xx on worker 0
  f.node(0).traffic(1).responses[1].add(7);  // and on worker 1
  f.node(0).traffic(1).responses[4].add(1);  // one 5xx
  f.node(1).traffic(0).connect_errors[static_cast<size_t>(routing::ConnectError::Refused)].add(2);
  f.node(0).traffic(0).connections.add(3);
  f.node(0).traffic(1).connections.add(-1);  // summed with the other worker's share
  std::string t = f.text();
  EXPECT_THAT(
      t, HasSubstr("passeur_node_requests_total{pool=\"cloud\",node=\"node1\",code=\"2xx\"} 12\n"));
  EXPECT_THAT(
      t, HasSubstr("passeur_node_requests_total{pool=\"cloud\",node=\"node1\",code=\"5xx\"} 1\n"));
  EXPECT_THAT(
      t, HasSubstr("passeur_node_requests_total{pool=\"cloud\",node=\"node2\",code=\"2xx\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("passeur_node_connect_errors_total{pool=\"cloud\",node=\"node2\",reason="
                           "\"refused\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("passeur_node_connections_active{pool=\"cloud\",node=\"node1\"} 2\n"));
}

TEST(Exposition, HistogramBucketsAreCumulativeInSeconds) {
  Fixture f;
  using std::chrono::milliseconds;
  f.node(0).traffic(0).total_time.observe(milliseconds(3));           // le 0.005
  f.node(0).traffic(1).total_time.observe(milliseconds(3));           // le 0.005, other worker
  f.node(0).traffic(1).total_time.observe(milliseconds(200));         // le 0.25
  f.node(0).traffic(0).total_time.observe(std::chrono::seconds(60));  // +Inf only
  std::string t = f.text();
  const std::string h =
      "passeur_node_request_duration_seconds_bucket{pool=\"cloud\",node=\"node1\",";
  EXPECT_THAT(t, HasSubstr(h + "le=\"0.0025\"} 0\n"));
  EXPECT_THAT(t, HasSubstr(h + "le=\"0.005\"} 2\n"));
  EXPECT_THAT(t, HasSubstr(h + "le=\"0.1\"} 2\n"));
  EXPECT_THAT(t, HasSubstr(h + "le=\"0.25\"} 3\n"));
  EXPECT_THAT(t, HasSubstr(h + "le=\"30\"} 3\n"));
  EXPECT_THAT(t, HasSubstr(h + "le=\"+Inf\"} 4\n"));
  EXPECT_THAT(
      t,
      HasSubstr("passeur_node_request_duration_seconds_count{pool=\"cloud\",node=\"node1\"} 4\n"));
  EXPECT_THAT(
      t, HasSubstr(
             "passeur_node_request_duration_seconds_sum{pool=\"cloud\",node=\"node1\"} 60.206\n"));
}

TEST(Exposition, NodeStateAsOneHotGauges) {
  Fixture f;
  auto now = routing::Clock::clock::now();
  routing::mark_down(f.node(1), "test", now);
  routing::set_admin(f.node(0), routing::Admin::Draining, "test", now);
  std::string t = f.text();
  EXPECT_THAT(t,
              HasSubstr("passeur_node_health{pool=\"cloud\",node=\"node2\",state=\"down\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("passeur_node_health{pool=\"cloud\",node=\"node2\",state=\"up\"} 0\n"));
  EXPECT_THAT(
      t,
      HasSubstr("passeur_node_admin_state{pool=\"cloud\",node=\"node1\",state=\"draining\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("passeur_node_usable{pool=\"cloud\",node=\"node1\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("passeur_node_usable{pool=\"cloud\",node=\"node2\"} 0\n"));
  EXPECT_THAT(
      t,
      HasSubstr(
          "passeur_node_state_changes_total{pool=\"cloud\",node=\"node2\",axis=\"health\"} 1\n"));
}

TEST(Exposition, ChecksReloadsBuildAndProcess) {
  Fixture f;
  f.node(0).checks().record(routing::CheckOutcome::Timeout, "timeout while connecting",
                            std::chrono::milliseconds(1000), 1);
  std::string t = f.text();
  EXPECT_THAT(
      t,
      HasSubstr("passeur_node_checks_total{pool=\"cloud\",node=\"node1\",result=\"timeout\"} 1\n"));
  EXPECT_THAT(
      t, HasSubstr("passeur_node_check_duration_seconds_count{pool=\"cloud\",node=\"node1\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("passeur_config_reloads_total{result=\"success\"} 3\n"));
  EXPECT_THAT(t, HasSubstr("passeur_config_reloads_total{result=\"failure\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("passeur_config_last_reload_successful 0\n"));
  EXPECT_THAT(t, HasSubstr("passeur_build_info{version=\"" PASSEUR_VERSION "\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_THAT(t, HasSubstr("process_open_fds "));
  EXPECT_THAT(t, Not(HasSubstr("process_open_fds 0\n")));
  // Nodes that were never changed report the process start as their last change.
  EXPECT_THAT(t, HasSubstr("passeur_node_last_change_timestamp_seconds{pool=\"cloud\",node="
                           "\"node1\"} 1700000000\n"));
}

}  // namespace
}  // namespace proxy::metrics
