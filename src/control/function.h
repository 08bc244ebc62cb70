// A function as the control plane keeps it: one version's configuration and code reference.
// Immutable once published to readers (FunctionService hands out shared_ptr<const Function>).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/time_format.h"

namespace hearth::control {

// Lambda's EventInvokeConfig of a function: its retry and age limits for asynchronous events
// (absent: Lambda's defaults) and the destinations of their outcomes (ARNs; empty for none).
struct EventInvokeConfig {
  std::optional<uint32_t> max_retries;
  std::optional<uint32_t> max_age_s;
  std::string on_success;
  std::string on_failure;
  SystemTime last_modified{};
  bool operator==(const EventInvokeConfig&) const = default;
};

// An image function's ImageConfig: what replaces the image's own Entrypoint, Cmd and WorkingDir
// (each absent: the image's stands).
struct ImageConfigOverrides {
  std::optional<std::vector<std::string>> entry_point;
  std::optional<std::vector<std::string>> command;
  std::optional<std::string> working_directory;
  bool empty() const { return !entry_point && !command && !working_directory; }
  bool operator==(const ImageConfigOverrides&) const = default;
};

struct Function {
  std::string account_id;
  std::string name;
  std::string version = "$LATEST";
  std::string runtime;
  std::string handler;
  std::string role;
  std::string description;
  uint32_t memory_mb = 128;
  uint32_t timeout_s = 3;
  uint32_t ephemeral_mb = 512;
  std::map<std::string, std::string> environment;
  std::string package_type = "Zip";  // "Zip" or "Image"
  // Code: the code store's id, and what FunctionConfiguration reports about it.
  std::string code_id;
  std::string code_sha256;  // base64 of the zip's SHA-256; an image's manifest digest in hex
  uint64_t code_size = 0;
  uint64_t code_unzipped_size = 0;
  // Image functions: the ImageUri as given, what it resolved to, and the overrides.
  std::string image_uri;
  std::string resolved_image_uri;
  ImageConfigOverrides image_config;
  std::string revision_id;
  SystemTime last_modified{};
  std::optional<uint32_t> reserved_concurrency;
  // DeadLetterConfig.TargetArn; empty for none.
  std::string dead_letter_arn;
  std::optional<EventInvokeConfig> event_invoke_config;
};

// The persisted document (docs/formats/metadata.md, "function document").
std::string encodeFunctionDocument(const Function& f);
Result<Function> decodeFunctionDocument(std::string_view json);

}  // namespace hearth::control
