#include "common/encoding.h"

#include <gtest/gtest.h>

#include <vector>

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

TEST(Encoding, HexDecodeInvertsEncodeAndRefusesNonHex) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(hexDecode(hexEncode(all)), all);
  EXPECT_EQ(hexDecode("DEADbeef"), std::string("\xde\xad\xbe\xef"));
  EXPECT_EQ(hexDecode("abc"), std::nullopt);
  EXPECT_EQ(hexDecode("zz"), std::nullopt);
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
TEST(EncodingTest, Utf8Validation) {
  const std::vector<std::string_view> good = {"",
                                              "plain",
                                              "caf\xc3\xa9",
                                              "\xe2\x82\xac",
                                              "\xf0\x9f\x98\x80",
                                              "\xf4\x8f\xbf\xbf",
                                              std::string_view("\0", 1)};
  for (std::string_view s : good) EXPECT_TRUE(isValidUtf8(s)) << s;
  const std::vector<std::string_view> bad = {"\xff",
                                             "\xc3",
                                             "\xc0\xaf",
                                             "\xe0\x80\xaf",
                                             "\xed\xa0\x80",
                                             "\xf4\x90\x80\x80",
                                             "\xf8\x88\x80\x80\x80",
                                             "a\x80",
                                             "\xe2\x82",
                                             "\xc3\x28"};
  for (std::string_view s : bad) EXPECT_FALSE(isValidUtf8(s)) << s;
}

}  // namespace hearth
