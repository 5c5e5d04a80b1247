#include "libcheck/kernel_btf.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <bitset>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <string_view>
#include <utility>

namespace bpfready {

namespace {

// The raw format (the kernel's include/uapi/linux/btf.h), read field by
// field so that nothing depends on the build host's header version.
constexpr __u16 kBtfMagic = 0xeB9F;
constexpr std::size_t kHeaderMin = 24;
constexpr std::size_t kTypeHeader = 12;  // name_off, info, size/type
// The read window when the file cannot be mapped; it grows for a record
// larger than itself (a struct of more than 5000 members), so it stays
// small in what a process touches.
constexpr std::size_t kWindow = 64 << 10;

enum Kind : __u32 {
  kInt = 1, kPtr, kArray, kStruct, kUnion, kEnum, kFwd, kTypedef, kVolatile, kConst,
  kRestrict, kFunc, kFuncProto, kVar, kDatasec, kFloat, kDeclTag, kTypeTag, kEnum64,
};

__u32 load32(const char* bytes) {
  __u32 value = 0;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

// Bytes that follow each kind's 12-byte header: fixed + per_member * vlen,
// all multiples of 4. Two bits per kind (the size in 4-byte units) in one
// word each, so that the walk's arithmetic from one record to the next stays
// in registers: with a table in memory, its load was in that chain, and the
// walk over the kernel's 100k+ records is most of the scan.
class TrailingBytes {
 public:
  constexpr TrailingBytes() {
    for (__u32 kind : {kInt, kVar, kDeclTag}) set(kind, 4, 0);
    for (__u32 kind : {kPtr, kFwd, kTypedef, kVolatile, kConst, kRestrict, kFunc, kFloat, kTypeTag}) {
      set(kind, 0, 0);
    }
    set(kArray, 12, 0);
    for (__u32 kind : {kStruct, kUnion, kDatasec, kEnum64}) set(kind, 0, 12);
    for (__u32 kind : {kEnum, kFuncProto}) set(kind, 0, 8);
  }
  [[nodiscard]] constexpr bool known(__u32 kind) const { return ((known_ >> kind) & 1U) != 0; }
  [[nodiscard]] constexpr std::uint32_t known_kinds() const { return known_; }
  [[nodiscard]] constexpr std::size_t of(__u32 kind, __u32 vlen) const {
    const std::size_t fixed = (fixed_ >> (2 * kind)) & 3U;
    const std::size_t per_member = (per_member_ >> (2 * kind)) & 3U;
    return 4 * (fixed + per_member * vlen);
  }

 private:
  constexpr void set(__u32 kind, unsigned fixed, unsigned per_member) {
    fixed_ |= std::uint64_t{fixed / 4} << (2 * kind);
    per_member_ |= std::uint64_t{per_member / 4} << (2 * kind);
    known_ |= 1U << kind;
  }
  std::uint64_t fixed_ = 0;
  std::uint64_t per_member_ = 0;
  std::uint32_t known_ = 0;
};
constexpr TrailingBytes kTrailing;
static_assert(kTrailing.of(kArray, 0) == 12 && kTrailing.of(kStruct, 3) == 36 &&
              kTrailing.of(kEnum, 2) == 16 && kTrailing.of(kInt, 7) == 4 && !kTrailing.known(0));

// A byte range of the file, handed out record by record: from a mapping of
// the whole file where the kernel allows it (6.18 maps its BTF, 6.12 does
// not; no copy at all), else through a window of preads.
class WindowReader {
 public:
  WindowReader(int fd, off_t start, std::size_t length)
      : fd_(fd), next_(start), left_(length), buffer_(kWindow), base_(buffer_.data()) {}
  WindowReader(const char* mapped, std::size_t length) : base_(mapped), end_(length) {}
  // A moved vector keeps its storage, so base_ stays valid.
  WindowReader(WindowReader&&) noexcept = default;
  WindowReader& operator=(WindowReader&&) = delete;
  WindowReader(const WindowReader&) = delete;
  WindowReader& operator=(const WindowReader&) = delete;
  ~WindowReader() = default;

  // Makes at least N bytes available at data(); false at the range's end
  // (or on a read error, kept in error()).
  bool need(std::size_t n) { return end_ - begin_ >= n || refill(n); }
  [[nodiscard]] const char* data() const { return base_ + begin_; }
  [[nodiscard]] std::size_t available() const { return end_ - begin_; }
  void consume(std::size_t n) { begin_ += n; }
  [[nodiscard]] bool done() const { return begin_ == end_ && left_ == 0; }
  [[nodiscard]] int error() const { return error_; }

 private:
  bool refill(std::size_t n) {
    if (left_ == 0) return false;  // mapped, or read to the end
    if (n > buffer_.size()) buffer_.resize(n);
    base_ = buffer_.data();
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    while (end_ < n && left_ > 0) {
      const std::size_t want = std::min(buffer_.size() - end_, left_);
      const ssize_t got = ::pread(fd_, buffer_.data() + end_, want, next_);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        error_ = got < 0 ? errno : EIO;  // a file shorter than its header says
        return false;
      }
      end_ += static_cast<std::size_t>(got);
      next_ += got;
      left_ -= static_cast<std::size_t>(got);
    }
    return end_ >= n;
  }

  int fd_ = -1;
  off_t next_ = 0;
  std::size_t left_ = 0;
  std::vector<char> buffer_;
  const char* base_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  int error_ = 0;
};

struct Sections {
  off_t types = 0;
  std::size_t types_len = 0;
  off_t strings = 0;
  std::size_t strings_len = 0;
};

Expected<Sections> read_header(int fd) {
  char header[kHeaderMin];
  if (::pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) {
    return SysError::plain("the kernel BTF is shorter than its header");
  }
  __u16 magic = 0;
  std::memcpy(&magic, header, sizeof magic);
  const auto version = static_cast<unsigned char>(header[2]);
  const __u32 hdr_len = load32(header + 4);
  if (magic != kBtfMagic || version != 1 || hdr_len < kHeaderMin) {
    return SysError::plain("the kernel BTF has an unknown header (magic, version or length)");
  }
  Sections sections;
  sections.types = static_cast<off_t>(hdr_len) + load32(header + 8);
  sections.types_len = load32(header + 12);
  sections.strings = static_cast<off_t>(hdr_len) + load32(header + 16);
  sections.strings_len = load32(header + 20);
  return sections;
}

// The whole file mapped read-only, when the kernel allows it and the file
// is as long as its header says; unmapped on destruction.
class Mapping {
 public:
  Mapping(int fd, const Sections& sections) {
    struct stat st{};
    if (::fstat(fd, &st) != 0 || st.st_size <= 0) return;
    const auto size = static_cast<std::size_t>(st.st_size);
    if (static_cast<std::size_t>(sections.types) + sections.types_len > size ||
        static_cast<std::size_t>(sections.strings) + sections.strings_len > size) {
      return;  // the reads then report the file as short
    }
    void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapped == MAP_FAILED) return;  // older kernels: not mappable
    bytes_ = static_cast<const char*>(mapped);
    size_ = size;
  }
  ~Mapping() {
    if (bytes_ != nullptr) ::munmap(const_cast<char*>(bytes_), size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  [[nodiscard]] bool mapped() const { return bytes_ != nullptr; }
  [[nodiscard]] const char* bytes() const { return bytes_; }
  [[nodiscard]] WindowReader reader(off_t start, std::size_t length) const { return {bytes_ + start, length}; }

 private:
  const char* bytes_ = nullptr;
  std::size_t size_ = 0;
};

// The wanted names, and the (length, first byte) pairs they have: a name is
// compared only when its pair is one of them.
class WantedNames {
 public:
  explicit WantedNames(const std::set<std::string, std::less<>>& names) : names_(names) {
    for (const auto& name : names) {
      if (!name.empty() && name.size() <= kLongest) shapes_.set(shape(name.size(), name[0]));
    }
  }
  // The wanted name equal to the LENGTH bytes at TEXT, or null.
  [[nodiscard]] const std::string* find(const char* text, std::size_t length) const {
    if (length == 0 || length > kLongest || !shapes_.test(shape(length, text[0]))) return nullptr;
    const auto name = names_.find(std::string_view(text, length));
    return name != names_.end() ? &*name : nullptr;
  }

 private:
  static constexpr std::size_t kLongest = 255;
  static std::size_t shape(std::size_t length, char first) {
    return length * 256 + static_cast<unsigned char>(first);
  }
  const std::set<std::string, std::less<>>& names_;
  std::bitset<(kLongest + 1) * 256> shapes_;
};

// Names by string-section offset, for a mapped file: read where the type
// points, only for the few records that can matter (typedefs, structs and
// the members of a wanted struct).
class MappedNames {
 public:
  MappedNames(const char* strings, std::size_t length, const WantedNames& wanted,
              const std::set<std::string, std::less<>>& names)
      : strings_(strings), length_(length), wanted_(wanted) {
    for (const auto& name : names) {
      if (name.size() >= 2) prefixes_.set(prefix(name.data()));
    }
  }
  [[nodiscard]] const std::string* at(__u32 offset) const {
    // The section ends in a NUL (checked before), so two bytes can be read
    // wherever a name starts before its last byte.
    if (offset + 1 >= length_) return nullptr;
    const char* text = strings_ + offset;
    if (!prefixes_.test(prefix(text))) return nullptr;  // almost every name: one bit test
    const std::size_t length = ::strnlen(text, length_ - offset);
    if (length == length_ - offset) return nullptr;  // no NUL before the section's end
    return wanted_.find(text, length);
  }

 private:
  static std::size_t prefix(const char* text) {
    return static_cast<std::size_t>(static_cast<unsigned char>(text[0])) * 256 +
           static_cast<unsigned char>(text[1]);
  }
  const char* strings_;
  std::size_t length_;
  const WantedNames& wanted_;
  std::bitset<std::size_t{256} * 256> prefixes_;  // the wanted names' first two bytes
};

// Names by string-section offset, for a file read in a window (types come
// before strings, so these are found first, in one pass over the strings).
// A few dozen at most, looked up once per typedef or struct: a sorted
// vector behind a bit filter.
class FoundNames {
 public:
  void add(__u32 offset, const std::string& name) {
    entries_.emplace_back(offset, &name);
    maybe_.set(offset % kFilterBits);
  }
  void sort() { std::sort(entries_.begin(), entries_.end()); }
  [[nodiscard]] const std::string* at(__u32 offset) const {
    if (!maybe_.test(offset % kFilterBits)) return nullptr;  // almost every type: one bit test
    const auto found = std::lower_bound(entries_.begin(), entries_.end(), offset,
                                        [](const auto& entry, __u32 key) { return entry.first < key; });
    return found != entries_.end() && found->first == offset ? found->second : nullptr;
  }

 private:
  static constexpr std::size_t kFilterBits = 1 << 16;
  std::vector<std::pair<__u32, const std::string*>> entries_;
  std::bitset<kFilterBits> maybe_;
};

// Checks every whole string in BYTES[0, LENGTH) (the section's bytes from
// section offset BASE) and returns how many bytes they take, up to and
// including the last NUL. Eight bytes at a time: a mask of the zero bytes
// of each word, walked bit by bit, since a call to find each string's end
// cost more than the compare it saves on the kernel's 100k+ short names.
std::size_t check_strings(const char* bytes, std::size_t length, __u32 base, const WantedNames& wanted,
                          FoundNames* found) {
  constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  std::size_t start = 0;  // of the string being read
  const auto string_ends_at = [&](std::size_t nul) {
    if (const std::string* name = wanted.find(bytes + start, nul - start); name != nullptr) {
      found->add(base + static_cast<__u32>(start), *name);
    }
    start = nul + 1;
  };
  std::size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes + i, sizeof word);
    if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
    // The high bit of each byte that is zero, exactly (no carries between bytes).
    std::uint64_t zeros = ~(((word & kLow7) + kLow7) | word | kLow7);
    while (zeros != 0) {
      string_ends_at(i + static_cast<std::size_t>(std::countr_zero(zeros) / 8));
      zeros &= zeros - 1;
    }
  }
  for (; i < length; ++i) {
    if (bytes[i] == '\0') string_ends_at(i);
  }
  return start;
}

// Offsets in the string section of every name in WANTED.
Expected<FoundNames> find_names(WindowReader reader, const WantedNames& wanted) {
  FoundNames found;
  __u32 offset = 0;
  while (reader.need(1)) {
    const std::size_t taken = check_strings(reader.data(), reader.available(), offset, wanted, &found);
    if (taken == 0) {
      // One string runs past the window: get the rest (names are short).
      if (!reader.need(reader.available() + 1)) break;
      continue;
    }
    reader.consume(taken);
    offset += static_cast<__u32>(taken);
  }
  if (reader.error() != 0) return SysError::from_errno(reader.error(), "read the kernel BTF");
  if (!reader.done()) return SysError::plain("the kernel BTF's string section does not end in a NUL");
  found.sort();
  return found;
}

// The parameter counts of the function types the found typedefs lead to
// (typedef -> pointer -> function type). The kernel emits a tracepoint's
// pointer and function type right after its typedef, or shares those of an
// earlier tracepoint with the same arguments: links are followed forward
// as the walk meets them and remembered, and the few that point back to
// something not followed take a second walk (indexing every pointer and
// function type instead cost more than the rest of the walk).
class TypedefChains {
 public:
  // TYPEDEF_ID names TARGET; the walk is at CURRENT_ID.
  void start(const std::string& name, __u32 target, __u32 current_id) { link(&name, target, current_id); }
  // One compare for every id the walk meets that is not followed.
  [[nodiscard]] bool follows(__u32 id) const { return !pending_.empty() && pending_.begin()->first == id; }
  // The next id the walk must stop at (none: the largest id, never reached).
  [[nodiscard]] __u32 next() const { return pending_.empty() ? ~__u32{0} : pending_.begin()->first; }
  void reached(__u32 id, __u32 kind, __u32 vlen, __u32 target) {
    while (follows(id)) {
      const std::string* name = pending_.begin()->second;
      pending_.erase(pending_.begin());
      if (kind == kPtr) {
        pointees_[id] = target;
        link(name, target, id);
      } else if (kind == kFuncProto) {
        params_[id] = vlen;
        counts_.emplace(*name, vlen);
      }
    }
  }
  // Links that point back to what the walk passed without following it.
  [[nodiscard]] bool need_another_walk() const { return !behind_.empty(); }
  [[nodiscard]] bool done() const { return pending_.empty(); }
  // Makes what was behind pending again, for a walk from the start.
  void rewind() {
    for (const auto& [id, name] : behind_) pending_.emplace(id, name);
    behind_.clear();
  }
  [[nodiscard]] const std::map<std::string, __u32>& counts() const { return counts_; }

