#include "common/encoding.h"

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "common/time_format.h"

namespace hearth {
namespace {

TEST(Encoding, Base64RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    std::string enc = base64Encode(data);
    auto dec = base64Decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, data);
    data.push_back(char(i * 7));
  }
  EXPECT_EQ(base64Encode("hello"), "aGVsbG8=");
  EXPECT_FALSE(base64Decode("aGVsbG8").has_value());
  EXPECT_FALSE(base64Decode("aGV*bG8=").has_value());
}

TEST(Encoding, Sha256AndHex) {
  EXPECT_EQ(hexEncode(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Encoding, UriEncodeKeepsUnreserved) {
  EXPECT_EQ(uriEncode("arn:aws:lambda/x y~", false), "arn%3Aaws%3Alambda%2Fx%20y~");
  EXPECT_EQ(uriEncode("/a b/c", true), "/a%20b/c");
  EXPECT_EQ(*uriDecode("arn%3Aaws%3aX"), "arn:aws:X");
  EXPECT_FALSE(uriDecode("%4").has_value());
}

TEST(TimeFormat, LambdaTimestamp) {
  SystemTime t{std::chrono::milliseconds(1559934680562)};
  EXPECT_EQ(formatLambdaTimestamp(t), "2019-06-07T19:11:20.562+0000");
  EXPECT_EQ(formatAmzDate(t), "20190607T191120Z");
}

}  // namespace
}  // namespace hearth
