// hearth-codestore-bench: the code store (src/codestore) measured on its own, without hearthd.
//
//   ingest       ChunkedCodeStore::put of a 200 MiB function (zipped within the 50 MB limit),
//                next to the hardware limit measured in the same run (one thread of OpenSSL
//                AES-256-CTR plus SHA-256 over the same bytes), with the stages of put timed
//                one by one outside the store so a reader sees where the time goes;
//   dedup        20 versions of a 50 MiB function put into one account, each version changing
//                one file (a small handler edit or one library replaced, alternately), and the
//                bytes the store keeps for them against version 1 alone;
//   materialise  CodeCache::acquire of a 5,000-file function on tmpfs: cold (a fresh cache),
//                warm (the same cache building a new version that differs in one file) and
//                already built.
//
// Every store is a real ChunkedCodeStore in a fresh directory under --dir (the normal disk);
// caches live under --cache-dir (tmpfs). Nothing is deleted before the run ends (see
// benchIngest()). Content is pseudo-random but reproducible (fixed
// seeds) and compressible like code: words from a vocabulary for source files, byte strings
// from a vocabulary for libraries. Each measurement is repeated --reps times; the JSON printed
// on stdout holds the medians and every run (docs/benchmarks.md, "Code store"). Progress goes
// to stderr. Exits 1 if any step fails; the temporary directories are removed either way.
#include <archive.h>
#include <archive_entry.h>
#include <linux/magic.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <zlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "codestore/chunk_codec.h"
#include "codestore/chunked_code_store.h"
#include "codestore/chunker.h"
#include "codestore/code_cache.h"
#include "codestore/local_blob_store.h"
#include "codestore/tree_builder.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/result.h"

namespace hearth::bench {
namespace {

namespace fs = std::filesystem;
namespace cs = hearth::codestore;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr double kMB = 1e6;  // throughputs are in MB/s (10^6 bytes), as `openssl speed` reports
constexpr std::string_view kAccount = "123456789012";
constexpr size_t kReadBytes = 1 << 20;  // what the tree builder reads from the unzipper at once

struct Options {
  int reps = 3;
  std::string dir = "/tmp";
  std::string cache_dir = "/dev/shm";
  std::vector<std::string> phases = {"ingest", "dedup", "materialise"};
  int zip_level = 6;  // zip's and Python's zipfile default
};

void progress(const std::string& what) {
  (void)std::fprintf(stderr, "[codestore-bench] %s\n", what.c_str());
}

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// Named measurements over the repetitions of one phase.
class Samples {
 public:
  void add(const std::string& name, double value) { values_[name].push_back(value); }
  double median(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? 0 : bench::median(it->second);
  }
  json medians() const {
    json out = json::object();
    for (const auto& [name, v] : values_) out[name] = bench::median(v);
    return out;
  }
  json runs() const { return values_; }

 private:
  std::map<std::string, std::vector<double>> values_;
};

// This process's CPU time so far, user and system, in seconds.
struct CpuTime {
  double user = 0;
  double sys = 0;
};
CpuTime cpuNow() {
  struct rusage ru {};
  // SAFETY: ru is a valid out-parameter; RUSAGE_SELF cannot fail.
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return {sec(ru.ru_utime), sec(ru.ru_stime)};
}

// ---------------------------------------------------------------------------------------------
// Reproducible content.

// SplitMix64: fast, seedable, good enough for generating test content.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }  // inclusive
  // Log-uniform in [lo, hi]: many small values, a few large, like file sizes.
  uint64_t logUniform(uint64_t lo, uint64_t hi) {
    double u = static_cast<double>(next() >> 11) * 0x1.0p-53;
    double v =
        std::exp(std::log(static_cast<double>(lo)) +
                 u * (std::log(static_cast<double>(hi)) - std::log(static_cast<double>(lo))));
    return std::clamp<uint64_t>(static_cast<uint64_t>(v), lo, hi);
  }

 private:
  uint64_t state_;
};

// Source-like text: indented lines of identifiers and punctuation, the identifiers drawn from
// a vocabulary of kSourceWords words fixed by `vocabulary_seed` (one per package, as the files
// of a package share their names).
constexpr size_t kSourceWords = 256;
std::string sourceText(size_t n, uint64_t vocabulary_seed, uint64_t seed) {
  static constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyz_";
  static constexpr std::string_view kPunct[] = {" ", " ",   " ", "(", ")", ", ",
                                                ".", " = ", ":", "[", "]"};
  Rng vocab_rng(vocabulary_seed);
  std::vector<std::string> words(kSourceWords);
  for (std::string& w : words) {
    for (size_t len = vocab_rng.between(4, 16); len > 0; --len) {
      w += kLetters[vocab_rng.below(kLetters.size())];
    }
  }
  Rng rng(seed);
  std::string out;
  out.reserve(n + 256);
  while (out.size() < n) {
    out.append(4 * rng.below(4), ' ');
    for (uint64_t i = rng.between(2, 8); i > 0; --i) {
      out += words[rng.below(words.size())];
      out += kPunct[rng.below(std::size(kPunct))];
    }
    out += '\n';
  }
  out.resize(n);
  return out;
}

// Library-like bytes: a stream of byte strings (4-24 random bytes, like instruction sequences)
// from a vocabulary of kBinaryTokens, with 2% literal bytes and 1% zero padding. The
// vocabulary's size sets how well deflate packs it; 704 puts the ingest function's 200 MiB at
// about 4.3:1 overall (48 MB zipped, under the 50 MB limit with margin). The phases' JSON
// reports the ratios of libraries and sources apart.
constexpr size_t kBinaryTokens = 704;
std::string binaryBytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::string> tokens(kBinaryTokens);
  for (std::string& t : tokens) {
    for (size_t len = rng.between(4, 24); len > 0; --len) t += static_cast<char>(rng.next());
  }
  std::string out;
  out.reserve(n + 256);
  while (out.size() < n) {
    uint64_t x = rng.below(100);
    if (x < 2) {
      out += static_cast<char>(rng.next());
    } else if (x < 3) {
      out.append(rng.between(8, 128), '\0');
    } else {
      out += tokens[rng.below(tokens.size())];
    }
  }
  out.resize(n);
  return out;
}