 private:
  void link(const std::string* name, __u32 target, __u32 current_id) {
    if (const auto pointee = pointees_.find(target); pointee != pointees_.end()) {
      link(name, pointee->second, current_id);
    } else if (const auto params = params_.find(target); params != params_.end()) {
      counts_.emplace(*name, params->second);
    } else if (target > current_id) {
      pending_.emplace(target, name);
    } else {
      behind_.emplace(target, name);
    }
  }

  std::multimap<__u32, const std::string*> pending_;  // id ahead -> typedef it leads from
  std::multimap<__u32, const std::string*> behind_;   // id passed -> typedef it leads from
  std::map<__u32, __u32> pointees_;                   // pointer followed -> its pointee
  std::map<__u32, __u32> params_;                     // function type followed -> parameters
  std::map<std::string, __u32> counts_;
};

// One pass over the type records, with NAMES (MappedNames or FoundNames)
// naming the string offsets that matter.
template <class Names>
class TypeWalk {
 public:
  TypeWalk(const KernelBtfQuery& query, const Names& names) : query_(query), names_(names) {
    typedefs_.insert(query.typedefs.begin(), query.typedefs.end());
  }

  // Walks the records TYPES gives (MORE_TYPES gives them again, for the
  // links that point back: each further walk follows a chain one link on,
  // and a chain has two, so it is called at most twice).
  template <class Reopen>
  Expected<KernelBtfFacts> run(WindowReader types, const Reopen& more_types) {
    if (auto walked = walk(std::move(types), /*first=*/true); !walked) return walked.error();
    for (const auto& name : incomplete_) {
      if (facts_.structs.count(name) == 0) {
        return SysError::plain("the kernel BTF's struct " + name + " lacks a member bpfready reads");
      }
    }
    for (int further = 0; further < 2 && chains_.need_another_walk(); ++further) {
      chains_.rewind();
      if (auto walked = walk(more_types(), /*first=*/false); !walked) return walked.error();
    }
    facts_.typedef_params = chains_.counts();
    return std::move(facts_);
  }

