// The chunked, encrypted code store. Formats and the crash-safety argument:
// docs/formats/code-store.md.
#include "codestore/chunked_code_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>

#include "codestore/chunk_reader.h"
#include "codestore/cipher.h"
#include "codestore/local_blob_store.h"
#include "codestore/oci/image_pull.h"
#include "codestore/zip_archive.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/ids.h"

namespace hearth::codestore {
namespace {

namespace fs = std::filesystem;
using store::sqlite::bindBlob;
using store::sqlite::bindInt;
using store::sqlite::bindText;
using store::sqlite::collectRows;
using store::sqlite::columnBlob;
using store::sqlite::columnText;
using store::sqlite::sqliteError;
using store::sqlite::StmtScope;

constexpr int32_t kApplicationId = 0x48434f44;  // "HCOD"
constexpr std::string_view kManifestMagic = "HMF1";

constexpr std::array<std::string_view, 1> kMigrations = {
    // 0 → 1: objects, chunks and the references between them.
    R"sql(
      CREATE TABLE objects (
        id             TEXT NOT NULL PRIMARY KEY,
        account_id     TEXT NOT NULL,
        scope          TEXT NOT NULL,
        kind           TEXT NOT NULL,
        source_sha256  TEXT NOT NULL,
        source_bytes   INTEGER NOT NULL,
        file_bytes     INTEGER NOT NULL,
        manifest       TEXT NOT NULL,
        manifest_bytes INTEGER NOT NULL,
        key_id         INTEGER NOT NULL,
        wrapped_key    BLOB NOT NULL,
        created_ms     INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE chunks (
        id    BLOB NOT NULL PRIMARY KEY,
        bytes INTEGER NOT NULL,
        refs  INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX chunks_unreferenced ON chunks (id) WHERE refs = 0;
      CREATE TABLE object_chunks (
        object TEXT NOT NULL,
        chunk  BLOB NOT NULL,
        PRIMARY KEY (object, chunk)
      ) STRICT, WITHOUT ROWID;
    )sql",
};

enum Stmt : size_t {
  kSelectObject,
  kSelectObjectKey,
  kInsertObject,
  kAddChunkRef,
  kInsertObjectChunk,
  kSelectChunkRefs,
  kSelectObjectChunks,
  kDropChunkRef,
  kDeleteObjectChunks,
  kDeleteObject,
  kDeleteChunk,
  kSelectObjectIds,
  kSelectManifests,
  kSelectChunkIds,
  kSelectUnreferenced,
  kSelectKeys,
  kUpdateKey,
  kUsageObjects,
  kUsageChunks,
  kStmtCount,
};

constexpr std::array<std::string_view, kStmtCount> kStatementSql = {
    // kSelectObject
    "SELECT source_sha256, source_bytes, file_bytes FROM objects WHERE id = ?1",
    // kSelectObjectKey
    "SELECT key_id, wrapped_key, manifest FROM objects WHERE id = ?1",
    // kInsertObject
    "INSERT INTO objects (id, account_id, scope, kind, source_sha256, source_bytes, file_bytes, "
    "manifest, manifest_bytes, key_id, wrapped_key, created_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    // kAddChunkRef
    "INSERT INTO chunks (id, bytes, refs) VALUES (?1, ?2, 1) "
    "ON CONFLICT (id) DO UPDATE SET refs = refs + 1",
    // kInsertObjectChunk
    "INSERT INTO object_chunks (object, chunk) VALUES (?1, ?2)",
    // kSelectChunkRefs
    "SELECT refs FROM chunks WHERE id = ?1",
    // kSelectObjectChunks
    "SELECT chunk FROM object_chunks WHERE object = ?1",
    // kDropChunkRef
    "UPDATE chunks SET refs = refs - 1 WHERE id = ?1",
    // kDeleteObjectChunks
    "DELETE FROM object_chunks WHERE object = ?1",
    // kDeleteObject
    "DELETE FROM objects WHERE id = ?1",
    // kDeleteChunk
    "DELETE FROM chunks WHERE id = ?1 AND refs = 0",
    // kSelectObjectIds
    "SELECT id FROM objects",
    // kSelectManifests
    "SELECT manifest FROM objects",
    // kSelectChunkIds
    "SELECT id FROM chunks",
    // kSelectUnreferenced
    "SELECT id FROM chunks WHERE refs = 0",
    // kSelectKeys
    "SELECT id, key_id, wrapped_key FROM objects",
    // kUpdateKey
    "UPDATE objects SET key_id = ?2, wrapped_key = ?3 WHERE id = ?1",
    // kUsageObjects
    "SELECT account_id, COUNT(*), SUM(file_bytes), SUM(manifest_bytes) FROM objects "
    "GROUP BY account_id ORDER BY account_id",
    // kUsageChunks: each chunk counted once per account that uses it.
    "SELECT u.account_id, SUM(c.bytes) FROM "
    "(SELECT DISTINCT o.account_id AS account_id, oc.chunk AS chunk FROM objects o "
    "JOIN object_chunks oc ON oc.object = o.id) u JOIN chunks c ON c.id = u.chunk "
    "GROUP BY u.account_id",
};

std::string_view bytesOf(const ChunkId& id) {
  return {reinterpret_cast<const char*>(id.data()), id.size()};
}

ChunkId chunkIdOf(std::string_view bytes) {
  ChunkId id{};
  if (bytes.size() == id.size()) std::memcpy(id.data(), bytes.data(), id.size());
  return id;
}

std::string manifestAad(const std::string& object_id) {
  return std::string("hearth-manifest") + '\0' + object_id;
}
std::string dataKeyAad(const std::string& object_id) {
  return std::string("hearth-data-key") + '\0' + object_id;
}

// The object id: a keyed hash, so equal uploads to one account share an object and nothing
// about the upload is revealed to whoever reads the index.
std::string objectId(std::string_view salt, const std::string& account, std::string_view kind,
                     const Sha256Digest& source) {
  std::string input = "hearth-object";
  for (std::string_view part :
       {std::string_view(account), kind,
        std::string_view(reinterpret_cast<const char*>(source.data()), source.size())}) {
    input.push_back('\0');
    input += part;
  }
  return hexEncode(hmacSha256(salt, input));
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<void> step(sqlite3_stmt* stmt, std::string_view what) {
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sqliteError(sqlite3_db_handle(stmt), rc, what);
  return {};
}

// Runs `body` in a transaction on `db`: committed if it succeeds, rolled back if not.
template <typename Body>
Result<void> transaction(const store::sqlite::Database& db, Body body) {
  HEARTH_TRY(db.exec("BEGIN IMMEDIATE", "starting a code index transaction"));
  Result<void> done = body();
  if (done) done = db.exec("COMMIT", "committing a code index transaction");
  if (!done) sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  return done;
}

Result<std::vector<std::string>> selectColumn(const store::sqlite::Database& db, Stmt s,
                                              bool blob) {
  sqlite3_stmt* stmt = db.stmt(s);
  StmtScope scope(stmt);
  std::vector<std::string> out;
  HEARTH_TRY(collectRows(
      stmt, out, [blob](sqlite3_stmt* st) { return blob ? columnBlob(st, 0) : columnText(st, 0); },
      "listing the code index"));
  return out;
}

Result<store::sqlite::Database> openIndex(const fs::path& dir) {
  return store::sqlite::Database::open(
      (dir / "index.db").string(), store::sqlite::Schema{"code index", kApplicationId, kMigrations},
      kStatementSql);
}

Result<std::vector<CodeUsage>> queryUsage(const store::sqlite::Database& db) {
  std::vector<CodeUsage> usage;
  {
    sqlite3_stmt* stmt = db.stmt(kUsageObjects);
    StmtScope scope(stmt);
    HEARTH_TRY(collectRows(
        stmt, usage,
        [](sqlite3_stmt* st) {
          CodeUsage u;
          u.account_id = columnText(st, 0);
          u.objects = static_cast<uint64_t>(sqlite3_column_int64(st, 1));
          u.logical_bytes = static_cast<uint64_t>(sqlite3_column_int64(st, 2));
          u.stored_bytes = static_cast<uint64_t>(sqlite3_column_int64(st, 3));
          return u;
        },
        "summing code objects"));
  }
  sqlite3_stmt* stmt = db.stmt(kUsageChunks);
  StmtScope scope(stmt);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string account = columnText(stmt, 0);
    for (CodeUsage& u : usage) {
      if (u.account_id == account)
        u.stored_bytes += static_cast<uint64_t>(sqlite3_column_int64(stmt, 1));
    }
  }
  if (rc != SQLITE_DONE) return sqliteError(db.handle(), rc, "summing chunks");
  return usage;
}

// Readers of one zip upload: the host's cores, up to four (inflating is most of an upload).
unsigned ingestThreads() { return std::clamp(std::thread::hardware_concurrency(), 1u, 4u); }

}  // namespace

TreeRules imageTreeRules(const std::string& uri) {
  TreeRules rules;
  rules.symlinks = SymlinkPolicy::kRootedTree;
  rules.replace_allowed = true;
  rules.max_file_bytes = kMaxImageBytes;
  rules.max_entries = kMaxImageEntries;
  rules.refusal_code = ErrorCode::kInvalidParameter;
  rules.archive = "Source image " + uri;
  rules.too_big = makeError(ErrorCode::kInvalidParameter,
                            "Source image " + uri + " is larger than " +
                                std::to_string(kMaxImageBytes) + " bytes unpacked");
  return rules;
}

// The ChunkSink of one upload: seals chunks, pins them, and writes those the store lacks.
// Destroying it unpins everything; if the upload did not commit, chunks nobody else needs are
// collected at once.
class ChunkedCodeStore::Upload final : public ChunkSink {
 public:
  Upload(ChunkedCodeStore& store, std::string salt) : store_(store), salt_(std::move(salt)) {}
  ~Upload() override {
    std::lock_guard lock(store_.mu_);
    for (const auto& [id, bytes] : chunks_) {
      store_.unpin(id);
      if (!committed_) (void)store_.collect(id);
    }
  }