struct File {
  std::string path;
  std::shared_ptr<const std::string> content;
  bool executable = false;
};
using Tree = std::vector<File>;  // sorted by path, bytewise (the canonical tree's order)

File makeFile(std::string path, std::string content, bool executable = false) {
  return File{std::move(path), std::make_shared<const std::string>(std::move(content)), executable};
}

uint64_t treeBytes(const Tree& tree) {
  uint64_t n = 0;
  for (const File& f : tree) n += f.content->size();
  return n;
}

void sortTree(Tree& tree) {
  std::sort(tree.begin(), tree.end(), [](const File& a, const File& b) { return a.path < b.path; });
}

// Small source files under `prefix`, `per_dir` to a package directory, sizes log-uniform in
// [lo, hi], until the tree holds `total` bytes or `count` files were added (0: no count).
void addSourceFiles(Tree& tree, Rng& rng, const std::string& prefix, uint64_t total, size_t count,
                    size_t per_dir, uint64_t lo, uint64_t hi) {
  uint64_t bytes = treeBytes(tree);
  for (size_t i = 0; (count == 0 || i < count) && bytes < total; ++i) {
    const size_t pkg = i / per_dir;
    uint64_t size = std::min(rng.logUniform(lo, hi), total - bytes);
    char name[96];
    (void)std::snprintf(name, sizeof name, "%s/pkg%03zu/%s/mod%03zu.py", prefix.c_str(), pkg,
                        pkg % 3 == 0 ? "core" : (pkg % 3 == 1 ? "util" : "api"), i % per_dir);
    tree.push_back(makeFile(name, sourceText(size, 1000 + pkg, rng.next())));
    bytes += size;
  }
}

// Ingest: 200 MiB. Six libraries (152 MiB), 40 data files of 128 KiB-1 MiB (cut alone, like
// the libraries), and small .py files (512 B-64 KiB, packed) for the rest: about 2,500 files.
Tree ingestTree() {
  Rng rng(1);
  Tree tree;
  const uint64_t lib_mib[] = {48, 36, 28, 20, 12, 8};
  for (size_t i = 0; i < std::size(lib_mib); ++i) {
    tree.push_back(makeFile("python/native" + std::to_string(i) + "/_core.cpython-311.so",
                            binaryBytes(lib_mib[i] * kMiB, rng.next()), true));
  }
  for (size_t i = 0; i < 40; ++i) {
    tree.push_back(makeFile("python/data/table" + std::to_string(i) + ".py",
                            sourceText(rng.logUniform(128 * kKiB, kMiB), 7, rng.next())));
  }
  addSourceFiles(tree, rng, "python/lib", 200 * kMiB, 0, 60, 512, 64 * kKiB);
  sortTree(tree);
  return tree;
}

constexpr std::string_view kDedupHandler = "lambda_function.py";

// Dedup: 50 MiB. Eight libraries of 2-10 MiB (45 MiB), the handler, and about 420 .py files
// of 1-48 KiB for the rest.
Tree dedupTree() {
  Rng rng(2);
  Tree tree;
  const uint64_t lib_mib[] = {10, 8, 7, 6, 5, 4, 3, 2};
  for (size_t i = 0; i < std::size(lib_mib); ++i) {
    tree.push_back(makeFile("python/dep" + std::to_string(i) + "/_impl.so",
                            binaryBytes(lib_mib[i] * kMiB, rng.next()), true));
  }
  tree.push_back(makeFile(std::string(kDedupHandler), sourceText(6 * kKiB, 5, rng.next())));
  addSourceFiles(tree, rng, "python/site", 50 * kMiB, 0, 40, kKiB, 48 * kKiB);
  sortTree(tree);
  return tree;
}

constexpr std::string_view kMaterialiseHandler = "app/handler.py";
constexpr size_t kMaterialiseFiles = 5000;

// Materialise: 5,000 files. 4,959 source files of 1-20 KiB, 25 to a directory, 40 libraries of
// 128 KiB-4 MiB and the handler: about 75 MiB.
Tree materialiseTree() {
  Rng rng(3);
  Tree tree;
  for (size_t i = 0; i < 40; ++i) {
    tree.push_back(makeFile("lib/lib" + std::to_string(i) + ".so",
                            binaryBytes(rng.logUniform(128 * kKiB, 4 * kMiB), rng.next()), true));
  }
  tree.push_back(makeFile(std::string(kMaterialiseHandler), sourceText(4 * kKiB, 9, rng.next())));
  addSourceFiles(tree, rng, "src", UINT64_MAX, kMaterialiseFiles - tree.size(), 25, kKiB,
                 20 * kKiB);
  sortTree(tree);
  return tree;
}

