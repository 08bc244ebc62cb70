// Fuzzes the JSON body parsers of the function operations (src/api/function_json.h):
// CreateFunction, UpdateFunctionConfiguration, UpdateFunctionCode, Put/UpdateFunctionEventInvoke-
// Config, Create/UpdateEventSourceMapping and parseJsonObject under them.
// The body is the client's. The parsers must never crash or throw (an exception escaping here
// is a finding: libFuzzer reports it as a crash), and each error must render as the API's error
// reply (api::errorResponse) without throwing either, whatever bytes its message quotes.
//
// The first input byte picks the operation; the rest is the body.
#include <cstdint>
#include <string_view>

#include "api/error_mapping.h"
#include "api/event_source_mapping_json.h"
#include "api/function_json.h"

namespace {

namespace api = hearth::api;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void render(const hearth::Error& e) {
  require(!e.message.empty());
  const hearth::http::Response res = api::errorResponse(e, "fuzz-request-id");
  require(!res.body().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t op = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (op % 6) {
    case 0: {
      auto in = api::parseCreateFunction(body);
      if (!in) {
        render(in.error());
      } else {
        require(in->settings.role.has_value());
      }
      break;
    }
    case 1: {
      auto in = api::parseUpdateFunctionConfiguration(body);
      if (!in) render(in.error());
      break;
    }
    case 2: {
      auto in = api::parseUpdateFunctionCode(body);
      if (!in) render(in.error());
      break;
    }
    case 3: {
      auto in = api::parseEventInvokeConfig(body);
      if (!in) render(in.error());
      break;
    }
    case 4: {
      auto in = api::parseMapping(body);
      if (!in) render(in.error());
      break;
    }
    default: {
      auto doc = api::parseJsonObject(body);
      if (!doc) {
        render(doc.error());
      } else {
        require(doc->is_object());
        (void)api::optionalInteger(*doc, "MemorySize", "memorySize");
      }
      break;
    }
  }
  return 0;
}
