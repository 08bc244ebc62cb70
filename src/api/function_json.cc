#include "api/function_json.h"

#include <limits>
#include <map>
#include <utility>

#include "common/encoding.h"
#include "common/time_format.h"
#include "control/function_name.h"

namespace hearth::api {
namespace {

using nlohmann::json;

// A SAX consumer that accepts everything and keeps the parser's description of the first
// error. Used only after a DOM parse failed, to tell the client where its body is broken
// without letting the parser throw.
class ErrorCapture final : public nlohmann::json_sax<json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    // what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    std::string_view what = ex.what();
    size_t close = what.find("] ");
    message_ = std::string(close == std::string_view::npos ? what : what.substr(close + 2));
    return false;
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace

Error typeError(std::string_view path, std::string_view expected) {
  return makeError(ErrorCode::kInvalidParameter,
                   "1 validation error detected: Value at '" + std::string(path) +
                       "' failed to satisfy constraint: Member must be " + std::string(expected));
}

const json* member(const json& obj, std::string_view field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::optional<std::string>> optionalString(const json& obj, std::string_view field,
                                                  std::string_view path) {
  const json* v = member(obj, field);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return typeError(path, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

namespace {

Error missing(std::string_view path) {
  return makeError(ErrorCode::kInvalidParameter,
                   "1 validation error detected: Value null at '" + std::string(path) +
                       "' failed to satisfy constraint: Member must not be null");
}

Result<bool> optionalBool(const json& obj, std::string_view field, std::string_view path) {
  const json* v = member(obj, field);
  if (v == nullptr) return false;
  if (!v->is_boolean()) return typeError(path, "a boolean");
  return v->get<bool>();
}

Result<void> rejectPublish(const json& obj) {
  Result<bool> publish = optionalBool(obj, "Publish", "publish");
  if (!publish) return publish.error();
  if (*publish) {
    return makeError(ErrorCode::kUnsupported,
                     "Publish is not supported yet: Hearth does not publish function versions. "
                     "Omit Publish or set it to false.");
  }
  return {};
}

// Architectures: Lambda allows exactly one; Hearth runs x86_64 only.
Result<void> checkArchitectures(const json& obj) {
  const json* v = member(obj, "Architectures");
  if (v == nullptr) return {};
  if (!v->is_array()) return typeError("architectures", "a list");
  if (v->size() != 1) {
    return makeError(ErrorCode::kInvalidParameter,
                     "1 validation error detected: Value at 'architectures' failed to satisfy "
                     "constraint: Member must have length less than or equal to 1 and greater "
                     "than or equal to 1");
  }
  const json& arch = (*v)[0];
  if (!arch.is_string()) return typeError("architectures", "a list of strings");
  const std::string& name = arch.get_ref<const std::string&>();
  if (name == "x86_64") return {};
  if (name == "arm64") {
    return makeError(ErrorCode::kUnsupported,
                     "Architecture arm64 is not supported: Hearth runs x86_64 functions only.");
  }
  return makeError(ErrorCode::kInvalidParameter,
                   "1 validation error detected: Value '[" + name +
                       "]' at 'architectures' failed to satisfy constraint: Member must satisfy "
                       "constraint: [Member must satisfy enum value set: [x86_64, arm64]]");
}

// The code source of CreateFunction's Code or UpdateFunctionCode's body: ZipFile or ImageUri.
Result<control::CodeSource> codeFrom(const json& obj) {
  if (member(obj, "S3Bucket") != nullptr || member(obj, "S3Key") != nullptr ||
      member(obj, "S3ObjectVersion") != nullptr) {
    return makeError(ErrorCode::kUnsupported,
                     "Code from S3 (S3Bucket/S3Key) is not supported yet: upload the zip "
                     "archive itself as ZipFile.");
  }
  Result<std::optional<std::string>> image = optionalString(obj, "ImageUri", "imageUri");
  if (!image) return image.error();
  Result<std::optional<std::string>> b64 = optionalString(obj, "ZipFile", "zipFile");
  if (!b64) return b64.error();
  if (*image && *b64) {
    return makeError(ErrorCode::kInvalidParameter,
                     "Please provide either ZipFile or ImageUri for function code, not both.");
  }
  if (*image) {
    if ((*image)->empty() || (*image)->size() > 256) {
      return makeError(ErrorCode::kInvalidParameter,
                       "1 validation error detected: Value at 'imageUri' failed to satisfy "
                       "constraint: Member must have length less than or equal to 256");
    }
    return control::CodeSource{"", std::move(**image)};
  }
  if (!*b64) {
    return makeError(ErrorCode::kInvalidParameter,
                     "Please provide a source for function code (ZipFile or ImageUri).");
  }
  std::optional<std::string> zip = base64Decode(**b64);
  if (!zip) {
    return makeError(ErrorCode::kInvalidParameter,
                     "1 validation error detected: Value at 'zipFile' failed to satisfy "
                     "constraint: Member must be valid base64-encoded data");
  }
  return control::CodeSource{std::move(*zip), ""};
}

// ImageConfig {EntryPoint, Command, WorkingDirectory}.
Result<control::ImageConfigOverrides> imageConfigFrom(const json& obj) {
  if (!obj.is_object()) return typeError("imageConfig", "a structure");
  control::ImageConfigOverrides c;
  struct ListField {
    const char* field;
    const char* path;
    std::optional<std::vector<std::string>> control::ImageConfigOverrides::*target;
  };
  for (const ListField& f :
       {ListField{"EntryPoint", "imageConfig.entryPoint",
                  &control::ImageConfigOverrides::entry_point},
        ListField{"Command", "imageConfig.command", &control::ImageConfigOverrides::command}}) {
    const json* v = member(obj, f.field);
    if (v == nullptr) continue;
    if (!v->is_array() || v->size() > 1500) return typeError(f.path, "a list of strings");
    std::vector<std::string> words;
    for (const json& w : *v) {
      if (!w.is_string()) return typeError(f.path, "a list of strings");
      words.push_back(w.get<std::string>());
    }
    c.*f.target = std::move(words);
  }
  Result<std::optional<std::string>> dir =
      optionalString(obj, "WorkingDirectory", "imageConfig.workingDirectory");
  if (!dir) return dir.error();
  if (*dir && ((*dir)->size() > 1000 || (!(*dir)->empty() && (*dir)->front() != '/'))) {
    return makeError(ErrorCode::kInvalidParameter,
                     "1 validation error detected: Value at 'imageConfig.workingDirectory' "
                     "failed to satisfy constraint: Member must be an absolute path of at most "
                     "1000 characters");
  }
  if (*dir && !(*dir)->empty()) c.working_directory = std::move(**dir);
  return c;
}

// The fields CreateFunction and UpdateFunctionConfiguration share.
Result<control::FunctionSettings> parseSettings(const json& obj) {
  control::FunctionSettings s;
  struct StringField {
    std::string_view field;
    std::string_view path;
    std::optional<std::string> control::FunctionSettings::*target;
  };
  for (const StringField& f :
       {StringField{"Runtime", "runtime", &control::FunctionSettings::runtime},
        StringField{"Handler", "handler", &control::FunctionSettings::handler},
        StringField{"Role", "role", &control::FunctionSettings::role},
        StringField{"Description", "description", &control::FunctionSettings::description}}) {
    Result<std::optional<std::string>> v = optionalString(obj, f.field, f.path);
    if (!v) return v.error();
    s.*f.target = std::move(*v);
  }
  Result<std::optional<int64_t>> memory = optionalInteger(obj, "MemorySize", "memorySize");
  if (!memory) return memory.error();
  s.memory_mb = *memory;
  Result<std::optional<int64_t>> timeout = optionalInteger(obj, "Timeout", "timeout");
  if (!timeout) return timeout.error();
  s.timeout_s = *timeout;

  if (const json* eph = member(obj, "EphemeralStorage")) {
    if (!eph->is_object()) return typeError("ephemeralStorage", "a structure");
    Result<std::optional<int64_t>> size = optionalInteger(*eph, "Size", "ephemeralStorage.size");
    if (!size) return size.error();
    if (!*size) return missing("ephemeralStorage.size");
    s.ephemeral_mb = *size;
  }

  if (const json* env = member(obj, "Environment")) {
    if (!env->is_object()) return typeError("environment", "a structure");
    std::map<std::string, std::string> vars;
    if (const json* v = member(*env, "Variables")) {
      if (!v->is_object()) return typeError("environment.variables", "a map");
      for (const auto& [k, value] : v->items()) {
        if (!value.is_string()) return typeError("environment.variables", "a map of strings");
        vars.emplace(k, value.get<std::string>());
      }
    }
    s.environment = std::move(vars);  // present, even empty: replaces the variables
  }

  if (const json* dlq = member(obj, "DeadLetterConfig")) {
    if (!dlq->is_object()) return typeError("deadLetterConfig", "a structure");
    Result<std::optional<std::string>> arn =
        optionalString(*dlq, "TargetArn", "deadLetterConfig.targetArn");
    if (!arn) return arn.error();
    s.dead_letter_arn = arn->value_or("");  // {} (or an empty ARN) removes it, as in Lambda
  }

  if (const json* image = member(obj, "ImageConfig")) {
    Result<control::ImageConfigOverrides> c = imageConfigFrom(*image);
    if (!c) return c.error();
    s.image_config = std::move(*c);
  }

  if (const json* layers = member(obj, "Layers")) {
    if (!layers->is_array()) return typeError("layers", "a list");
    if (!layers->empty()) {
      return makeError(ErrorCode::kUnsupported, "Layers are not supported yet.");
    }
  }
  return s;
}

}  // namespace

nlohmann::json functionConfigurationJson(const control::Function& f, std::string_view region,
                                         std::string_view qualifier) {
  json c = json::object();
  c["FunctionName"] = f.name;
  c["FunctionArn"] = control::functionArn(region, f.account_id, f.name, qualifier);
  if (!f.runtime.empty()) c["Runtime"] = f.runtime;
  c["Role"] = f.role;
  if (!f.handler.empty()) c["Handler"] = f.handler;
  c["CodeSize"] = f.code_size;
  c["Description"] = f.description;
  c["Timeout"] = f.timeout_s;
  c["MemorySize"] = f.memory_mb;
  c["LastModified"] = formatLambdaTimestamp(f.last_modified);
  c["CodeSha256"] = f.code_sha256;
  c["Version"] = f.version;
  if (!f.environment.empty()) c["Environment"] = {{"Variables", f.environment}};
  if (!f.dead_letter_arn.empty()) c["DeadLetterConfig"] = {{"TargetArn", f.dead_letter_arn}};
  c["TracingConfig"] = {{"Mode", "PassThrough"}};
  c["RevisionId"] = f.revision_id;
  c["State"] = "Active";
  c["LastUpdateStatus"] = "Successful";
  c["PackageType"] = f.package_type;
  if (!f.image_config.empty()) {
    json ic = json::object();
    if (f.image_config.entry_point) ic["EntryPoint"] = *f.image_config.entry_point;
    if (f.image_config.command) ic["Command"] = *f.image_config.command;
    if (f.image_config.working_directory)
      ic["WorkingDirectory"] = *f.image_config.working_directory;
    c["ImageConfigResponse"] = {{"ImageConfig", std::move(ic)}};
  }
  c["Architectures"] = json::array({"x86_64"});
  c["EphemeralStorage"] = {{"Size", f.ephemeral_mb}};
  c["SnapStart"] = {{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}};
  c["LoggingConfig"] = {{"LogFormat", "Text"}, {"LogGroup", "/aws/lambda/" + f.name}};
  return c;
}

Result<nlohmann::json> parseJsonObject(std::string_view body) {
  if (body.empty()) return json::object();
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    ErrorCapture capture;
    (void)json::sax_parse(body, &capture);
    return makeError(ErrorCode::kInvalidRequestContent,
                     "Could not parse request body into json: " + capture.message());
  }
  if (!doc.is_object()) {
    return makeError(ErrorCode::kInvalidRequestContent,
                     "Could not parse request body into json: the body must be a JSON object, "
                     "not " +
                         std::string(doc.type_name()));
  }
  return doc;
}

Result<std::optional<int64_t>> optionalInteger(const nlohmann::json& obj, std::string_view field,
                                               std::string_view path) {
  const json* v = member(obj, field);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    return std::optional<int64_t>(static_cast<int64_t>(u > kMax ? kMax : u));
  }
  if (v->is_number_integer()) return std::optional<int64_t>(v->get<int64_t>());
  return typeError(path, "an integer");
}

Result<CreateFunctionInput> parseCreateFunction(std::string_view body) {
  Result<json> doc = parseJsonObject(body);
  if (!doc) return doc.error();
  CreateFunctionInput in;

  Result<std::optional<std::string>> name = optionalString(*doc, "FunctionName", "functionName");
  if (!name) return name.error();
  if (!*name) return missing("functionName");
  in.function_name = std::move(**name);

  Result<control::FunctionSettings> settings = parseSettings(*doc);
  if (!settings) return settings.error();
  in.settings = std::move(*settings);
  if (!in.settings.role) return missing("role");

  Result<std::optional<std::string>> package = optionalString(*doc, "PackageType", "packageType");
  if (!package) return package.error();
  if (*package && **package != "Zip" && **package != "Image") {
    return makeError(ErrorCode::kInvalidParameter,
                     "1 validation error detected: Value '" + **package +
                         "' at 'packageType' failed to satisfy constraint: Member must satisfy "
                         "enum value set: [Zip, Image]");
  }
  HEARTH_TRY(checkArchitectures(*doc));
  HEARTH_TRY(rejectPublish(*doc));

  const json* code = member(*doc, "Code");
  if (code == nullptr) return missing("code");
  if (!code->is_object()) return typeError("code", "a structure");
  Result<control::CodeSource> source = codeFrom(*code);
  if (!source) return source.error();
  const bool image = *package && **package == "Image";
  if (image != source->isImage()) {
    return makeError(ErrorCode::kInvalidParameter,
                     image ? "Please provide ImageUri when creating a function with packageType "
                             "Image."
                           : "Please don't provide ImageUri when creating a function with "
                             "packageType Zip.");
  }
  in.code = std::move(*source);
  return in;
}

Result<UpdateConfigurationInput> parseUpdateFunctionConfiguration(std::string_view body) {
  Result<json> doc = parseJsonObject(body);
  if (!doc) return doc.error();
  UpdateConfigurationInput in;
  Result<control::FunctionSettings> settings = parseSettings(*doc);
  if (!settings) return settings.error();
  in.settings = std::move(*settings);
  Result<std::optional<std::string>> revision = optionalString(*doc, "RevisionId", "revisionId");
  if (!revision) return revision.error();
  in.revision_id = revision->value_or("");
  return in;
}

Result<UpdateCodeInput> parseUpdateFunctionCode(std::string_view body) {
  Result<json> doc = parseJsonObject(body);
  if (!doc) return doc.error();
  UpdateCodeInput in;
  HEARTH_TRY(checkArchitectures(*doc));
  HEARTH_TRY(rejectPublish(*doc));
  Result<bool> dry_run = optionalBool(*doc, "DryRun", "dryRun");
  if (!dry_run) return dry_run.error();
  in.dry_run = *dry_run;
  Result<std::optional<std::string>> revision = optionalString(*doc, "RevisionId", "revisionId");
  if (!revision) return revision.error();
  in.revision_id = revision->value_or("");
  Result<control::CodeSource> source = codeFrom(*doc);
  if (!source) return source.error();
  in.code = std::move(*source);
  return in;
}

Result<control::EventInvokeConfigSettings> parseEventInvokeConfig(std::string_view body) {
  Result<json> obj = parseJsonObject(body);
  if (!obj) return obj.error();
  control::EventInvokeConfigSettings s;
  Result<std::optional<int64_t>> retries =
      optionalInteger(*obj, "MaximumRetryAttempts", "maximumRetryAttempts");
  if (!retries) return retries.error();
  s.max_retries = *retries;
  Result<std::optional<int64_t>> age =
      optionalInteger(*obj, "MaximumEventAgeInSeconds", "maximumEventAgeInSeconds");
  if (!age) return age.error();
  s.max_age_s = *age;
  if (const json* dc = member(*obj, "DestinationConfig")) {
    if (!dc->is_object()) return typeError("destinationConfig", "a structure");
    struct Side {
      const char* field;
      const char* path;
      std::optional<std::string> control::EventInvokeConfigSettings::*target;
    };
    for (const Side& side : {Side{"OnSuccess", "destinationConfig.onSuccess.destination",
                                  &control::EventInvokeConfigSettings::on_success},
                             Side{"OnFailure", "destinationConfig.onFailure.destination",
                                  &control::EventInvokeConfigSettings::on_failure}}) {
      const json* o = member(*dc, side.field);
      if (o == nullptr) continue;
      if (!o->is_object()) return typeError(side.path, "a structure");
      Result<std::optional<std::string>> arn = optionalString(*o, "Destination", side.path);
      if (!arn) return arn.error();
      s.*side.target = arn->value_or("");  // {} removes the destination
    }
  }
  return s;
}

}  // namespace hearth::api