  Result<ChunkRef> store(std::string_view plaintext) override {
    SealedChunk sealed = sealChunk(salt_, plaintext);
    bool have = false;
    {
      std::lock_guard lock(store_.mu_);
      if (chunks_.emplace(sealed.id, sealed.blob.size()).second) ++store_.pins_[sealed.id].uploads;
      Pin& pin = store_.pins_[sealed.id];
      have = pin.written;
      if (!have) {
        Result<std::optional<int64_t>> refs = store_.chunkRefs(sealed.id);
        if (!refs) return refs.error();
        have = refs->has_value();
      }
    }
    if (!have) {
      HEARTH_TRY(store_.blobs_->put(BlobKind::kChunk, chunkIdHex(sealed.id), sealed.blob));
      std::lock_guard lock(store_.mu_);
      store_.pins_[sealed.id].written = true;
    }
    return ChunkRef{sealed.id, sealed.key, static_cast<uint32_t>(plaintext.size())};
  }

  const std::map<ChunkId, uint64_t>& chunks() const { return chunks_; }
  void markCommitted() { committed_ = true; }

 private:
  ChunkedCodeStore& store_;
  const std::string salt_;
  std::map<ChunkId, uint64_t> chunks_;  // pinned by this upload -> sealed size
  bool committed_ = false;
};

ChunkedCodeStore::ChunkedCodeStore(CodeStoreOptions options, UniqueFd lock, Keyring keyring,
                                   std::unique_ptr<BlobStore> blobs, store::sqlite::Database db)
    : options_(std::move(options)),
      lock_(std::move(lock)),
      keyring_(std::move(keyring)),
      blobs_(std::move(blobs)),
      db_(std::move(db)) {}

Result<std::unique_ptr<ChunkedCodeStore>> ChunkedCodeStore::open(const CodeStoreOptions& options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec)
    return makeError(ErrorCode::kIo, "creating " + options.dir.string() + ": " + ec.message());
  if (fs::exists(options.dir / "zips", ec)) {
    return makeError(ErrorCode::kIo, "code store " + options.dir.string() +
                                         " holds the format-1 layout (zips/, trees/) of an "
                                         "earlier Hearth; this build stores code only in the "
                                         "chunked format and does not convert it");
  }
  const fs::path lock_path = options.dir / "LOCK";
  // SAFETY: plain open of the store's lock file; owned by `lock`.
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return errnoError("opening " + lock_path.string(), errno);
  // SAFETY: lock is an open fd; the flock lives as long as the fd, i.e. the store.
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return makeError(ErrorCode::kIo,
                       "code store " + options.dir.string() + " is in use by another process");
    }
    return errnoError("locking " + lock_path.string(), errno);
  }
  Result<Keyring> keyring = Keyring::openOrCreate(options.keyring);
  if (!keyring) return keyring.error();
  Result<std::unique_ptr<LocalBlobStore>> blobs = LocalBlobStore::open(options.dir / "blobs");
  if (!blobs) return blobs.error();
  Result<store::sqlite::Database> db = openIndex(options.dir);
  if (!db) return db.error();
  std::unique_ptr<ChunkedCodeStore> s(new ChunkedCodeStore(
      options, std::move(lock), std::move(*keyring), std::move(*blobs), std::move(*db)));
  HEARTH_TRY(s->sweep());
  return s;
}

