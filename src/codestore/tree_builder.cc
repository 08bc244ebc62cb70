#include "codestore/tree_builder.h"

#include <algorithm>
#include <optional>

#include "codestore/chunker.h"
#include "codestore/tree_path.h"
#include "common/encoding.h"

namespace hearth::codestore {
namespace {

constexpr size_t kReadBytes = 1 << 20;
constexpr size_t kMaxTargetBytes = 4096;

// True if symlink `target`, in a directory `depth` levels below the root, stays inside the tree
// (the argument is in tree_builder.h).
bool staysInside(std::string_view target, size_t depth) {
  if (target.empty() || target.front() == '/') return false;
  size_t ups = 0;
  bool descending = false;
  for (std::string_view seg : pathSegments(target)) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (descending) return false;
      ++ups;
    } else {
      descending = true;
    }
  }
  return ups <= depth;
}

size_t depthOf(std::string_view path) {
  return static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

}  // namespace

TreeBuilder::TreeBuilder(ChunkSink& chunks, TreeRules rules)
    : chunks_(chunks), rules_(std::move(rules)) {}

Error TreeBuilder::refuse(std::string_view name, std::string_view why) const {
  constexpr size_t kShown = 200;
  std::string shown(name.substr(0, kShown));
  if (name.size() > kShown) shown += "...";
  return makeError(rules_.refusal_code,
                   rules_.archive + ": entry '" + shown + "' " + std::string(why) + ".");
}

Result<std::string> TreeBuilder::name(std::string_view path) const {
  Result<std::string> canonical = canonicalTreePath(path, "entry");
  if (!canonical) {
    // canonicalTreePath says "entry '<name>': <why>"; restate it in this tree's wording.
    std::string why = canonical.error().message;
    size_t colon = why.find("': ");
    return refuse(path, colon == std::string::npos
                            ? "has an unusable name"
                            : "has an unusable name (" + why.substr(colon + 3) + ")");
  }
  return canonical;
}

Result<void> TreeBuilder::place(std::string path, Node node) {
  std::lock_guard lock(mu_);
  if (++adds_ > rules_.max_entries) {
    return makeError(rules_.refusal_code, rules_.archive + ": more than " +
                                              std::to_string(rules_.max_entries) + " entries.");
  }
  node.layer = layer_;
  // In a layered tree, a non-directory replaces whatever directory an earlier layer had there,
  // explicit or implied, with all its content.
  if (rules_.replace_allowed && node.type != EntryType::kDirectory) erase(path, /*self=*/false);
  auto it = nodes_.find(path);
  if (it != nodes_.end()) {
    // A directory met again is the same directory (tar and zip both repeat them).
    if (it->second.type == EntryType::kDirectory && node.type == EntryType::kDirectory) {
      return {};
    }
    if (!rules_.replace_allowed) return refuse(path, "appears more than once");
    it->second = std::move(node);
    return {};
  }
  nodes_.emplace(std::move(path), std::move(node));
  return {};
}

Result<void> TreeBuilder::addDirectory(std::string_view path) {
  Result<std::string> p = name(path);
  if (!p) return p.error();
  return place(std::move(*p), Node(EntryType::kDirectory));
}

Result<uint32_t> TreeBuilder::storeChunk(std::string_view plaintext) {
  Result<ChunkRef> ref = chunks_.store(plaintext);  // the heavy part, unlocked
  if (!ref) return ref.error();
  std::lock_guard lock(mu_);
  auto [it, added] = chunk_index_.emplace(ref->id, static_cast<uint32_t>(chunk_list_.size()));
  if (added) chunk_list_.push_back(*ref);
  return it->second;
}

