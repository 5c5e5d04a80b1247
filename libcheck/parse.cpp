#include "libcheck/parse.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>

namespace bpfready {

std::string join(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string size_text(std::size_t bytes) {
  constexpr std::size_t kKiB = std::size_t{1} << 10;
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes >= kKiB && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::vector<std::string> split(std::string_view text, std::string_view separators) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find_first_of(separators, start);
    const auto piece = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!piece.empty()) pieces.emplace_back(piece);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return pieces;
}

std::optional<long> parse_sysctl_int(std::string_view text) {
  text = trim(text);
  long value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::string KernelVersion::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::optional<KernelVersion> parse_kernel_version(std::string_view release) {
  release = trim(release);
  KernelVersion version;
  int* parts[] = {&version.major, &version.minor, &version.patch};
  const char* cursor = release.data();
  const char* end = release.data() + release.size();
  for (std::size_t i = 0; i < 3; ++i) {
    const auto [ptr, ec] = std::from_chars(cursor, end, *parts[i]);
    if (ec != std::errc()) return i < 2 ? std::nullopt : std::optional(version);  // major.minor at least
    cursor = ptr;
    if (cursor == end || *cursor != '.') return i < 1 ? std::nullopt : std::optional(version);
    ++cursor;
  }
  return version;
}

KernelConfigOptions parse_kernel_config(std::string_view text) {
  KernelConfigOptions options;
  constexpr std::string_view not_set_suffix = " is not set";
  for (const auto& raw : split(text, "\n")) {
    const auto line = trim(raw);
    if (line.starts_with("# CONFIG_") && line.ends_with(not_set_suffix)) {
      const auto name = line.substr(2, line.size() - 2 - not_set_suffix.size());
      options[std::string(name)] = "n";
    } else if (line.starts_with("CONFIG_")) {
      const auto eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      options[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
  }
  return options;
}

Expected<std::string> gunzip(std::string_view compressed, std::size_t max_output) {
  z_stream stream{};
  // 16 + MAX_WBITS: expect a gzip header, not a raw zlib stream.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return SysError::plain("zlib: cannot initialise inflate");
  std::string out;
  char buffer[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (stream.avail_in == 0) {  // zlib takes at most 4 GiB at a time
      const auto chunk = std::min<std::size_t>(compressed.size(), std::size_t{1} << 30);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));  // NOLINT: zlib's API is not const
      stream.avail_in = static_cast<uInt>(chunk);
      compressed.remove_prefix(chunk);
    }
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    const std::size_t produced = sizeof buffer - stream.avail_out;
    if (out.size() + produced > max_output) {
      inflateEnd(&stream);
      return SysError{EFBIG, "gzip data unpacks to more than " + size_text(max_output)};
    }
    out.append(buffer, produced);
    if (rc == Z_OK && stream.avail_in == 0 && compressed.empty() && stream.avail_out != 0) break;  // truncated input
  }
  inflateEnd(&stream);
  if (rc != Z_STREAM_END) return SysError::plain("gzip data is corrupt or truncated");
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_sysctl_conf(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& raw : split(text, "\n")) {
    auto line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '-') line.remove_prefix(1);  // "-key = value": ignore errors
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(trim(line.substr(0, eq)));
    if (key.empty()) continue;
    std::replace(key.begin(), key.end(), '/', '.');
    entries.emplace_back(std::move(key), std::string(trim(line.substr(eq + 1))));
  }
  return entries;
}

std::string_view to_string(LockdownMode mode) {
  switch (mode) {
    case LockdownMode::none: return "none";
    case LockdownMode::integrity: return "integrity";
    case LockdownMode::confidentiality: return "confidentiality";
  }
  return "unknown";
}

std::optional<LockdownMode> parse_lockdown(std::string_view text) {
  for (const auto& word : split(text, " \t\n")) {
    if (word.size() < 3 || word.front() != '[' || word.back() != ']') continue;
    const auto name = std::string_view(word).substr(1, word.size() - 2);
    if (name == "none") return LockdownMode::none;
    if (name == "integrity") return LockdownMode::integrity;
    if (name == "confidentiality") return LockdownMode::confidentiality;
  }
  return std::nullopt;
}

namespace {
bool parse_hex_mask(std::string_view text, std::uint64_t& out) {
  text = trim(text);
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}
template <class Id>
bool parse_ids(std::string_view text, std::vector<Id>& out) {
  for (const auto& field : split(text, " \t")) {
    unsigned long value = 0;
    const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (ec != std::errc() || ptr != field.data() + field.size()) return false;
    out.push_back(static_cast<Id>(value));
  }
  return true;
}
}  // namespace

std::optional<ProcessCreds> parse_proc_status(std::string_view text) {
  ProcessCreds creds;
  unsigned seen = 0;
  for (const auto& line : split(text, "\n")) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto key = std::string_view(line).substr(0, colon);
    const auto value = std::string_view(line).substr(colon + 1);
    if (key == "Uid" || key == "Gid") {
      std::vector<unsigned> ids;
      if (!parse_ids(value, ids) || ids.size() < 2) return std::nullopt;
      if (key == "Uid") {
        creds.uid = ids[0];
        creds.euid = ids[1];
      } else {
        creds.gid = ids[0];
        creds.egid = ids[1];
      }
      seen |= key == "Uid" ? 1U : 2U;
    } else if (key == "Groups") {
      if (!parse_ids(value, creds.groups)) return std::nullopt;
    } else if (key == "NoNewPrivs") {
      creds.no_new_privs = trim(value) == "1";
    } else {
      std::uint64_t* target = key == "CapInh"   ? &creds.cap_inheritable
                              : key == "CapPrm" ? &creds.cap_permitted
                              : key == "CapEff" ? &creds.cap_effective
                              : key == "CapBnd" ? &creds.cap_bounding
                              : key == "CapAmb" ? &creds.cap_ambient
                                                : nullptr;
      if (target == nullptr) continue;
      if (!parse_hex_mask(value, *target)) return std::nullopt;
      seen |= 4U;
    }
  }
  if ((seen & 7U) != 7U) return std::nullopt;
  return creds;
}

}  // namespace bpfready
