#ifndef ATTNSERVE_CORE_MODELS_TORCH_PICKLE_H_
#define ATTNSERVE_CORE_MODELS_TORCH_PICKLE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/models/safetensors.h"

namespace attnserve {

// One tensor of a pickled PyTorch state dict: where its data lives in the
// checkpoint's storages and how it views them.
struct TorchTensorRef {
  std::string storage_key;  // <archive>/data/<storage_key> in the zip
  StDType dtype = StDType::kF32;
  std::string dtype_name;      // the storage class: "FloatStorage", ...
  int64_t storage_numel = 0;   // elements of the whole storage
  int64_t storage_offset = 0;  // elements
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;  // elements

  // Row-major with no gaps (PyTorch's is_contiguous: dimensions of size 1
  // may have any stride).
  bool contiguous() const;
};

// Reads the pickle of a state dict as torch.save writes it (data.pkl of the
// zip checkpoint: a dict or collections.OrderedDict of name -> tensor) WITHOUT
// running any pickle code. Only the opcodes such a pickle uses are understood
// (PROTO, FRAME, MARK, STOP, EMPTY_DICT, EMPTY_TUPLE, TUPLE/TUPLE1-3,
// BINUNICODE, SHORT_BINUNICODE, BININT/BININT1/BININT2, LONG1, NONE,
// NEWTRUE/NEWFALSE, the memo opcodes, SETITEM(S), BUILD on a dict, BINPERSID
// for storages, REDUCE) and GLOBAL / STACK_GLOBAL may only name
// collections.OrderedDict, torch._utils._rebuild_tensor_v2 and the
// torch.{Float,Half,BFloat16,Long,Int}Storage types. Anything else (another
// global such as os.system, an unknown opcode, a malformed stream) is an
// InvalidArgument naming `where` (the file), the opcode and its byte offset.
// Values that are not tensors in the top-level dict are refused naming the
// key. Shapes, strides and offsets are checked for overflow but not against
// the storages (the caller has them).
absl::StatusOr<std::map<std::string, TorchTensorRef>> ParseTorchStateDict(
    std::string_view pickle, const std::string& where);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_TORCH_PICKLE_H_