Result<std::vector<CodeUsage>> ChunkedCodeStore::readUsage(const fs::path& dir) {
  if (!fs::exists(dir / "index.db")) return std::vector<CodeUsage>{};
  Result<store::sqlite::Database> db = openIndex(dir);
  if (!db) return db.error();
  return queryUsage(*db);
}

std::string ChunkedCodeStore::scopeOf(const std::string& account_id) const {
  return options_.shared_scope_accounts.count(account_id) ? "shared" : "account:" + account_id;
}

Result<void> ChunkedCodeStore::sweep() {
  std::lock_guard lock(mu_);
  Result<std::vector<std::string>> unreferenced = selectColumn(db_, kSelectUnreferenced, true);
  if (!unreferenced) return unreferenced.error();
  for (const std::string& id : *unreferenced) HEARTH_TRY(collect(chunkIdOf(id)));

  Result<std::vector<std::string>> rows = selectColumn(db_, kSelectChunkIds, true);
  if (!rows) return rows.error();
  std::set<std::string> known;
  for (const std::string& id : *rows) known.insert(hexEncode(id));
  Result<std::vector<std::string>> blobs = blobs_->list(BlobKind::kChunk);
  if (!blobs) return blobs.error();
  for (const std::string& hex : *blobs) {
    if (!known.count(hex)) HEARTH_TRY(blobs_->remove(BlobKind::kChunk, hex));
  }

  Result<std::vector<std::string>> manifests = selectColumn(db_, kSelectManifests, false);
  if (!manifests) return manifests.error();
  std::set<std::string> used(manifests->begin(), manifests->end());
  Result<std::vector<std::string>> stored = blobs_->list(BlobKind::kManifest);
  if (!stored) return stored.error();
  for (const std::string& m : *stored) {
    if (!used.count(m)) HEARTH_TRY(blobs_->remove(BlobKind::kManifest, m));
  }
  return {};
}