Result<void> TreeBuilder::addFile(std::string_view path, bool executable, FileSource& source) {
  Result<std::string> p = name(path);
  if (!p) return p.error();
  auto content = std::make_shared<FileContent>();
  Sha256 hash;
  std::string buf;  // bytes not yet cut; [0, kept) of a large file's stream position
  bool large = false;
  auto cut = [&](bool at_end) -> Result<void> {
    size_t pos = 0;
    while (buf.size() - pos >= kFileChunking.max_bytes || (at_end && pos < buf.size())) {
      std::string_view rest(buf.data() + pos, buf.size() - pos);
      size_t n = firstChunkLength(rest, kFileChunking);
      Result<uint32_t> index = storeChunk(rest.substr(0, n));
      if (!index) return index.error();
      content->extents.push_back({*index, 0, static_cast<uint32_t>(n)});
      pos += n;
    }
    buf.erase(0, pos);
    return {};
  };
  // What FileSources read into: one per thread, kept, never zeroed.
  thread_local std::unique_ptr<char[]> scratch(new char[kReadBytes]);
  for (;;) {
    Result<size_t> n = source.read(scratch.get(), kReadBytes);
    if (!n) return n.error();
    if (*n == 0) break;
    buf.append(scratch.get(), *n);
    hash.update(std::string_view(scratch.get(), *n));
    content->size += *n;
    if (streamed_bytes_.fetch_add(*n) + *n > rules_.max_file_bytes) return rules_.too_big;
    if (!large && buf.size() >= kSmallFileBytes) large = true;
    if (large) HEARTH_TRY(cut(/*at_end=*/false));
  }
  content->sha256 = hash.finish();
  if (large) {
    HEARTH_TRY(cut(/*at_end=*/true));
  } else {
    content->is_small = true;
    content->small = std::move(buf);
  }
  Node node(EntryType::kFile);
  node.executable = executable;
  node.content = std::move(content);
  return place(std::move(*p), std::move(node));
}

Result<void> TreeBuilder::addSymlink(std::string_view path, std::string_view target) {
  Result<std::string> p = name(path);
  if (!p) return p.error();
  if (target.empty() || target.size() > kMaxTargetBytes ||
      target.find('\0') != std::string_view::npos || !isValidUtf8(target)) {
    return refuse(path, "is a symbolic link with an unusable target");
  }
  Node node(EntryType::kSymlink);
  node.target = std::string(target);
  return place(std::move(*p), std::move(node));
}

Result<void> TreeBuilder::addHardLink(std::string_view path, std::string_view target) {
  Result<std::string> p = name(path);
  if (!p) return p.error();
  Result<std::string> t = name(target);
  if (!t) return t.error();
  std::optional<Node> node;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(*t);
    if (it != nodes_.end() && it->second.type == EntryType::kFile) node = it->second;
  }
  if (!node) return refuse(path, "is a hard link to something that is not an earlier regular file");
  return place(std::move(*p), std::move(*node));
}

