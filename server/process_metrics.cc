#include "server/process_metrics.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace attnserve::server {
namespace {

struct ProcStat {
  double cpu_seconds = 0;
  double start_ticks = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
};

bool ReadProcStat(ProcStat* stat) {
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (!std::getline(file, line)) return false;
  // The command name (field 2) may hold spaces; fields after it are space
  // separated.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::vector<std::string> f = absl::StrSplit(line.substr(close + 2), ' ');
  // f[0] is field 3 (state): field k is f[k - 3].
  if (f.size() < 22) return false;
  double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  if (!absl::SimpleAtod(f[11], &utime) || !absl::SimpleAtod(f[12], &stime) ||
      !absl::SimpleAtod(f[19], &start) || !absl::SimpleAtod(f[20], &vsize) ||
      !absl::SimpleAtod(f[21], &rss)) {
    return false;
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  stat->cpu_seconds = (utime + stime) / ticks;
  stat->start_ticks = start;
  stat->virtual_bytes = vsize;
  stat->resident_bytes = rss * static_cast<double>(sysconf(_SC_PAGESIZE));
  return true;
}

double BootTimeSeconds() {
  std::ifstream file("/proc/stat");
  std::string line;
  while (std::getline(file, line)) {
    double btime = 0;
    if (line.rfind("btime ", 0) == 0 &&
        absl::SimpleAtod(line.substr(6), &btime))
      return btime;
  }
  return 0;
}

double OpenFds() {
  std::error_code ec;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++count;
  }
  return count;
}

prometheus::MetricFamily Single(const char* name, const char* help,
                                prometheus::MetricType type, double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  ProcStat stat;
  if (ReadProcStat(&stat)) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    families.push_back(
        Single("process_cpu_seconds_total",
               "Total user and system CPU time spent in seconds.",
               prometheus::MetricType::Counter, stat.cpu_seconds));
    families.push_back(Single(
        "process_resident_memory_bytes", "Resident memory size in bytes.",
        prometheus::MetricType::Gauge, stat.resident_bytes));
    families.push_back(
        Single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
               prometheus::MetricType::Gauge, stat.virtual_bytes));
    families.push_back(
        Single("process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.",
               prometheus::MetricType::Gauge,
               BootTimeSeconds() + stat.start_ticks / ticks));
  }
  families.push_back(Single("process_open_fds",
                            "Number of open file descriptors.",
                            prometheus::MetricType::Gauge, OpenFds()));
  return families;
}

}  // namespace attnserve::server