void ChunkedCodeStore::unpin(const ChunkId& id) {
  auto it = pins_.find(id);
  if (it != pins_.end() && --it->second.uploads == 0) pins_.erase(it);
}

Result<std::optional<int64_t>> ChunkedCodeStore::chunkRefs(const ChunkId& id) {
  sqlite3_stmt* stmt = db_.stmt(kSelectChunkRefs);
  StmtScope scope(stmt);
  HEARTH_TRY(bindBlob(stmt, 1, bytesOf(id)));
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return std::optional<int64_t>();
  if (rc != SQLITE_ROW) return sqliteError(db_.handle(), rc, "looking up a chunk");
  return std::optional<int64_t>(sqlite3_column_int64(stmt, 0));
}

Result<ChunkedCodeStore::ObjectKey> ChunkedCodeStore::objectKey(const std::string& id) {
  sqlite3_stmt* stmt = db_.stmt(kSelectObjectKey);
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(stmt, 1, id));
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return makeError(ErrorCode::kNotFound, "no stored code with id " + id);
  if (rc != SQLITE_ROW) return sqliteError(db_.handle(), rc, "looking up a code object");
  return ObjectKey{
      WrappedKey{static_cast<uint32_t>(sqlite3_column_int64(stmt, 0)), columnBlob(stmt, 1)},
      columnText(stmt, 2)};
}