// The handler edited as a developer would: one line in the middle rewritten, one appended.
std::string editedSource(const std::string& old, uint64_t seed) {
  Rng rng(seed);
  size_t start = old.find('\n', old.size() / 2);
  start = start == std::string::npos ? old.size() : start + 1;
  size_t end = old.find('\n', start);
  end = end == std::string::npos ? old.size() : end + 1;
  std::string line = sourceText(rng.between(40, 80), seed, rng.next()) + "\n";
  std::string out = old.substr(0, start) + line + old.substr(end);
  out += sourceText(rng.between(30, 60), seed, rng.next()) + "\n";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Zip archives. A minimal writer (no zip64: every archive here is far below 4 GiB) with
// entries deflated once and shared between archives, so 20 versions of a function cost one
// deflate of the function plus one per changed file.

struct ZipEntry {
  std::string name;   // '/'-terminated for a directory
  uint32_t mode = 0;  // Unix mode, type bits included
  uint32_t crc = 0;
  uint64_t size = 0;                            // inflated
  std::shared_ptr<const std::string> deflated;  // raw deflate; null for a directory
};

Result<ZipEntry> deflateEntry(const File& f, int level) {
  const std::string& in = *f.content;
  if (in.size() >= UINT32_MAX) return makeError(ErrorCode::kInternal, f.path + ": too large");
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, -15 /* raw deflate */, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return makeError(ErrorCode::kInternal, "deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, in.size()), '\0');
  // SAFETY: zlib takes non-const Bytef* but only reads next_in; both buffers outlive the call.
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return makeError(ErrorCode::kInternal, "deflate failed: " + f.path);
  out.resize(zs.total_out);
  ZipEntry e;
  e.name = f.path;
  e.mode = 0100000 | (f.executable ? 0755 : 0644);
  // SAFETY: crc32 reads in.size() bytes of in.
  e.crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(in.data()), static_cast<uInt>(in.size())));
  e.size = in.size();
  e.deflated = std::make_shared<const std::string>(std::move(out));
  return e;
}

// The entries of `tree`: every directory (as `zip -r` lists them), then every file, deflated on
// all CPUs (building the input is not what is measured).
Result<std::vector<ZipEntry>> zipEntries(const Tree& tree, int level) {
  std::set<std::string> dirs;
  for (const File& f : tree) {
    for (size_t slash = f.path.find('/'); slash != std::string::npos;
         slash = f.path.find('/', slash + 1)) {
      dirs.insert(f.path.substr(0, slash + 1));
    }
  }
  std::vector<ZipEntry> entries;
  entries.reserve(dirs.size() + tree.size());
  for (const std::string& d : dirs) entries.push_back(ZipEntry{d, 040755, 0, 0, nullptr});
  const size_t first = entries.size();
  entries.resize(first + tree.size());
  std::vector<std::optional<Error>> errors(tree.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < tree.size();) {
      Result<ZipEntry> e = deflateEntry(tree[i], level);
      if (e) {
        entries[first + i] = std::move(*e);
      } else {
        errors[i] = e.error();
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = std::max(1u, std::thread::hardware_concurrency()); t > 0; --t) {
    threads.emplace_back(work);
  }
  for (std::thread& t : threads) t.join();
  for (const std::optional<Error>& e : errors) {
    if (e) return *e;
  }
  return entries;
}

// Inflated and deflated bytes of the file entries whose name ends with `suffix` (or does not,
// if `!match`), as {"bytes", "zipped_bytes", "ratio"}.
json compression(const std::vector<ZipEntry>& entries, std::string_view suffix, bool match) {
  uint64_t in = 0;
  uint64_t out = 0;
  for (const ZipEntry& e : entries) {
    if (e.deflated == nullptr || e.name.ends_with(suffix) != match) continue;
    in += e.size;
    out += e.deflated->size();
  }
  return {{"bytes", in},
          {"zipped_bytes", out},
          {"ratio", out ? static_cast<double>(in) / static_cast<double>(out) : 0}};
}

void put16(std::string& s, uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

// A zip of `entries` in their order: local headers and data, the central directory, its end.
// Made by "Unix" with the mode in the external attributes, as Info-ZIP writes it; times are
// 1980-01-01.
Result<std::string> writeZip(const std::vector<ZipEntry>& entries) {
  constexpr uint32_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
  if (entries.size() >= 0xffff) return makeError(ErrorCode::kInternal, "too many zip entries");
  uint64_t total = 0;
  for (const ZipEntry& e : entries)
    total += 100 + 2 * e.name.size() + (e.deflated ? e.deflated->size() : 0);
  if (total >= UINT32_MAX) return makeError(ErrorCode::kInternal, "zip would need zip64");
  std::string out;
  out.reserve(total);
  std::string central;
  for (const ZipEntry& e : entries) {
    const bool dir = e.deflated == nullptr;
    const uint32_t method = dir ? 0 : 8;
    const uint32_t csize = dir ? 0 : static_cast<uint32_t>(e.deflated->size());
    const uint32_t offset = static_cast<uint32_t>(out.size());
    // Local file header.
    put32(out, 0x04034b50);
    put16(out, 20);  // version needed: deflate
    put16(out, 0);   // flags
    put16(out, method);
    put16(out, 0);
    put16(out, kDosDate);
    put32(out, e.crc);
    put32(out, csize);
    put32(out, static_cast<uint32_t>(e.size));
    put16(out, static_cast<uint32_t>(e.name.size()));
    put16(out, 0);  // extra field
    out += e.name;
    if (!dir) out += *e.deflated;
    // Central directory header.
    put32(central, 0x02014b50);
    put16(central, (3 << 8) | 30);  // made by Unix, spec 3.0
    put16(central, 20);
    put16(central, 0);
    put16(central, method);
    put16(central, 0);
    put16(central, kDosDate);
    put32(central, e.crc);
    put32(central, csize);
    put32(central, static_cast<uint32_t>(e.size));
    put16(central, static_cast<uint32_t>(e.name.size()));
    put16(central, 0);                                  // extra field
    put16(central, 0);                                  // comment
    put16(central, 0);                                  // disk number
    put16(central, 0);                                  // internal attributes
    put32(central, (e.mode << 16) | (dir ? 0x10 : 0));  // Unix mode; MS-DOS directory bit
    put32(central, offset);
    central += e.name;
  }
  const uint32_t central_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(entries.size()));
  put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, central_offset);
  put16(out, 0);  // comment
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pieces of put, timed outside the store.

// One thread of AES-256-CTR over every file (1 MiB at a time, one context, as fast as OpenSSL
// goes) and, separately, SHA-256 of every file: the least a store that encrypts and hashes
// each byte once must spend.
struct HardwarePass {
  double aes_s = 0;
  double sha_s = 0;
};
Result<HardwarePass> hardwarePass(const Tree& tree) {
  const std::string key = randomBytes(32);
  const std::string iv = randomBytes(16);
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  // SAFETY: the casts only view key/iv bytes as unsigned char; OpenSSL reads 32 and 16 bytes.
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr,
                                 reinterpret_cast<const unsigned char*>(key.data()),
                                 reinterpret_cast<const unsigned char*>(iv.data())) != 1) {
    return makeError(ErrorCode::kInternal, "EVP_EncryptInit_ex(aes-256-ctr) failed");
  }
  std::string out(kReadBytes, '\0');
  HardwarePass pass;
  Clock::time_point t0 = Clock::now();
  for (const File& f : tree) {
    const std::string& in = *f.content;
    for (size_t pos = 0; pos < in.size(); pos += kReadBytes) {
      int n = static_cast<int>(std::min(kReadBytes, in.size() - pos));
      int len = 0;
      // SAFETY: `out` holds kReadBytes >= n bytes; `in` holds n bytes from pos.
      if (EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                            reinterpret_cast<const unsigned char*>(in.data() + pos), n) != 1) {
        return makeError(ErrorCode::kInternal, "EVP_EncryptUpdate failed");
      }
    }
  }
  pass.aes_s = secondsSince(t0);
  t0 = Clock::now();
  for (const File& f : tree) {
    unsigned char md[EVP_MAX_MD_SIZE];
    if (EVP_Digest(f.content->data(), f.content->size(), md, nullptr, EVP_sha256(), nullptr) != 1) {
      return makeError(ErrorCode::kInternal, "EVP_Digest(sha256) failed");
    }
  }
  pass.sha_s = secondsSince(t0);
  return pass;
}

