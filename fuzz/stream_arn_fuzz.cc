// Fuzzes the two parsers of the Redis Streams event source that read untrusted text: the
// EventSourceArn a client names a stream with (eventsources::redis::parseStreamArn) and the entry
// ids a server sends (StreamId::parse), both in src/eventsources/redis/stream.h.
//
// Properties checked:
//   - parseStreamArn: an accepted ARN has its fields in their documented ranges; its canonical
//     form (formatStreamArn) is no longer than the input, parses back to the same StreamArn, and
//     is its own canonical form. A rejected one says why.
//   - StreamId::parse: an accepted id prints back to exactly the input (the form is canonical).
//
// Input layout: the first byte's low bit picks the parser; the rest is its input.
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "eventsources/redis/stream.h"

namespace {

namespace redis = hearth::eventsources::redis;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void fuzzArn(const std::string& input) {
  hearth::Result<redis::StreamArn> arn = redis::parseStreamArn(input);
  if (!arn) {
    require(arn.error().code == hearth::ErrorCode::kInvalidParameter);
    require(!arn.error().message.empty());
    return;
  }
  require(arn->port != 0 && arn->db <= 2147483647u);
  require(!arn->key.empty() && arn->key.size() <= redis::kMaxStreamKeyBytes);
  require(!arn->host.empty());
  const std::string canonical = redis::formatStreamArn(*arn);
  require(canonical.size() <= input.size());
  hearth::Result<redis::StreamArn> again = redis::parseStreamArn(canonical);
  require(again.ok());
  require(*again == *arn);
  require(redis::formatStreamArn(*again) == canonical);
}

void fuzzId(const std::string& input) {
  hearth::Result<redis::StreamId> id = redis::StreamId::parse(input);
  if (id) require(id->toString() == input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const bool arn = fdp.ConsumeBool();
  const std::string input = fdp.ConsumeRemainingBytesAsString();
  if (arn) {
    fuzzArn(input);
  } else {
    fuzzId(input);
  }
  return 0;
}
