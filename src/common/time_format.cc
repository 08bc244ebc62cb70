#include "common/time_format.h"

#include <cstdio>
#include <ctime>

namespace hearth {
namespace {

std::tm utc(SystemTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

// "2019-06-07T19:11:20.562" followed by `zone`.
std::string formatMillis(SystemTime t, const char* zone) {
  std::tm tm = utc(t);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms), zone);
  return buf;
}

}  // namespace

std::string formatLambdaTimestamp(SystemTime t) { return formatMillis(t, "+0000"); }

std::string formatIsoTimestamp(SystemTime t) { return formatMillis(t, "Z"); }

int64_t toEpochMillis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

SystemTime fromEpochMillis(int64_t ms) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

std::string formatAmzDate(SystemTime t) {
  std::tm tm = utc(t);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string formatLogStreamDate(SystemTime t) {
  std::tm tm = utc(t);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y/%m/%d", &tm);
  return buf;
}

}  // namespace hearth