// Inflates every entry of `zip` with libarchive exactly as unpackZip() does (seekable zip
// reader over memory, 1 MiB reads; libarchive checks each entry's CRC-32) and drops the bytes.
// Returns the bytes inflated.
Result<uint64_t> inflateOnly(std::string_view zip) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  auto failed = [&a] {
    const char* why = a ? archive_error_string(a.get()) : nullptr;
    return makeError(ErrorCode::kInvalidZipFile,
                     std::string("libarchive: ") + (why ? why : "cannot read the zip"));
  };
  if (!a || archive_read_support_format_zip_seekable(a.get()) != ARCHIVE_OK ||
      archive_read_open_memory(a.get(), zip.data(), zip.size()) != ARCHIVE_OK) {
    return failed();
  }
  std::vector<char> buf(kReadBytes);
  uint64_t total = 0;
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return failed();
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) return failed();
      if (n == 0) break;
      total += static_cast<uint64_t>(n);
    }
  }
  return total;
}

// The chunks put cuts from `tree` (codestore/tree_builder.h): files of kSmallFileBytes or more
// alone with kFileChunking, the others concatenated in path order (`pack`, which the caller
// keeps alive) and cut with kPackChunking.
std::vector<std::string_view> cutChunks(const Tree& tree, const std::string& pack) {
  std::vector<std::string_view> chunks;
  auto cut = [&chunks](std::string_view data, const cs::ChunkerParams& params) {
    while (!data.empty()) {
      size_t n = cs::firstChunkLength(data, params);
      chunks.push_back(data.substr(0, n));
      data.remove_prefix(n);
    }
  };
  for (const File& f : tree) {
    if (f.content->size() >= cs::kSmallFileBytes) cut(*f.content, cs::kFileChunking);
  }
  cut(pack, cs::kPackChunking);
  return chunks;
}

std::string packOf(const Tree& tree) {
  std::string pack;
  for (const File& f : tree) {
    if (f.content->size() < cs::kSmallFileBytes) pack += *f.content;
  }
  return pack;
}