 private:
  // One pass over the records. The first looks at names; another only
  // follows typedef chains, and stops once none is left.
  Expected<void> walk(WindowReader types, bool first) {
    // The kinds the loop stops at: those whose names may matter (first
    // walk only), and those it does not know (an error).
    const __u32 stop_kinds = (first ? (1U << kTypedef) | (1U << kStruct) : 0U) | ~kTrailing.known_kinds();
    __u32 id = 1;
    while (types.need(kTypeHeader)) {
      // Every whole record in the window. The loop itself only finds the
      // next record to look at (a kind above, or the next id a typedef
      // chain leads to), with every value it needs in registers; looking
      // is out of line.
      const char* bytes = types.data();
      const std::size_t available = types.available();
      std::size_t at = 0;
      std::size_t record_size = kTypeHeader;
      __u32 next_followed = chains_.next();
      while (at + kTypeHeader <= available) {
        const char* record = bytes + at;
        const __u32 info = load32(record + 4);
        const __u32 kind = (info >> 24) & 0x1f;
        const __u32 vlen = info & 0xffff;
        record_size = kTypeHeader + kTrailing.of(kind, vlen);
        if (at + record_size > available) break;
        if (((stop_kinds >> kind) & 1U) != 0 || id == next_followed) [[unlikely]] {
          if (!kTrailing.known(kind)) {
            return SysError::plain("the kernel BTF has type kind " + std::to_string(kind) +
                                   ", which this version of bpfready does not know");
          }
          look_at(record, id, kind, vlen, first);
          // Everything asked for is found: the rest of the file cannot
          // change the answer (the first complete struct of a name, and
          // the first typedef, are the ones kept). The tracepoints and
          // task_struct come early in the kernel's BTF: this skips most of it.
          if (complete()) return {};
          next_followed = chains_.next();
        }
        at += record_size;
        ++id;
      }
      types.consume(at);
      if (!first && chains_.done()) return {};
      // A record larger than what is left of the window: read the rest of it.
      if (at == 0 && !types.need(record_size)) break;
    }
    if (types.error() != 0) return SysError::from_errno(types.error(), "read the kernel BTF");
    if (!types.done()) return SysError::plain("the kernel BTF's type section ends inside a type");
    return {};
  }

