#include "libcheck/kernel_btf.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>
#include <algorithm>
#include <utility>

namespace bpfready {

namespace {

// The raw format (the kernel's include/uapi/linux/btf.h), read field by
// field so that nothing depends on the build host's header version.
constexpr __u16 kBtfMagic = 0xeB9F;
constexpr std::size_t kHeaderMin = 24;
constexpr std::size_t kTypeHeader = 12;  // name_off, info, size/type
// The read window; it grows for a record larger than itself (a struct of
// more than 5000 members), so it stays small in what a process touches.
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

// Bytes that follow a type's 12-byte header; false for a kind not known here.
bool trailing_bytes(__u32 kind, __u32 vlen, std::size_t* bytes) {
  switch (kind) {
    case kInt: case kVar: case kDeclTag: *bytes = 4; return true;
    case kPtr: case kFwd: case kTypedef: case kVolatile: case kConst: case kRestrict:
    case kFunc: case kFloat: case kTypeTag: *bytes = 0; return true;
    case kArray: *bytes = 12; return true;
    case kStruct: case kUnion: case kDatasec: case kEnum64: *bytes = std::size_t{12} * vlen; return true;
    case kEnum: case kFuncProto: *bytes = std::size_t{8} * vlen; return true;
    default: return false;
  }
}

// Reads a byte range of FD through one window, record by record.
class WindowReader {
 public:
  WindowReader(int fd, off_t start, std::size_t length) : fd_(fd), next_(start), left_(length) {}

  // Makes at least N bytes available at data(); false at the range's end
  // (or on a read error, kept in error()).
  bool need(std::size_t n) { return end_ - begin_ >= n || refill(n); }
  [[nodiscard]] const char* data() const { return buffer_.data() + begin_; }
  [[nodiscard]] std::size_t available() const { return end_ - begin_; }
  void consume(std::size_t n) { begin_ += n; }
  [[nodiscard]] bool done() const { return begin_ == end_ && left_ == 0; }
  [[nodiscard]] int error() const { return error_; }

