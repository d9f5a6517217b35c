// GET /api/v1/users/USER and `passeur ctl where`: a mail user's node and why.
#include "proxy/admin/user_where.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "proxy/admin/api.h"

namespace proxy::admin {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

Config mail_pools() {
  Config c;
  routing::PoolSettings mail;
  mail.name = "mail";
  mail.affinity = routing::Affinity::User;
  mail.user_key = routing::UserKey::LocalPart;
  mail.nodes = {{"m1", "10.0.0.1:143", 1}, {"m2", "10.0.0.2:143", 1}, {"m3", "10.0.0.3:143", 1}};
  routing::PoolSettings web;
  web.name = "web";
  web.nodes = {{"w1", "10.0.0.1:80", 1}};
  c.pools = {mail, web};
  return c;
}

class UserWhereTest : public ::testing::Test {
 protected:
  UserWhereTest() {
    ctx_.snapshot = snapshot_;
    ctx_.users = &table_;
  }
  Response get(std::string_view target) {
    return handle(Request{"GET", target, {}, "127.0.0.1"}, ctx_);
  }
  routing::Pool& mail() { return *snapshot_->pools()[0]; }

  std::shared_ptr<const Snapshot> snapshot_ =
      std::make_shared<const Snapshot>(mail_pools(), nullptr);
  routing::UserAffinity table_;
  Context ctx_;
};

TEST_F(UserWhereTest, NamesTheNodeAUserWouldGetThenIsOn) {
  auto r = get("/api/v1/users/Alice%40example.coop");
  ASSERT_EQ(r.status, 200u) << r.body;
  json::value v = json::parse(r.body);
  ASSERT_EQ(v.at("pools").as_array().size(), 1u);  // only the pool with user affinity
  const auto& p = v.at("pools").at(0).as_object();
  EXPECT_EQ(p.at("pool").as_string(), "mail");
  EXPECT_EQ(p.at("user_key").as_string(), "alice");
  EXPECT_EQ(p.at("reason").as_string(), "rendezvous");
  EXPECT_EQ(p.at("open_sessions").as_int64(), 0);
  EXPECT_EQ(p.at("order").as_array().size(), 3u);
  const std::string first(p.at("node").as_string());

  routing::UserLease lease = table_.choose("alice", mail().nodes());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease.node()->name(), first);
  v = json::parse(get("/api/v1/users/alice?pool=mail").body);
  const auto& q = v.at("pools").at(0).as_object();
  EXPECT_EQ(q.at("node").as_string(), first);
  EXPECT_EQ(q.at("reason").as_string(), "open sessions");
  EXPECT_EQ(q.at("open_sessions").as_int64(), 1);

  std::string error;
  std::string text = format_user_where(get("/api/v1/users/alice").body, error);
  EXPECT_THAT(text,
              HasSubstr("pool \"mail\": user \"alice\" is on node \"" + first + "\" (10.0.0."));
  EXPECT_THAT(text, HasSubstr("open sessions, 1 open session(s)"));
  EXPECT_THAT(text, HasSubstr("ORDER  NODE"));
}

TEST_F(UserWhereTest, UnknownPoolsAndPoolsWithoutUserAffinity) {
  auto r = get("/api/v1/users/alice?pool=nope");
  EXPECT_EQ(r.status, 404u);
  EXPECT_THAT(r.body, HasSubstr("no pool \\\"nope\\\""));
  r = get("/api/v1/users/alice?pool=web");
  EXPECT_EQ(r.status, 404u);
  EXPECT_THAT(r.body, HasSubstr("has no user affinity"));
  EXPECT_EQ(handle(Request{"POST", "/api/v1/users/alice", {}, "127.0.0.1"}, ctx_).status, 405u);
  ctx_.users = nullptr;
  EXPECT_EQ(get("/api/v1/users/alice").status, 503u);
}

}  // namespace
}  // namespace proxy::admin