Result<void> ChunkedCodeStore::collect(const ChunkId& id) {
  if (pins_.count(id)) return {};
  Result<std::optional<int64_t>> refs = chunkRefs(id);
  if (!refs) return refs.error();
  if (refs->value_or(0) > 0) return {};
  {
    // The row goes first: a crash before the blob's unlink leaves a blob the index does not
    // know, which the next sweep removes.
    sqlite3_stmt* stmt = db_.stmt(kDeleteChunk);
    StmtScope scope(stmt);
    HEARTH_TRY(bindBlob(stmt, 1, bytesOf(id)));
    HEARTH_TRY(step(stmt, "deleting a chunk row"));
  }
  return blobs_->remove(BlobKind::kChunk, chunkIdHex(id));
}

Result<std::optional<CodeInfo>> ChunkedCodeStore::findObject(const std::string& id) {
  sqlite3_stmt* stmt = db_.stmt(kSelectObject);
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(stmt, 1, id));
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return std::optional<CodeInfo>();
  if (rc != SQLITE_ROW) return sqliteError(db_.handle(), rc, "looking up a code object");
  CodeInfo info;
  info.id = id;
  info.sha256_base64 = columnText(stmt, 0);
  info.zipped_bytes = static_cast<uint64_t>(sqlite3_column_int64(stmt, 1));
  info.unzipped_bytes = static_cast<uint64_t>(sqlite3_column_int64(stmt, 2));
  return std::optional<CodeInfo>(std::move(info));
}

Result<CodeInfo> ChunkedCodeStore::put(const std::string& account_id, std::string_view zip) {
  if (zip.size() > kMaxZippedBytes) {
    return makeError(ErrorCode::kEntityTooLarge, "Zipped size must be smaller than " +
                                                     std::to_string(kMaxZippedBytes) + " bytes");
  }
  const Sha256Digest digest = sha256(zip);
  NewObject object{account_id, "zip", digest, base64Encode(digest), zip.size()};
  return store(object, zipTreeRules(), [&](TreeSink& sink) -> Result<std::optional<ImageSettings>> {
    HEARTH_TRY(unpackZip(zip, sink, ingestThreads()));
    return std::optional<ImageSettings>();
  });
}