 private:
  bool refill(std::size_t n) {
    if (n > buffer_.size()) buffer_.resize(n);
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

  int fd_;
  off_t next_;
  std::size_t left_;
  std::vector<char> buffer_ = std::vector<char>(kWindow);
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

// The wanted names found in the string section, by offset. A few dozen at
// most, looked up once per type of the kernel's 100k+: a sorted vector.
class FoundNames {
 public:
  void add(__u32 offset, const std::string& name) {
    entries_.emplace_back(offset, name);
    maybe_[offset % kFilterBits] = true;
  }
  void sort() { std::sort(entries_.begin(), entries_.end()); }
  [[nodiscard]] const std::string* at(__u32 offset) const {
    if (!maybe_[offset % kFilterBits]) return nullptr;  // almost every type: one bit test
    const auto found = std::lower_bound(entries_.begin(), entries_.end(), offset,
                                        [](const auto& entry, __u32 key) { return entry.first < key; });
    return found != entries_.end() && found->first == offset ? &found->second : nullptr;
  }

 private:
  static constexpr std::size_t kFilterBits = 1 << 16;
  std::vector<std::pair<__u32, std::string>> entries_;
  std::vector<bool> maybe_ = std::vector<bool>(kFilterBits, false);
};

// Offsets in the string section of every name in WANTED. Most of the
// section's strings are ruled out by their length alone.
Expected<FoundNames> find_names(int fd, const Sections& sections, const std::set<std::string, std::less<>>& wanted) {
  // (length, first byte) pairs of the wanted names: a string's pair is
  // looked up before any compare.
  constexpr std::size_t kLongest = 255;
  std::vector<bool> wanted_shape((kLongest + 1) * 256, false);
  for (const auto& name : wanted) {
    if (!name.empty() && name.size() <= kLongest) {
      wanted_shape[name.size() * 256 + static_cast<unsigned char>(name[0])] = true;
    }
  }
  FoundNames found;
  WindowReader reader(fd, sections.strings, sections.strings_len);
  __u32 offset = 0;
  while (reader.need(1)) {
    const std::string_view window(reader.data(), reader.available());
    const std::size_t nul = window.find('\0');
    if (nul == std::string_view::npos) {
      // The string runs past the window: get the rest (names are short).
      if (!reader.need(window.size() + 1)) break;
      continue;
    }
    if (nul != 0 && nul <= kLongest && wanted_shape[nul * 256 + static_cast<unsigned char>(window[0])]) {
      const auto name = wanted.find(window.substr(0, nul));
      if (name != wanted.end()) found.add(offset, *name);
    }
    reader.consume(nul + 1);
    offset += static_cast<__u32>(nul + 1);
  }
  if (reader.error() != 0) return SysError::from_errno(reader.error(), "read the kernel BTF");
  if (!reader.done()) return SysError::plain("the kernel BTF's string section does not end in a NUL");
  found.sort();
  return found;
}

// Adds the struct at RECORD (a full type record) to FACTS when it has every
// member QUERY asks for; false when one is missing or a bitfield.
bool take_struct(const char* record, __u32 vlen, const std::string& name,
                 const FoundNames& names, const KernelBtfQuery& query,
                 KernelBtfFacts* facts) {
  const bool bitfield_offsets = (load32(record + 4) >> 31) != 0;
  const auto& members_wanted = query.struct_members.at(name);
  BtfStructLayout layout;
  layout.size = load32(record + 8);
  for (__u32 i = 0; i < vlen; ++i) {
    const char* member = record + kTypeHeader + std::size_t{12} * i;
    const std::string* named = names.at(load32(member));
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
  facts->structs.emplace(name, std::move(layout));
  return true;
}

}  // namespace

Expected<KernelBtfFacts> scan_kernel_btf(int fd, const KernelBtfQuery& query) {
  auto sections = read_header(fd);
  if (!sections) return sections.error();

  std::set<std::string, std::less<>> wanted(query.typedefs.begin(), query.typedefs.end());
  for (const auto& [name, members] : query.struct_members) {
    wanted.insert(name);
    wanted.insert(members.begin(), members.end());
  }
  auto names = find_names(fd, *sections, wanted);
  if (!names) return names.error();

  const std::set<std::string> typedefs(query.typedefs.begin(), query.typedefs.end());
  std::set<std::string> incomplete;  // structs seen without every member asked for
  KernelBtfFacts facts;
  WindowReader reader(fd, sections->types, sections->types_len);
  for (__u32 id = 1; reader.need(kTypeHeader); ++id) {
    const __u32 info = load32(reader.data() + 4);
    const __u32 kind = (info >> 24) & 0x1f;
    const __u32 vlen = info & 0xffff;
    std::size_t trailing = 0;
    if (!trailing_bytes(kind, vlen, &trailing)) {
      return SysError::plain("the kernel BTF has type kind " + std::to_string(kind) +
                             ", which this version of bpfready does not know");
    }
    if (!reader.need(kTypeHeader + trailing)) break;
    if (const std::string* named = names->at(load32(reader.data())); named != nullptr) {
      const std::string& name = *named;
      if (kind == kTypedef && typedefs.count(name) != 0) facts.typedef_ids.emplace(name, id);
      if (kind == kStruct && query.struct_members.count(name) != 0 && facts.structs.count(name) == 0 &&
          !take_struct(reader.data(), vlen, name, *names, query, &facts)) {
        incomplete.insert(name);
      }
    }
    reader.consume(kTypeHeader + trailing);
  }
  if (reader.error() != 0) return SysError::from_errno(reader.error(), "read the kernel BTF");
  if (!reader.done()) return SysError::plain("the kernel BTF's type section ends inside a type");
  for (const auto& name : incomplete) {
    if (facts.structs.count(name) == 0) {
      return SysError::plain("the kernel BTF's struct " + name + " lacks a member bpfready reads");
    }
  }
  return facts;
}

}  // namespace bpfready