// The stages of put, each timed alone: the upload's SHA-256, FastCDC, sealing every chunk
// (chunk_codec.h), writing the sealed chunks with the store's own LocalBlobStore under `dir`,
// and its syncfs().
struct Stages {
  double sha_upload_s = 0;
  double fastcdc_s = 0;
  double seal_s = 0;
  double blob_write_s = 0;
  double syncfs_s = 0;
  size_t chunks = 0;
  uint64_t sealed_bytes = 0;
};
Result<Stages> putStages(const Tree& tree, std::string_view zip, const fs::path& dir) {
  Stages s;
  Clock::time_point t0 = Clock::now();
  Sha256Digest digest = sha256(zip);
  s.sha_upload_s = secondsSince(t0);
  (void)digest;

  const std::string pack = packOf(tree);
  t0 = Clock::now();
  std::vector<std::string_view> chunks = cutChunks(tree, pack);
  s.fastcdc_s = secondsSince(t0);
  s.chunks = chunks.size();

  // Each chunk sealed, then written, then dropped, as the store's upload does (so memory is
  // reused as it is there); the two are timed apart.
  Result<std::unique_ptr<cs::LocalBlobStore>> blobs = cs::LocalBlobStore::open(dir);
  if (!blobs) return blobs.error();
  const std::string salt = randomBytes(32);
  for (std::string_view c : chunks) {
    t0 = Clock::now();
    cs::SealedChunk sealed = cs::sealChunk(salt, c);
    const Clock::time_point t1 = Clock::now();
    HEARTH_TRY((*blobs)->put(cs::BlobKind::kChunk, cs::chunkIdHex(sealed.id), sealed.blob));
    s.seal_s += std::chrono::duration<double>(t1 - t0).count();
    s.blob_write_s += secondsSince(t1);
    s.sealed_bytes += sealed.blob.size();
  }
  t0 = Clock::now();
  HEARTH_TRY((*blobs)->sync());
  s.syncfs_s = secondsSince(t0);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Stores and directories.

Result<std::unique_ptr<cs::ChunkedCodeStore>> openStore(const fs::path& dir) {
  cs::CodeStoreOptions options;
  options.dir = dir / "code";
  options.keyring = dir / "keyring";
  return cs::ChunkedCodeStore::open(options);
}

Result<cs::CodeUsage> accountUsage(cs::ChunkedCodeStore& store) {
  Result<std::vector<cs::CodeUsage>> usage = store.usage();
  if (!usage) return usage.error();
  for (const cs::CodeUsage& u : *usage) {
    if (u.account_id == kAccount) return u;
  }
  return makeError(ErrorCode::kNotFound, "no usage for the account");
}

// A directory removed, with everything in it, when the guard goes.
class TempDir {
 public:
  static Result<TempDir> make(const fs::path& parent, std::string_view name) {
    fs::path p = parent / (std::string(name) + "." + randomHex(4));
    std::error_code ec;
    fs::create_directories(p, ec);
    if (ec) return makeError(ErrorCode::kIo, "creating " + p.string() + ": " + ec.message());
    return TempDir(std::move(p));
  }
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

std::string fsType(const fs::path& p) {
  struct statfs st {};
  // SAFETY: the path is NUL-terminated; st is a valid out-parameter.
  if (::statfs(p.c_str(), &st) != 0) return "?";
  switch (st.f_type) {
    case EXT4_SUPER_MAGIC:
      return "ext4";
    case TMPFS_MAGIC:
      return "tmpfs";
    case RAMFS_MAGIC:
      return "ramfs";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    default: {
      char hex[32];
      (void)std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(st.f_type));
      return hex;
    }
  }
}

json machine(const Options& o) {
  std::string model = "?";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.starts_with("model name")) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  struct utsname u {};
  // SAFETY: u is a valid out-parameter.
  ::uname(&u);
  return {{"nproc", std::thread::hardware_concurrency()},
          {"cpu_model", model},
          {"kernel", u.release},
          {"data_fs", fsType(o.dir)},
          {"cache_fs", fsType(o.cache_dir)}};
}

double mbPerSecond(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / kMB / seconds : 0;
}

// ---------------------------------------------------------------------------------------------
// The phases.

Result<json> benchIngest(const Options& o, const fs::path& root) {
  progress("ingest: generating a 200 MiB function and zipping it");
  const Tree tree = ingestTree();
  Result<std::vector<ZipEntry>> entries = zipEntries(tree, o.zip_level);
  if (!entries) return entries.error();
  Result<std::string> zip = writeZip(*entries);
  if (!zip) return zip.error();
  const uint64_t bytes = treeBytes(tree);
  if (zip->size() > cs::kMaxZippedBytes || bytes > cs::kMaxUnzippedBytes) {
    return makeError(ErrorCode::kInternal, "the ingest zip is over Lambda's limits");
  }
  size_t large = 0;
  for (const File& f : tree) large += f.content->size() >= cs::kSmallFileBytes;

  // Nothing written here is deleted before the run ends: right after a large deletion, ext4
  // makes every file creation scan past the recently freed inodes (recently_deleted()), which
  // slowed the next store's blob writes several times over in a first version of this loop.
  Samples s;
  for (int rep = 0; rep < o.reps; ++rep) {
    progress("ingest: repetition " + std::to_string(rep + 1) + " of " + std::to_string(o.reps));
    // The measured put: a fresh, empty store each time.
    Result<std::unique_ptr<cs::ChunkedCodeStore>> store =
        openStore(root / ("ingest-" + std::to_string(rep)));
    if (!store) return store.error();
    const CpuTime cpu0 = cpuNow();
    Clock::time_point t0 = Clock::now();
    Result<cs::CodeInfo> info = (*store)->put(std::string(kAccount), *zip);
    const double put_s = secondsSince(t0);
    const CpuTime cpu1 = cpuNow();
    if (!info) return info.error();
    if (info->unzipped_bytes != bytes) {
      return makeError(ErrorCode::kInternal, "the store counted other unzipped bytes");
    }
    Result<cs::CodeUsage> usage = accountUsage(**store);
    if (!usage) return usage.error();
    store->reset();
    s.add("put_s", put_s);
    s.add("put_mb_s", mbPerSecond(bytes, put_s));
    s.add("put_user_s", cpu1.user - cpu0.user);
    s.add("put_sys_s", cpu1.sys - cpu0.sys);
    s.add("stored_bytes", static_cast<double>(usage->stored_bytes));

    Result<HardwarePass> hw = hardwarePass(tree);
    if (!hw) return hw.error();
    const double hardware_mb_s = mbPerSecond(bytes, hw->aes_s + hw->sha_s);
    s.add("aes_s", hw->aes_s);
    s.add("sha_s", hw->sha_s);
    s.add("hardware_mb_s", hardware_mb_s);
    s.add("ratio", mbPerSecond(bytes, put_s) / hardware_mb_s);

    // Where put's time goes: its stages, each alone (the files' SHA-256 is the hardware pass's).
    t0 = Clock::now();
    Result<uint64_t> inflated = inflateOnly(*zip);
    if (!inflated) return inflated.error();
    const double inflate_s = secondsSince(t0);
    if (*inflated != bytes) return makeError(ErrorCode::kInternal, "inflated size mismatch");
    Result<Stages> stages = putStages(tree, *zip, root / ("stages-" + std::to_string(rep)));
    if (!stages) return stages.error();
    s.add("inflate_s", inflate_s);
    s.add("sha_upload_s", stages->sha_upload_s);
    s.add("fastcdc_s", stages->fastcdc_s);
    s.add("seal_s", stages->seal_s);
    s.add("blob_write_s", stages->blob_write_s);
    s.add("syncfs_s", stages->syncfs_s);
    s.add("chunks", static_cast<double>(stages->chunks));
    // What none of the stages accounts for: the tree builder's buffering and pack, the index
    // transaction, the manifest.
    s.add("other_s", put_s - (inflate_s + stages->sha_upload_s + hw->sha_s + stages->fastcdc_s +
                              stages->seal_s + stages->blob_write_s + stages->syncfs_s));
  }
  json out = {{"files", tree.size()},
              {"files_cut_alone", large},
              {"unzipped_bytes", bytes},
              {"zipped_bytes", zip->size()},
              {"zip_entries", entries->size()},
              {"compression_ratio", static_cast<double>(bytes) / static_cast<double>(zip->size())},
              {"libraries", compression(*entries, ".so", true)},
              {"sources", compression(*entries, ".so", false)},
              {"median", s.medians()},
              {"runs", s.runs()}};
  out["median"]["aes_mb_s"] = mbPerSecond(bytes, s.median("aes_s"));
  out["median"]["sha_mb_s"] = mbPerSecond(bytes, s.median("sha_s"));
  out["median"]["inflate_mb_s"] = mbPerSecond(bytes, s.median("inflate_s"));
  out["target_ratio"] = 0.5;
  out["target_met"] = s.median("ratio") >= 0.5;
  return out;
}

