#ifndef ATTNSERVE_SERVER_PROCESS_METRICS_H_
#define ATTNSERVE_SERVER_PROCESS_METRICS_H_

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace attnserve::server {

// The standard Prometheus process_* metrics (CPU seconds, resident/virtual
// memory, start time, open file descriptors), read from /proc/self on every
// scrape.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_PROCESS_METRICS_H_