Result<CodeInfo> ChunkedCodeStore::putImage(const std::string& account_id,
                                            const std::string& image_uri) {
  Result<oci::ImageReference> ref = oci::parseImageUri(image_uri);
  if (!ref) return ref.error();
  oci::PullOptions pull;
  if (!options_.registry_config.empty()) {
    Result<std::optional<oci::Credentials>> creds =
        oci::credentialsFor(ref->registry, options_.registry_config);
    if (!creds) return creds.error();
    pull.credentials = std::move(*creds);
  }
  // A registry that serves bytes other than those it named is the image's fault, told to the
  // caller as a bad image, not as the store's corruption.
  auto asImageError = [&](Error e) {
    if (e.code == ErrorCode::kCorrupt) {
      e = makeError(ErrorCode::kInvalidParameter,
                    "Source image " + image_uri + " failed verification: " + e.message);
    }
    return e;
  };
  Result<oci::ResolvedImage> resolved = oci::resolveImage(*ref, pull);
  if (!resolved) return asImageError(resolved.error());
  std::optional<std::string> digest_bytes = hexDecode(
      std::string_view(resolved->manifest_digest).substr(std::string_view("sha256:").size()));
  if (!digest_bytes || digest_bytes->size() != 32) {
    return makeError(ErrorCode::kInvalidParameter,
                     "Source image " + image_uri + " has an unusable digest");
  }
  Sha256Digest digest{};
  std::memcpy(digest.data(), digest_bytes->data(), digest.size());
  // Lambda reports an image function's CodeSha256 as the manifest digest's hex.
  NewObject object{account_id, "image", digest, hexEncode(*digest_bytes), 0};
  Result<CodeInfo> info =
      store(object, imageTreeRules(image_uri),
            [&](TreeSink& sink) -> Result<std::optional<ImageSettings>> {
              Result<oci::ImageConfig> config = oci::pullImage(*resolved, pull, sink);
              if (!config) return asImageError(config.error());
              return std::optional<ImageSettings>(ImageSettings{resolved->manifest_digest,
                                                                config->entrypoint, config->cmd,
                                                                config->env, config->working_dir});
            });
  if (!info) return info;
  info->resolved_image_uri =
      ref->registry + "/" + ref->repository + "@" + resolved->manifest_digest;
  return info;
}

Result<CodeInfo> ChunkedCodeStore::store(const NewObject& object, const TreeRules& rules,
                                         const Fill& fill) {
  const std::string scope = scopeOf(object.account_id);
  const std::string salt = keyring_.scopeSalt(scope);
  const std::string id = objectId(salt, object.account_id, object.kind, object.digest);
  {
    std::lock_guard lock(mu_);
    Result<std::optional<CodeInfo>> found = findObject(id);
    if (!found) return found.error();
    if (*found) return **found;
  }

  Upload upload(*this, salt);
  TreeBuilder builder(upload, rules);
  Result<std::optional<ImageSettings>> image = fill(builder);
  if (!image) return image.error();
  Result<Manifest> m = builder.finish();
  if (!m) return m.error();
  m->scope = scope;
  m->image = std::move(*image);

  const std::string data_key = randomBytes(kKeyBytes);
  const std::string manifest_blob =
      std::string(kManifestMagic) + aes256GcmSeal(data_key, manifestAad(id), encodeManifest(*m));
  const std::string manifest_name = randomHex(16);
  HEARTH_TRY(blobs_->put(BlobKind::kManifest, manifest_name, manifest_blob));
  Result<void> synced = blobs_->sync();

  CodeInfo info{id, object.source_sha256, object.source_bytes, m->file_bytes, ""};
  Result<void> committed = synced;
  bool raced = false;
  if (committed) {
    std::lock_guard lock(mu_);
    committed = transaction(db_, [&]() -> Result<void> {
      Result<std::optional<CodeInfo>> found = findObject(id);
      if (!found) return found.error();
      if (*found) {
        // Another upload of the same code committed first; its object is ours too.
        raced = true;
        info = **found;
        return {};
      }
      for (const auto& [chunk, bytes] : upload.chunks()) {
        {
          sqlite3_stmt* stmt = db_.stmt(kAddChunkRef);
          StmtScope s(stmt);
          HEARTH_TRY(bindBlob(stmt, 1, bytesOf(chunk)));
          HEARTH_TRY(bindInt(stmt, 2, static_cast<int64_t>(bytes)));
          HEARTH_TRY(step(stmt, "referencing a chunk"));
        }
        sqlite3_stmt* stmt = db_.stmt(kInsertObjectChunk);
        StmtScope s(stmt);
        HEARTH_TRY(bindText(stmt, 1, id));
        HEARTH_TRY(bindBlob(stmt, 2, bytesOf(chunk)));
        HEARTH_TRY(step(stmt, "recording a chunk of an object"));
      }
      WrappedKey wrapped = keyring_.wrap(data_key, dataKeyAad(id));
      sqlite3_stmt* stmt = db_.stmt(kInsertObject);
      StmtScope s(stmt);
      HEARTH_TRY(bindText(stmt, 1, id));
      HEARTH_TRY(bindText(stmt, 2, object.account_id));
      HEARTH_TRY(bindText(stmt, 3, scope));
      HEARTH_TRY(bindText(stmt, 4, object.kind));
      HEARTH_TRY(bindText(stmt, 5, info.sha256_base64));
      HEARTH_TRY(bindInt(stmt, 6, static_cast<int64_t>(info.zipped_bytes)));
      HEARTH_TRY(bindInt(stmt, 7, static_cast<int64_t>(info.unzipped_bytes)));
      HEARTH_TRY(bindText(stmt, 8, manifest_name));
      HEARTH_TRY(bindInt(stmt, 9, static_cast<int64_t>(manifest_blob.size())));
      HEARTH_TRY(bindInt(stmt, 10, wrapped.key_id));
      HEARTH_TRY(bindBlob(stmt, 11, wrapped.sealed));
      HEARTH_TRY(bindInt(stmt, 12, nowMs()));
      return step(stmt, "recording a code object");
    });
    if (committed && !raced) upload.markCommitted();
  }
  if (!committed || raced) (void)blobs_->remove(BlobKind::kManifest, manifest_name);
  if (!committed) return committed.error();
  return info;
}