Result<json> benchDedup(const Options& o, const fs::path& root) {
  progress("dedup: generating a 50 MiB function");
  Tree tree = dedupTree();
  Result<std::vector<ZipEntry>> entries = zipEntries(tree, o.zip_level);
  if (!entries) return entries.error();
  auto entryOf = [&](std::string_view path) -> ZipEntry* {
    for (ZipEntry& e : *entries) {
      if (e.name == path) return &e;
    }
    return nullptr;
  };
  const json compressed = {{"libraries", compression(*entries, ".so", true)},
                           {"sources", compression(*entries, ".so", false)}};
  std::vector<std::string> libraries;
  for (const File& f : tree) {
    if (f.path.ends_with(".so")) libraries.push_back(f.path);
  }
  std::map<std::string, File> files;
  for (File& f : tree) files.emplace(f.path, f);

  const fs::path store_dir = root / "dedup";
  Result<std::unique_ptr<cs::ChunkedCodeStore>> store = openStore(store_dir);
  if (!store) return store.error();
  json versions = json::array();
  uint64_t changed_bytes = 0;
  uint64_t stored_1 = 0;
  std::vector<double> handler_put_s, library_put_s;
  Rng rng(4);
  for (int v = 1; v <= 20; ++v) {
    std::string change = "initial";
    std::string changed_path;
    if (v > 1) {
      // Even versions edit the handler; odd ones replace the next library (a dependency
      // upgraded: new content, same name and size).
      if (v % 2 == 0) {
        change = "handler edited";
        changed_path = std::string(kDedupHandler);
      } else {
        change = "library replaced";
        changed_path = libraries[((v - 3) / 2) % libraries.size()];
      }
      File& f = files.at(changed_path);
      std::string content = v % 2 == 0 ? editedSource(*f.content, rng.next())
                                       : binaryBytes(f.content->size(), rng.next());
      f = makeFile(f.path, std::move(content), f.executable);
      changed_bytes += f.content->size();
      Result<ZipEntry> e = deflateEntry(f, o.zip_level);
      if (!e) return e.error();
      ZipEntry* slot = entryOf(changed_path);
      if (slot == nullptr) return makeError(ErrorCode::kInternal, "no entry " + changed_path);
      *slot = std::move(*e);
    }
    Result<std::string> zip = writeZip(*entries);
    if (!zip) return zip.error();
    if (zip->size() > cs::kMaxZippedBytes) return makeError(ErrorCode::kInternal, "zip too big");
    Clock::time_point t0 = Clock::now();
    Result<cs::CodeInfo> info = (*store)->put(std::string(kAccount), *zip);
    const double put_s = secondsSince(t0);
    if (!info) return info.error();
    Result<cs::CodeUsage> usage = accountUsage(**store);
    if (!usage) return usage.error();
    if (v == 1) stored_1 = usage->stored_bytes;
    if (v > 1) (v % 2 == 0 ? handler_put_s : library_put_s).push_back(put_s);
    versions.push_back({{"version", v},
                        {"change", change},
                        {"path", changed_path},
                        {"changed_bytes", v > 1 ? files.at(changed_path).content->size() : 0},
                        {"zipped_bytes", zip->size()},
                        {"unzipped_bytes", info->unzipped_bytes},
                        {"put_s", put_s},
                        {"stored_bytes_after", usage->stored_bytes}});
    progress("dedup: version " + std::to_string(v) + " (" + change + ") stored, " +
             std::to_string(usage->stored_bytes / kMiB) + " MiB kept");
  }
  Result<cs::CodeUsage> usage = accountUsage(**store);
  if (!usage) return usage.error();
  const double bound = 1.1 * static_cast<double>(stored_1) + static_cast<double>(changed_bytes);
  return json{{"versions", 20},
              {"files", tree.size()},
              {"version_1", compressed},
              {"objects", usage->objects},
              {"logical_bytes", usage->logical_bytes},
              {"stored_bytes_1", stored_1},
              {"stored_bytes_20", usage->stored_bytes},
              {"changed_bytes", changed_bytes},
              {"bound_bytes", bound},
              {"check", "stored_20 <= 1.1 * stored_1 + changed"},
              {"pass", static_cast<double>(usage->stored_bytes) <= bound},
              {"put_s_handler_edit_median", median(handler_put_s)},
              {"put_s_library_replace_median", median(library_put_s)},
              {"history", versions}};
}

