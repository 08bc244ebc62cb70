#include "control/function.h"

#include <nlohmann/json.hpp>

namespace hearth::control {

using nlohmann::json;

namespace {

Result<EventInvokeConfig> decodeEventInvokeConfig(const json& e) {
  const Error corrupt = makeError(ErrorCode::kIo, "corrupt function document (EventInvokeConfig)");
  if (!e.is_object()) return corrupt;
  EventInvokeConfig c;
  auto success = e.find("OnSuccess");
  auto failure = e.find("OnFailure");
  auto ms = e.find("LastModifiedMs");
  if (success == e.end() || !success->is_string() || failure == e.end() || !failure->is_string() ||
      ms == e.end() || !ms->is_number_integer()) {
    return corrupt;
  }
  c.on_success = success->get<std::string>();
  c.on_failure = failure->get<std::string>();
  c.last_modified = fromEpochMillis(ms->get<int64_t>());
  for (auto [key, out] : {std::pair{"MaximumRetryAttempts", &c.max_retries},
                          std::pair{"MaximumEventAgeInSeconds", &c.max_age_s}}) {
    auto it = e.find(key);
    if (it == e.end()) continue;
    if (!it->is_number_unsigned()) return corrupt;
    *out = it->get<uint32_t>();
  }
  return c;
}

Result<ImageConfigOverrides> decodeImageConfig(const json& j) {
  auto corrupt = [] { return makeError(ErrorCode::kIo, "corrupt function document"); };
  if (!j.is_object()) return corrupt();
  ImageConfigOverrides c;
  for (auto [key, target] :
       {std::pair{"EntryPoint", &c.entry_point}, std::pair{"Command", &c.command}}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_array()) return corrupt();
    std::vector<std::string> words;
    for (const json& w : *it) {
      if (!w.is_string()) return corrupt();
      words.push_back(w.get<std::string>());
    }
    *target = std::move(words);
  }
  if (auto it = j.find("WorkingDirectory"); it != j.end()) {
    if (!it->is_string()) return corrupt();
    c.working_directory = it->get<std::string>();
  }
  return c;
}

}  // namespace

std::string encodeFunctionDocument(const Function& f) {
  json j = {
      {"Runtime", f.runtime},
      {"Handler", f.handler},
      {"Role", f.role},
      {"Description", f.description},
      {"MemorySize", f.memory_mb},
      {"Timeout", f.timeout_s},
      {"EphemeralStorage", f.ephemeral_mb},
      {"Environment", f.environment},
      {"CodeId", f.code_id},
      {"CodeSha256", f.code_sha256},
      {"CodeSize", f.code_size},
      {"CodeUnzippedSize", f.code_unzipped_size},
      {"RevisionId", f.revision_id},
      {"LastModifiedMs",
       std::chrono::duration_cast<std::chrono::milliseconds>(f.last_modified.time_since_epoch())
           .count()},
  };
  if (f.reserved_concurrency) j["ReservedConcurrency"] = *f.reserved_concurrency;
  if (f.package_type == "Image") {
    j["PackageType"] = f.package_type;
    j["ImageUri"] = f.image_uri;
    j["ResolvedImageUri"] = f.resolved_image_uri;
    json c = json::object();
    if (f.image_config.entry_point) c["EntryPoint"] = *f.image_config.entry_point;
    if (f.image_config.command) c["Command"] = *f.image_config.command;
    if (f.image_config.working_directory) c["WorkingDirectory"] = *f.image_config.working_directory;
    j["ImageConfig"] = std::move(c);
  }
  if (!f.dead_letter_arn.empty()) j["DeadLetterTargetArn"] = f.dead_letter_arn;
  if (const std::optional<EventInvokeConfig>& c = f.event_invoke_config) {
    json e = {{"OnSuccess", c->on_success},
              {"OnFailure", c->on_failure},
              {"LastModifiedMs", toEpochMillis(c->last_modified)}};
    if (c->max_retries) e["MaximumRetryAttempts"] = *c->max_retries;
    if (c->max_age_s) e["MaximumEventAgeInSeconds"] = *c->max_age_s;
    j["EventInvokeConfig"] = std::move(e);
  }
  return j.dump();
}

Result<Function> decodeFunctionDocument(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return makeError(ErrorCode::kIo, "corrupt function document");
  Function f;
  // Every field is checked for type: a damaged document is an error, never an exception.
  auto str = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto num = [&](const char* key, auto& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) return false;
    out = it->get<std::remove_reference_t<decltype(out)>>();
    return true;
  };
  int64_t modified_ms = 0;
  auto ms = j.find("LastModifiedMs");
  bool ok = str("Runtime", f.runtime) && str("Handler", f.handler) && str("Role", f.role) &&
            str("Description", f.description) && num("MemorySize", f.memory_mb) &&
            num("Timeout", f.timeout_s) && num("EphemeralStorage", f.ephemeral_mb) &&
            str("CodeId", f.code_id) && str("CodeSha256", f.code_sha256) &&
            num("CodeSize", f.code_size) && num("CodeUnzippedSize", f.code_unzipped_size) &&
            str("RevisionId", f.revision_id) && ms != j.end() && ms->is_number_integer();
  auto env = j.find("Environment");
  ok = ok && env != j.end() && env->is_object();
  if (!ok) return makeError(ErrorCode::kIo, "corrupt function document");
  for (auto& [k, v] : env->items()) {
    if (!v.is_string()) return makeError(ErrorCode::kIo, "corrupt function document");
    f.environment[k] = v.get<std::string>();
  }
  modified_ms = ms->get<int64_t>();
  f.last_modified = SystemTime(std::chrono::milliseconds(modified_ms));
  if (auto rc = j.find("ReservedConcurrency"); rc != j.end()) {
    if (!rc->is_number_unsigned()) return makeError(ErrorCode::kIo, "corrupt function document");
    f.reserved_concurrency = rc->get<uint32_t>();
  }
  if (auto package = j.find("PackageType"); package != j.end()) {
    if (!str("PackageType", f.package_type) || f.package_type != "Image" ||
        !str("ImageUri", f.image_uri) || !str("ResolvedImageUri", f.resolved_image_uri)) {
      return makeError(ErrorCode::kIo, "corrupt function document");
    }
    Result<ImageConfigOverrides> c = decodeImageConfig(j["ImageConfig"]);
    if (!c) return c.error();
    f.image_config = std::move(*c);
  }
  if (auto dlq = j.find("DeadLetterTargetArn"); dlq != j.end()) {
    if (!dlq->is_string()) return makeError(ErrorCode::kIo, "corrupt function document");
    f.dead_letter_arn = dlq->get<std::string>();
  }
  if (auto e = j.find("EventInvokeConfig"); e != j.end()) {
    Result<EventInvokeConfig> c = decodeEventInvokeConfig(*e);
    if (!c) return c.error();
    f.event_invoke_config = std::move(*c);
  }
  return f;
}

}  // namespace hearth::control