Result<Manifest> ChunkedCodeStore::manifest(const std::string& id) {
  std::string name;
  std::string data_key;
  {
    std::lock_guard lock(mu_);
    Result<ObjectKey> object = objectKey(id);
    if (!object) return object.error();
    name = object->manifest;
    Result<std::string> key = keyring_.unwrap(object->key, dataKeyAad(id));
    if (!key) return makeError(ErrorCode::kCorrupt, "code " + id + ": " + key.error().message);
    data_key = std::move(*key);
  }
  Result<std::string> blob = blobs_->get(BlobKind::kManifest, name);
  if (!blob) {
    return makeError(ErrorCode::kCorrupt, "code " + id + ": manifest " + name +
                                              " cannot be read: " + blob.error().message);
  }
  if (!std::string_view(*blob).starts_with(kManifestMagic)) {
    return makeError(ErrorCode::kCorrupt, "code " + id + ": manifest " + name + " is malformed");
  }
  Result<std::string> json = aes256GcmOpen(data_key, manifestAad(id),
                                           std::string_view(*blob).substr(kManifestMagic.size()),
                                           "code " + id + ": manifest " + name);
  if (!json) return json.error();
  Result<Manifest> m = decodeManifest(*json);
  if (!m) return makeError(ErrorCode::kCorrupt, "code " + id + ": " + m.error().message);
  return m;
}

Result<std::string> ChunkedCodeStore::sealedChunk(const ChunkId& id) {
  Result<std::string> blob = blobs_->get(BlobKind::kChunk, chunkIdHex(id));
  if (!blob && blob.error().code == ErrorCode::kNotFound) {
    return makeError(ErrorCode::kCorrupt, "chunk " + chunkIdHex(id) + " is missing from the store");
  }
  return blob;
}

Result<std::string> ChunkedCodeStore::readZip(const std::string& id) {
  Result<Manifest> m = manifest(id);
  if (!m) return m.error();
  ChunkReader reader(*m, id, [this](const ChunkId& c) { return sealedChunk(c); });
  return writeZip(*m, [&reader](const TreeEntry& e) { return reader.content(e); });
}