// Writes `tree` under `dir` with plain mkdir/open/write/close: the floor under a cold build
// (which also decrypts, verifies, renames and hard-links every file).
Result<void> writeTreePlain(const Tree& tree, const fs::path& dir) {
  std::set<fs::path> made;
  for (const File& f : tree) {
    const fs::path p = dir / f.path;
    if (made.insert(p.parent_path()).second) {
      std::error_code ec;
      fs::create_directories(p.parent_path(), ec);
      if (ec) return makeError(ErrorCode::kIo, "mkdir " + p.parent_path().string());
    }
    std::FILE* out = std::fopen(p.c_str(), "wb");
    if (out == nullptr) return makeError(ErrorCode::kIo, "create " + p.string());
    size_t n = std::fwrite(f.content->data(), 1, f.content->size(), out);
    if (std::fclose(out) != 0 || n != f.content->size()) {
      return makeError(ErrorCode::kIo, "write " + p.string());
    }
  }
  return {};
}

Result<size_t> countFiles(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    n += it->is_regular_file(ec);
  }
  if (ec) return makeError(ErrorCode::kIo, "listing " + dir.string() + ": " + ec.message());
  return n;
}

Result<json> benchMaterialise(const Options& o, const fs::path& root, const fs::path& cache_root) {
  progress("materialise: generating a 5,000-file function and a version with one file changed");
  Tree v1 = materialiseTree();
  Tree v2 = v1;
  for (File& f : v2) {
    if (f.path == kMaterialiseHandler) f = makeFile(f.path, editedSource(*f.content, 11));
  }
  const fs::path store_dir = root / "materialise";
  Result<std::unique_ptr<cs::ChunkedCodeStore>> store = openStore(store_dir);
  if (!store) return store.error();
  std::string ids[2];
  uint64_t zipped[2] = {0, 0};
  json compressed;
  for (int i = 0; i < 2; ++i) {
    Result<std::vector<ZipEntry>> entries = zipEntries(i == 0 ? v1 : v2, o.zip_level);
    if (!entries) return entries.error();
    Result<std::string> zip = writeZip(*entries);
    if (!zip) return zip.error();
    Result<cs::CodeInfo> info = (*store)->put(std::string(kAccount), *zip);
    if (!info) return info.error();
    if (i == 0) {
      compressed = {{"libraries", compression(*entries, ".so", true)},
                    {"sources", compression(*entries, ".so", false)}};
    }
    ids[i] = info->id;
    zipped[i] = zip->size();
  }
  Result<cs::Manifest> manifest = (*store)->manifest(ids[0]);
  if (!manifest) return manifest.error();

  Samples s;
  for (int rep = 0; rep < o.reps; ++rep) {
    progress("materialise: repetition " + std::to_string(rep + 1) + " of " +
             std::to_string(o.reps));
    // Stages of a cold build, timed alone: unsealing and decoding the manifest; reading every
    // sealed chunk from the store; opening them (MAC check, decryption); the SHA-256 of every
    // file (the build checks each against the manifest); writing the plain tree to tmpfs.
    Clock::time_point t0 = Clock::now();
    Result<cs::Manifest> m = (*store)->manifest(ids[0]);
    if (!m) return m.error();
    s.add("manifest_s", secondsSince(t0));
    std::vector<std::string> sealed;
    t0 = Clock::now();
    for (const cs::ChunkRef& c : m->chunks) {
      Result<std::string> blob = (*store)->sealedChunk(c.id);
      if (!blob) return blob.error();
      sealed.push_back(std::move(*blob));
    }
    s.add("read_chunks_s", secondsSince(t0));
    t0 = Clock::now();
    for (size_t i = 0; i < sealed.size(); ++i) {
      Result<std::string> plain = cs::openChunk(m->chunks[i].id, m->chunks[i].key, sealed[i]);
      if (!plain) return plain.error();
    }
    s.add("open_chunks_s", secondsSince(t0));
    t0 = Clock::now();
    for (const File& f : v1) (void)sha256(*f.content);
    s.add("sha_files_s", secondsSince(t0));
    {
      Result<TempDir> plain = TempDir::make(cache_root, "plain");
      if (!plain) return plain.error();
      t0 = Clock::now();
      HEARTH_TRY(writeTreePlain(v1, plain->path()));
      s.add("plain_write_s", secondsSince(t0));
    }

    Result<TempDir> dir = TempDir::make(cache_root, "cache");
    if (!dir) return dir.error();
    cs::CodeCacheOptions options;
    options.dir = dir->path();
    Result<std::unique_ptr<cs::CodeCache>> cache = cs::CodeCache::open(**store, options);
    if (!cache) return cache.error();

    t0 = Clock::now();
    Result<std::shared_ptr<const cs::CodeLease>> cold = (*cache)->acquire(ids[0]);
    s.add("cold_s", secondsSince(t0));
    if (!cold) return cold.error();
    const cs::CodeCacheStats after_cold = (*cache)->stats();
    if (rep == 0) {
      Result<size_t> n = countFiles((*cold)->path());
      if (!n) return n.error();
      if (*n != kMaterialiseFiles) {
        return makeError(ErrorCode::kInternal, "the tree has " + std::to_string(*n) + " files");
      }
    }

    t0 = Clock::now();
    Result<std::shared_ptr<const cs::CodeLease>> warm = (*cache)->acquire(ids[1]);
    s.add("warm_s", secondsSince(t0));
    if (!warm) return warm.error();
    const cs::CodeCacheStats after_warm = (*cache)->stats();
    s.add("warm_files_linked",
          static_cast<double>(after_warm.files_linked - after_cold.files_linked));
    s.add("warm_files_written",
          static_cast<double>(after_warm.files_written - after_cold.files_written));
    s.add("cold_files_written", static_cast<double>(after_cold.files_written));

    // An already built tree, leased again (a new sandbox of the same version): many calls, as
    // one takes microseconds.
    cold->reset();
    std::vector<double> again;
    for (int i = 0; i < 1000; ++i) {
      t0 = Clock::now();
      Result<std::shared_ptr<const cs::CodeLease>> lease = (*cache)->acquire(ids[0]);
      again.push_back(secondsSince(t0));
      if (!lease) return lease.error();
    }
    s.add("built_us", median(again) * 1e6);
    warm->reset();
    cache->reset();
  }
  const double files = static_cast<double>(kMaterialiseFiles);
  json out = {{"files", kMaterialiseFiles},
              {"unzipped_bytes", treeBytes(v1)},
              {"zipped_bytes", zipped[0]},
              {"compression", compressed},
              {"chunks", manifest->chunks.size()},
              {"directories", std::count_if(manifest->entries.begin(), manifest->entries.end(),
                                            [](const cs::TreeEntry& e) {
                                              return e.type == cs::EntryType::kDirectory;
                                            })},
              {"median", s.medians()},
              {"runs", s.runs()}};
  out["median"]["cold_files_per_s"] = files / s.median("cold_s");
  out["median"]["warm_files_per_s"] = files / s.median("warm_s");
  out["median"]["plain_write_files_per_s"] = files / s.median("plain_write_s");
  return out;
}