  [[nodiscard]] bool complete() const {
    return facts_.typedef_ids.size() == typedefs_.size() &&
           facts_.structs.size() == query_.struct_members.size() && chains_.done() &&
           !chains_.need_another_walk();
  }

  [[gnu::noinline]] void look_at(const char* record, __u32 id, __u32 kind, __u32 vlen, bool first) {
    if (first && (kind == kTypedef || kind == kStruct)) {
      if (const std::string* name = names_.at(load32(record)); name != nullptr) {
        named(*name, id, kind, vlen, record);
      }
    }
    if (chains_.follows(id)) chains_.reached(id, kind, vlen, load32(record + 8));
  }

  void named(const std::string& name, __u32 id, __u32 kind, __u32 vlen, const char* record) {
    if (kind == kTypedef) {
      const auto found = typedefs_.find(name);
      if (found == typedefs_.end()) return;
      facts_.typedef_ids.emplace(name, id);
      chains_.start(*found, load32(record + 8), id);
    } else if (query_.struct_members.count(name) != 0 && facts_.structs.count(name) == 0 &&
               !take_struct(record, vlen, name)) {
      incomplete_.insert(name);
    }
  }

  // Adds the struct at RECORD (a full type record) when it has every member
  // the query asks for; false when one is missing or a bitfield.
  bool take_struct(const char* record, __u32 vlen, const std::string& name) {
    const bool bitfield_offsets = (load32(record + 4) >> 31) != 0;
    const auto& members_wanted = query_.struct_members.at(name);
    BtfStructLayout layout;
    layout.size = load32(record + 8);
    for (__u32 i = 0; i < vlen; ++i) {
      const char* member = record + kTypeHeader + std::size_t{12} * i;
      const std::string* named = names_.at(load32(member));
      if (named == nullptr) continue;
      const __u32 raw_offset = load32(member + 8);
      if (bitfield_offsets && (raw_offset >> 24) != 0) return false;
      layout.member_bits[*named] = bitfield_offsets ? (raw_offset & 0xffffff) : raw_offset;
    }
    for (const auto& member : members_wanted) {
      if (layout.member_bits.count(member) == 0) return false;
    }
    std::map<std::string, __u32> only_wanted;
    for (const auto& member : members_wanted) only_wanted[member] = layout.member_bits[member];
    layout.member_bits = std::move(only_wanted);
    facts_.structs.emplace(name, std::move(layout));
    return true;
  }

