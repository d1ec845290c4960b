#include "core/layers/positions.h"

#include <cmath>

namespace attnserve {

Tensor SinusoidalPositions(int num_positions, int dim) {
  Tensor out({num_positions, dim});
  const int sentinel = (dim + 1) / 2;  // number of sin columns
  for (int pos = 0; pos < num_positions; ++pos) {
    float* row = out.data() + static_cast<int64_t>(pos) * dim;
    for (int j = 0; j < dim; ++j) {
      // numpy: pos / np.power(10000, 2 * (j // 2) / dim), then sin of even j,
      // cos of odd j.
      const double angle =
          pos / std::pow(10000.0, static_cast<double>(2 * (j / 2)) /
                                      static_cast<double>(dim));
      if (j % 2 == 0) {
        row[j / 2] = static_cast<float>(std::sin(angle));
      } else {
        row[sentinel + j / 2] = static_cast<float>(std::cos(angle));
      }
    }
  }
  return out;
}

}  // namespace attnserve