void TreeBuilder::erase(const std::string& path, bool self) {
  const std::string below = path + "/";
  for (auto it = nodes_.lower_bound(path); it != nodes_.end();) {
    const std::string& key = it->first;
    if (key.compare(0, path.size(), path) != 0) break;  // past every key starting with `path`
    bool match = (self && key == path) || key.starts_with(below);
    if (match && it->second.layer < layer_) {
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<void> TreeBuilder::remove(std::string_view path) {
  Result<std::string> p = name(path);
  if (!p) return p.error();
  std::lock_guard lock(mu_);
  erase(*p, /*self=*/true);
  return {};
}

Result<void> TreeBuilder::clearDirectory(std::string_view path) {
  if (path.find_first_not_of("./") == std::string_view::npos &&
      path.find("..") == std::string_view::npos) {
    // The root: every earlier layer's entry goes.
    std::lock_guard lock(mu_);
    std::erase_if(nodes_, [this](const auto& entry) { return entry.second.layer < layer_; });
    return {};
  }
  Result<std::string> p = name(path);
  if (!p) return p.error();
  std::lock_guard lock(mu_);
  erase(*p, /*self=*/false);
  return {};
}

Result<void> TreeBuilder::checkSymlink(const std::string& path, const std::string& target) const {
  if (rules_.symlinks == SymlinkPolicy::kInsideTree && !staysInside(target, depthOf(path))) {
    return refuse(path, "is a symbolic link that leads outside the archive");
  }
  return {};
}

Result<Manifest> TreeBuilder::finish() {
  // Parents: implied ones become directories; a parent that is anything else is refused.
  std::vector<std::string> implied;
  for (const auto& [path, node] : nodes_) {
    for (std::string_view parent = parentOf(path); !parent.empty(); parent = parentOf(parent)) {
      auto it = nodes_.find(std::string(parent));
      if (it == nodes_.end()) {
        implied.emplace_back(parent);
        continue;
      }
      if (it->second.type != EntryType::kDirectory) {
        return refuse(path, it->second.type == EntryType::kSymlink ? "is below a symbolic link"
                                                                   : "is below a file");
      }
      break;  // this parent was checked, with its own parents, as an entry of its own
    }
  }
  for (std::string& p : implied) nodes_.emplace(std::move(p), Node(EntryType::kDirectory));
  for (const auto& [path, node] : nodes_) {
    if (node.type == EntryType::kSymlink) HEARTH_TRY(checkSymlink(path, node.target));
  }

  // The pack: small files in path order, each content once (hard links share it).
  std::string pack;
  std::map<const FileContent*, uint64_t> pack_offset;
  for (const auto& [path, node] : nodes_) {
    if (node.type != EntryType::kFile || !node.content->is_small) continue;
    if (pack_offset.emplace(node.content.get(), pack.size()).second) pack += node.content->small;
  }
  std::vector<std::pair<uint64_t, uint32_t>> pack_chunks;  // (stream offset, chunk index)
  for (size_t pos = 0; pos < pack.size();) {
    std::string_view rest(pack.data() + pos, pack.size() - pos);
    size_t n = firstChunkLength(rest, kPackChunking);
    Result<uint32_t> index = storeChunk(rest.substr(0, n));
    if (!index) return index.error();
    pack_chunks.emplace_back(pos, *index);
    pos += n;
  }
  auto packExtents = [&](uint64_t offset, uint64_t size) {
    std::vector<Extent> extents;
    if (size == 0) return extents;
    auto it = std::upper_bound(pack_chunks.begin(), pack_chunks.end(),
                               std::make_pair(offset, UINT32_MAX));
    for (--it; size > 0; ++it) {
      uint64_t in_chunk = offset - it->first;
      uint64_t take = std::min<uint64_t>(size, chunk_list_[it->second].size - in_chunk);
      extents.push_back({it->second, static_cast<uint32_t>(in_chunk), static_cast<uint32_t>(take)});
      offset += take;
      size -= take;
    }
    return extents;
  };

  // Chunks in id order, whatever order threads stored them in: the manifest is a function of
  // the tree alone.
  std::vector<uint32_t> order(chunk_list_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return chunk_list_[a].id < chunk_list_[b].id; });
  std::vector<uint32_t> renumbered(order.size());
  for (uint32_t i = 0; i < order.size(); ++i) renumbered[order[i]] = i;

  Manifest m;
  for (uint32_t old : order) m.chunks.push_back(chunk_list_[old]);
  m.entries.reserve(nodes_.size());
  for (auto& [path, node] : nodes_) {
    TreeEntry e;
    e.path = path;
    e.type = node.type;
    if (node.type == EntryType::kSymlink) e.target = node.target;
    if (node.type == EntryType::kFile) {
      const FileContent& c = *node.content;
      e.executable = node.executable;
      e.size = c.size;
      e.sha256 = c.sha256;
      e.extents = c.is_small ? packExtents(pack_offset.at(&c), c.size) : c.extents;
      for (Extent& x : e.extents) x.chunk = renumbered[x.chunk];
      m.file_bytes += c.size;
    }
    m.entries.push_back(std::move(e));
  }
  chunk_list_.clear();
  chunk_index_.clear();
  nodes_.clear();
  return m;
}

}  // namespace hearth::codestore