  const KernelBtfQuery& query_;
  const Names& names_;
  std::set<std::string> typedefs_;
  KernelBtfFacts facts_;
  std::set<std::string> incomplete_;  // structs seen without every member asked for
  TypedefChains chains_;
};

}  // namespace

Expected<KernelBtfFacts> scan_kernel_btf(int fd, const KernelBtfQuery& query, BtfAccess access) {
  auto sections = read_header(fd);
  if (!sections) return sections.error();

  std::set<std::string, std::less<>> wanted(query.typedefs.begin(), query.typedefs.end());
  for (const auto& [name, members] : query.struct_members) {
    wanted.insert(name);
    wanted.insert(members.begin(), members.end());
  }
  const WantedNames shapes(wanted);

  if (access == BtfAccess::map_or_read) {
    const Mapping mapping(fd, *sections);
    if (mapping.mapped()) {
      const char* strings = mapping.bytes() + sections->strings;
      if (sections->strings_len == 0 || strings[sections->strings_len - 1] != '\0') {
        return SysError::plain("the kernel BTF's string section does not end in a NUL");
      }
      // Random access: names are read where a record points, no string pass.
      const MappedNames names(strings, sections->strings_len, shapes, wanted);
      const auto types = [&] { return mapping.reader(sections->types, sections->types_len); };
      return TypeWalk<MappedNames>(query, names).run(types(), types);
    }
  }
  auto names = find_names(WindowReader(fd, sections->strings, sections->strings_len), shapes);
  if (!names) return names.error();
  const auto types = [&] { return WindowReader(fd, sections->types, sections->types_len); };
  return TypeWalk<FoundNames>(query, *names).run(types(), types);
}

}  // namespace bpfready