Result<json> run(const Options& o) {
  // CodeCache::open() checks this too, but only after minutes of work.
  if (fsType(o.cache_dir) != "tmpfs" && fsType(o.cache_dir) != "ramfs") {
    return makeError(ErrorCode::kInvalidParameter,
                     "--cache-dir " + o.cache_dir + " is not on tmpfs or ramfs");
  }
  Result<TempDir> root = TempDir::make(o.dir, "hearth-codestore-bench");
  if (!root) return root.error();
  Result<TempDir> cache_root = TempDir::make(o.cache_dir, "hearth-codestore-bench");
  if (!cache_root) return cache_root.error();
  json out = {{"reps", o.reps}, {"zip_level", o.zip_level}, {"machine", machine(o)}};
  const Clock::time_point t0 = Clock::now();
  auto wanted = [&](std::string_view p) {
    return std::find(o.phases.begin(), o.phases.end(), p) != o.phases.end();
  };
  if (wanted("ingest")) {
    Result<json> r = benchIngest(o, root->path());
    if (!r) return r.error();
    out["ingest"] = std::move(*r);
  }
  if (wanted("dedup")) {
    Result<json> r = benchDedup(o, root->path());
    if (!r) return r.error();
    out["dedup"] = std::move(*r);
  }
  if (wanted("materialise")) {
    Result<json> r = benchMaterialise(o, root->path(), cache_root->path());
    if (!r) return r.error();
    out["materialise"] = std::move(*r);
  }
  out["total_s"] = secondsSince(t0);
  return out;
}

}  // namespace
}  // namespace hearth::bench

// Errors come back as Results; the catch is for third-party code that throws (CLI11's setup,
// the JSON library, allocation), so that nothing ends the run unreported.
int main(int argc, char** argv) try {
  hearth::bench::Options o;
  CLI::App app{"hearth-codestore-bench: the code store's ingest, dedup and materialisation"};
  app.add_option("--reps,-n", o.reps, "repetitions of each timed measurement (medians reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--dir", o.dir, "where the stores go (the normal disk, not tmpfs)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--cache-dir", o.cache_dir, "where the code caches go (must be tmpfs)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--phases", o.phases, "which measurements to run")
      ->check(CLI::IsMember({"ingest", "dedup", "materialise"}))
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--zip-level", o.zip_level, "deflate level of the generated zips")
      ->check(CLI::Range(1, 9))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  hearth::Result<nlohmann::json> r = hearth::bench::run(o);
  if (!r) {
    (void)std::fprintf(stderr, "hearth-codestore-bench: %s\n", r.error().toString().c_str());
    return 1;
  }
  if (std::printf("%s\n", r->dump(2).c_str()) < 0 || std::fflush(stdout) != 0) {
    (void)std::fprintf(stderr, "hearth-codestore-bench: writing the results failed\n");
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  (void)std::fprintf(stderr, "hearth-codestore-bench: %s\n", e.what());
  return 1;
}