Result<void> ChunkedCodeStore::removeLocked(const std::string& id) {
  Result<ObjectKey> object = objectKey(id);
  if (!object) return object.error();
  const std::string manifest_name = object->manifest;
  std::vector<std::string> chunks;
  {
    sqlite3_stmt* stmt = db_.stmt(kSelectObjectChunks);
    StmtScope scope(stmt);
    HEARTH_TRY(bindText(stmt, 1, id));
    HEARTH_TRY(collectRows(
        stmt, chunks, [](sqlite3_stmt* st) { return columnBlob(st, 0); },
        "listing an object's chunks"));
  }
  HEARTH_TRY(transaction(db_, [&]() -> Result<void> {
    for (const std::string& chunk : chunks) {
      sqlite3_stmt* stmt = db_.stmt(kDropChunkRef);
      StmtScope scope(stmt);
      HEARTH_TRY(bindBlob(stmt, 1, chunk));
      HEARTH_TRY(step(stmt, "dropping a chunk reference"));
    }
    for (Stmt s : {kDeleteObjectChunks, kDeleteObject}) {
      sqlite3_stmt* stmt = db_.stmt(s);
      StmtScope scope(stmt);
      HEARTH_TRY(bindText(stmt, 1, id));
      HEARTH_TRY(step(stmt, "removing a code object"));
    }
    return {};
  }));
  // Committed: from here a crash only leaves blobs that the next sweep removes.
  HEARTH_TRY(blobs_->remove(BlobKind::kManifest, manifest_name));
  for (const std::string& chunk : chunks) HEARTH_TRY(collect(chunkIdOf(chunk)));
  return {};
}

Result<bool> ChunkedCodeStore::contains(const std::string& id) {
  std::lock_guard lock(mu_);
  Result<std::optional<CodeInfo>> found = findObject(id);
  if (!found) return found.error();
  return found->has_value();
}

Result<void> ChunkedCodeStore::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  return removeLocked(id);
}

Result<void> ChunkedCodeStore::retainOnly(const std::set<std::string>& ids) {
  std::lock_guard lock(mu_);
  Result<std::vector<std::string>> all = selectColumn(db_, kSelectObjectIds, false);
  if (!all) return all.error();
  for (const std::string& id : *all) {
    if (!ids.count(id)) HEARTH_TRY(removeLocked(id));
  }
  return {};
}

Result<std::vector<CodeUsage>> ChunkedCodeStore::usage() {
  std::lock_guard lock(mu_);
  return queryUsage(db_);
}

Result<void> ChunkedCodeStore::rotateKeys() {
  std::lock_guard lock(mu_);
  struct Row {
    std::string id;
    WrappedKey key;
  };
  std::vector<Row> rows;
  {
    sqlite3_stmt* stmt = db_.stmt(kSelectKeys);
    StmtScope scope(stmt);
    HEARTH_TRY(collectRows(
        stmt, rows,
        [](sqlite3_stmt* st) {
          return Row{
              columnText(st, 0),
              WrappedKey{static_cast<uint32_t>(sqlite3_column_int64(st, 1)), columnBlob(st, 2)}};
        },
        "listing data keys"));
  }
  // The new key is durable in the keyring before any data key depends on it; the old keys stay
  // until the re-wrap has committed.
  HEARTH_TRY(keyring_.addKey());
  HEARTH_TRY(transaction(db_, [&]() -> Result<void> {
    for (const Row& row : rows) {
      Result<std::string> key = keyring_.unwrap(row.key, dataKeyAad(row.id));
      if (!key)
        return makeError(ErrorCode::kCorrupt, "code " + row.id + ": " + key.error().message);
      WrappedKey next = keyring_.wrap(*key, dataKeyAad(row.id));
      sqlite3_stmt* stmt = db_.stmt(kUpdateKey);
      StmtScope scope(stmt);
      HEARTH_TRY(bindText(stmt, 1, row.id));
      HEARTH_TRY(bindInt(stmt, 2, next.key_id));
      HEARTH_TRY(bindBlob(stmt, 3, next.sealed));
      HEARTH_TRY(step(stmt, "re-wrapping a data key"));
    }
    return {};
  }));
  return keyring_.dropKeysExcept({});
}

}  // namespace hearth::codestore
