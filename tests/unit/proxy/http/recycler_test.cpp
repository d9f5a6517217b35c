#include "proxy/http/recycler.h"

#include <gtest/gtest.h>

#include "proxy/http/message_head.h"

namespace proxy::http {
namespace {

TEST(Recycler, GivesBackTheObjectAReleasedHolderReturned) {
  Recycler<RequestHead> heads;
  RequestHead* first = nullptr;
  {
    auto h = heads.acquire();
    first = h.get();
    h->nfields = 7;
  }
  EXPECT_EQ(heads.free_count(), 1u);
  auto again = heads.acquire();
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(heads.free_count(), 0u);
}

TEST(Recycler, ObjectsInUseAtTheSameTimeAreDistinct) {
  Recycler<ResponseHead> heads;
  auto a = heads.acquire();
  auto b = heads.acquire();
  EXPECT_NE(a.get(), b.get());
}

TEST(Recycler, KeepsAtMostItsLimitAndFreesTheRest) {
  Recycler<int, 2> ints;
  {
    auto a = ints.acquire();
    auto b = ints.acquire();
    auto c = ints.acquire();
  }
  EXPECT_EQ(ints.free_count(), 2u);
}

TEST(Recycler, AReusedHeadParsesAsAFreshOne) {
  Recycler<RequestHead> heads;
  std::string_view big =
      "POST /upload HTTP/1.1\r\nHost: cloud.example.coop\r\nContent-Length: 5\r\n"
      "Expect: 100-continue\r\nX-A: 1\r\nX-B: 2\r\n\r\n";
  std::string_view small = "GET / HTTP/1.0\r\n\r\n";
  {
    auto h = heads.acquire();
    ASSERT_EQ(parse_request_head(big, 8192, *h), HeadStatus::Complete);
  }
  auto h = heads.acquire();
  ASSERT_EQ(parse_request_head(small, 8192, *h), HeadStatus::Complete);
  EXPECT_EQ(h->nfields, 0u);
  EXPECT_TRUE(h->host.empty());
  EXPECT_FALSE(h->content_length.has_value());
  EXPECT_FALSE(h->expect_continue);
  EXPECT_EQ(h->version, 10u);
  EXPECT_EQ(h->method, "GET");
}

}  // namespace
}  // namespace proxy::http
