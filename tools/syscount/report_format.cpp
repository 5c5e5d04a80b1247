// The parts of syscount's report that are arithmetic or layout rather than
// selection: latency buckets and percentiles, durations for a terminal
// column, the funclatency-style histogram, the sort keys.
#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "tools/syscount/report.h"

namespace bpfready {

std::uint64_t latency_bucket_low(std::size_t index) {
  if (index < 8) return index;
  return (4 + index % 4) << (index / 4 - 1);
}

std::optional<std::uint64_t> latency_bucket_high(std::size_t index) {
  if (index + 1 >= kLatencyBuckets) return std::nullopt;
  if (index < 8) return index + 1;
  return (5 + index % 4) << (index / 4 - 1);
}

std::size_t latency_bucket_of(std::uint64_t ns) {
  if (ns >= (std::uint64_t{1} << 33)) return kLatencyBuckets - 1;
  if (ns < 8) return static_cast<std::size_t>(ns);
  std::size_t high = 63 - static_cast<std::size_t>(__builtin_clzll(ns));
  return 4 * (high - 1) + static_cast<std::size_t>((ns >> (high - 2)) & 3);
}

std::uint64_t LatencyHistogram::calls() const {
  std::uint64_t total = 0;
  for (auto count : buckets) total += count;
  return total;
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  const std::uint64_t total = calls();
  if (total == 0) return 0;
  // The rank of the call at the P-th percentile: ceil(p% of total), at least 1.
  auto rank = static_cast<std::uint64_t>(static_cast<double>(total) * p / 100.0);
  if (static_cast<double>(rank) < static_cast<double>(total) * p / 100.0) ++rank;
  rank = std::clamp<std::uint64_t>(rank, 1, total);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    seen += buckets[i];
    if (seen < rank) continue;
    const auto high = latency_bucket_high(i);
    // The largest time the bucket holds.
    const std::uint64_t value = high ? *high - 1 : max;
    return std::clamp(value, min, std::max(min, max));
  }
  return max;
}

std::string format_duration(std::uint64_t ns) {
  struct Unit {
    double scale;
    const char* name;
  };
  constexpr std::array<Unit, 3> units = {{{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}}};
  const auto value = static_cast<double>(ns);
  char text[48];
  for (const auto& unit : units) {
    if (value < unit.scale) continue;
    const double scaled = value / unit.scale;
    const char* format = scaled < 10 ? "%.2f%s" : scaled < 100 ? "%.1f%s" : "%.0f%s";
    std::snprintf(text, sizeof text, format, scaled, unit.name);
    return text;
  }
  std::snprintf(text, sizeof text, "%" PRIu64 "ns", ns);
  return text;
}

std::string render_histogram(const SyscallRow& row) {
  std::ostringstream out;
  out << '\n' << row.name << ": latency histogram";
  if (!row.latency || row.latency->calls() == 0) {
    out << ": no call timed\n";
    return out.str();
  }
  const auto& buckets = row.latency->buckets;
  std::size_t first = 0;
  while (buckets[first] == 0) ++first;
  std::size_t last = kLatencyBuckets - 1;
  while (buckets[last] == 0) --last;
  const std::uint64_t peak = *std::max_element(buckets.begin(), buckets.end());
  out << " (" << row.latency->calls() << " calls)\n";
  constexpr int kBar = 40;
  char line[192];
  std::snprintf(line, sizeof line, "%27s : %-10s %s\n", "nsecs", "count", "distribution");
  out << line;
  for (std::size_t i = first; i <= last; ++i) {
    const auto high = latency_bucket_high(i);
    const std::string low_text = std::to_string(latency_bucket_low(i));
    const std::string high_text = high ? std::to_string(*high - 1) : std::string("...");
    const auto stars = static_cast<std::size_t>(buckets[i] * kBar / peak);
    std::snprintf(line, sizeof line, "%12s -> %-11s : %-10" PRIu64 " |%-*s|\n", low_text.c_str(),
                  high_text.c_str(), buckets[i], kBar, std::string(stars, '*').c_str());
    out << line;
  }
  return out.str();
}

std::optional<SortKey> parse_sort_key(std::string_view text) {
  if (text == "count") return SortKey::count;
  if (text == "time") return SortKey::time;
  if (text == "errors") return SortKey::errors;
  if (text == "name") return SortKey::name;
  return std::nullopt;
}

}  // namespace bpfready
