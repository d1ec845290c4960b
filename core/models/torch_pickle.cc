#include "core/models/torch_pickle.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"

namespace attnserve {
namespace {

// Containers nest a few levels in a state dict (the _metadata OrderedDict of
// dicts, a tensor's size tuple inside its argument tuple); the bound keeps the
// recursive destruction of a hostile stream's nesting off the stack limit.
constexpr int kMaxDepth = 64;

enum class GlobalKind { kOrderedDict, kRebuildTensor, kStorage };

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// A pickled value: only the kinds a state dict is made of.
struct Value {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kString,
    kTuple,
    kDict,
    kGlobal,
    kStorage,
    kTensor
  };
  Kind kind = Kind::kNone;
  int64_t i = 0;                                       // kBool, kInt
  std::string s;                                       // kString
  std::vector<ValuePtr> items;                         // kTuple
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // kDict
  GlobalKind global = GlobalKind::kOrderedDict;        // kGlobal
  // kGlobal storage class (dtype, dtype_name); kStorage (+ key, numel);
  // kTensor (all fields).
  TorchTensorRef tensor;
  int depth = 0;
  // A dict stored inside another value takes no more items: with this rule
  // no container can come to contain itself (shared_ptr cycles would leak).
  bool frozen = false;
};

const char* KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kString:
      return "str";
    case Value::Kind::kTuple:
      return "tuple";
    case Value::Kind::kDict:
      return "dict";
    case Value::Kind::kGlobal:
      return "global";
    case Value::Kind::kStorage:
      return "storage";
    case Value::Kind::kTensor:
      return "tensor";
  }
  return "?";
}

// The names of every pickle opcode (Python's pickletools), for messages.
const char* OpcodeName(uint8_t op) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {
      {'(', "MARK"},          {'.', "STOP"},
      {'0', "POP"},           {'1', "POP_MARK"},
      {'2', "DUP"},           {'F', "FLOAT"},
      {'I', "INT"},           {'J', "BININT"},
      {'K', "BININT1"},       {'L', "LONG"},
      {'M', "BININT2"},       {'N', "NONE"},
      {'P', "PERSID"},        {'Q', "BINPERSID"},
      {'R', "REDUCE"},        {'S', "STRING"},
      {'T', "BINSTRING"},     {'U', "SHORT_BINSTRING"},
      {'V', "UNICODE"},       {'X', "BINUNICODE"},
      {'a', "APPEND"},        {'b', "BUILD"},
      {'c', "GLOBAL"},        {'d', "DICT"},
      {'}', "EMPTY_DICT"},    {'e', "APPENDS"},
      {'g', "GET"},           {'h', "BINGET"},
      {'i', "INST"},          {'j', "LONG_BINGET"},
      {'l', "LIST"},          {']', "EMPTY_LIST"},
      {'o', "OBJ"},           {'p', "PUT"},
      {'q', "BINPUT"},        {'r', "LONG_BINPUT"},
      {'s', "SETITEM"},       {'t', "TUPLE"},
      {')', "EMPTY_TUPLE"},   {'u', "SETITEMS"},
      {'G', "BINFLOAT"},      {'C', "SHORT_BINBYTES"},
      {'B', "BINBYTES"},      {0x80, "PROTO"},
      {0x81, "NEWOBJ"},       {0x82, "EXT1"},
      {0x83, "EXT2"},         {0x84, "EXT4"},
      {0x85, "TUPLE1"},       {0x86, "TUPLE2"},
      {0x87, "TUPLE3"},       {0x88, "NEWTRUE"},
      {0x89, "NEWFALSE"},     {0x8a, "LONG1"},
      {0x8b, "LONG4"},        {0x8c, "SHORT_BINUNICODE"},
      {0x8d, "BINUNICODE8"},  {0x8e, "BINBYTES8"},
      {0x8f, "EMPTY_SET"},    {0x90, "ADDITEMS"},
      {0x91, "FROZENSET"},    {0x92, "NEWOBJ_EX"},
      {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"},
      {0x95, "FRAME"},        {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"},  {0x98, "READONLY_BUFFER"}};
  for (const auto& [code, name] : kNames) {
    if (code == op) return name;
  }
  return "not a pickle opcode";
}

// Text from the stream for a message: escaped and cut.
std::string Printable(std::string_view s) {
  std::string out = absl::CHexEscape(
      absl::string_view(s.data(), std::min<size_t>(s.size(), 80)));
  if (s.size() > 80) out += "...";
  return out;
}

bool StorageType(std::string_view name, StDType* dtype) {
  static const std::pair<std::string_view, StDType> kTypes[] = {
      {"FloatStorage", StDType::kF32},
      {"HalfStorage", StDType::kF16},
      {"BFloat16Storage", StDType::kBF16},
      {"LongStorage", StDType::kI64},
      {"IntStorage", StDType::kI32}};
  for (const auto& [n, t] : kTypes) {
    if (n == name) {
      *dtype = t;
      return true;
    }
  }
  return false;
}

bool ValidStorageKey(const std::string& key) {
  if (key.empty() || key.size() > 64) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_';
  });
}

class Unpickler {
 public:
  Unpickler(std::string_view data, const std::string& where)
      : data_(data), where_(where) {}

  absl::StatusOr<ValuePtr> Run() {
    while (pos_ < data_.size()) {
      op_at_ = pos_;
      op_ = static_cast<uint8_t>(data_[pos_++]);
      RETURN_IF_ERROR(op_ == '.' ? Stop() : Step());
      if (result_ != nullptr) return result_;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        where_, ": pickle ends at byte ", data_.size(),
        " without a STOP opcode (truncated or not a torch.save pickle)"));
  }

 private:
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: pickle opcode 0x%02x (%s) at byte %d: %s", where_,
                        op_, OpcodeName(op_), op_at_, what));
  }

  absl::Status Step() {
    switch (op_) {
      case 0x80:  // PROTO
        return Proto();
      case 0x95:  // FRAME: a length prefix only; the frame's bytes follow
        return Bytes(8).status();
      case '(':  // MARK
        marks_.push_back(stack_.size());
        return absl::OkStatus();
      case '}':  // EMPTY_DICT
        return Push(NewValue(Value::Kind::kDict));
      case ')':  // EMPTY_TUPLE
        return Push(NewValue(Value::Kind::kTuple));
      case 't':  // TUPLE
        return TupleFromMark();
      case 0x85:  // TUPLE1
      case 0x86:  // TUPLE2
      case 0x87:  // TUPLE3
        return TupleOf(op_ - 0x84);
      case 'X':  // BINUNICODE
        return String(4);
      case 0x8c:  // SHORT_BINUNICODE
        return String(1);
      case 'J':  // BININT
        return Int(4, /*is_signed=*/true);
      case 'K':  // BININT1
        return Int(1, /*is_signed=*/false);
      case 'M':  // BININT2
        return Int(2, /*is_signed=*/false);
      case 0x8a:  // LONG1
        return Long1();
      case 'N':  // NONE
        return Push(NewValue(Value::Kind::kNone));
      case 0x88:  // NEWTRUE
      case 0x89:  // NEWFALSE
        return Bool(op_ == 0x88);
      case 'q':  // BINPUT
      case 'r':  // LONG_BINPUT
        return Put(op_ == 'q' ? 1 : 4);
      case 0x94:  // MEMOIZE
        return Memoize(static_cast<uint32_t>(memo_.size()));
      case 'h':  // BINGET
      case 'j':  // LONG_BINGET
        return Get(op_ == 'h' ? 1 : 4);
      case 'c':  // GLOBAL
        return Global();
      case 0x93:  // STACK_GLOBAL
        return StackGlobal();
      case 'Q':  // BINPERSID
        return PersistentId();
      case 'R':  // REDUCE
        return Reduce();
      case 's':  // SETITEM
        return SetItem();
      case 'u':  // SETITEMS
        return SetItems();
      case 'b':  // BUILD
        return Build();
      default:
        return Error(
            "not an opcode of a tensor state dict (torch.save of a dict of "
            "tensors); refusing to go on");
    }
  }

  // --- stream and stack primitives ---

  absl::StatusOr<std::string_view> Bytes(size_t n) {
    if (n > data_.size() - pos_) {
      return Error(absl::StrCat("needs ", n, " bytes, ", data_.size() - pos_,
                                " left (truncated pickle)"));
    }
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  absl::StatusOr<uint64_t> Unsigned(size_t n) {
    ASSIGN_OR_RETURN(std::string_view b, Bytes(n));
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(b[k])) << (8 * k);
    return v;
  }

  static ValuePtr NewValue(Value::Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    v->depth = 1;
    return v;
  }

  absl::Status Push(ValuePtr v) {
    stack_.push_back(std::move(v));
    return absl::OkStatus();
  }

  // The top value, taken off the stack; not across the last MARK.
  absl::StatusOr<ValuePtr> Pop() {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) return Error("the stack is empty");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }

  absl::StatusOr<std::vector<ValuePtr>> PopToMark() {
    if (marks_.empty()) return Error("no MARK before it");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + mark),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }

  // Makes `child` part of a container of depth `*depth`.
  absl::Status Adopt(const ValuePtr& child, int* depth) {
    if (child->depth + 1 > kMaxDepth) {
      return Error(absl::StrCat("values nested deeper than ", kMaxDepth));
    }
    *depth = std::max(*depth, child->depth + 1);
    if (child->kind == Value::Kind::kDict) child->frozen = true;
    return absl::OkStatus();
  }

  absl::Status PushTuple(std::vector<ValuePtr> items) {
    ValuePtr t = NewValue(Value::Kind::kTuple);
    for (const ValuePtr& item : items) RETURN_IF_ERROR(Adopt(item, &t->depth));
    t->items = std::move(items);
    return Push(std::move(t));
  }

  // --- opcodes ---

  absl::Status Proto() {
    ASSIGN_OR_RETURN(uint64_t version, Unsigned(1));
    if (version < 2 || version > 5) {
      return Error(absl::StrCat("pickle protocol ", version,
                                " (torch.save writes 2; 2 to 5 are read)"));
    }
    return absl::OkStatus();
  }

  absl::Status Stop() {
    if (stack_.size() != 1 || !marks_.empty()) {
      return Error(absl::StrCat("the pickle ends with ", stack_.size(),
                                " values and ", marks_.size(),
                                " open MARKs on the stack, not one value"));
    }
    result_ = std::move(stack_.back());
    stack_.clear();
    return absl::OkStatus();
  }

  absl::Status TupleFromMark() {
    ASSIGN_OR_RETURN(std::vector<ValuePtr> items, PopToMark());
    return PushTuple(std::move(items));
  }

  absl::Status TupleOf(int n) {
    std::vector<ValuePtr> items(n);
    for (int k = n - 1; k >= 0; --k) {
      ASSIGN_OR_RETURN(items[k], Pop());
    }
    return PushTuple(std::move(items));
  }

  absl::Status String(size_t length_bytes) {
    ASSIGN_OR_RETURN(uint64_t n, Unsigned(length_bytes));
    ASSIGN_OR_RETURN(std::string_view s, Bytes(n));
    ValuePtr v = NewValue(Value::Kind::kString);
    v->s = std::string(s);
    return Push(std::move(v));
  }

  absl::Status Int(size_t n, bool is_signed) {
    ASSIGN_OR_RETURN(uint64_t u, Unsigned(n));
    ValuePtr v = NewValue(Value::Kind::kInt);
    v->i = is_signed ? static_cast<int64_t>(static_cast<int32_t>(u))
                     : static_cast<int64_t>(u);
    return Push(std::move(v));
  }

  // n bytes of little-endian two's complement (numbers past 32 bits).
  absl::Status Long1() {
    ASSIGN_OR_RETURN(uint64_t n, Unsigned(1));
    if (n > 8) return Error(absl::StrCat("a ", n, "-byte integer (max 8)"));
    ASSIGN_OR_RETURN(uint64_t u, Unsigned(n));
    if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~uint64_t{0} << (8 * n);
    ValuePtr v = NewValue(Value::Kind::kInt);
    v->i = static_cast<int64_t>(u);
    return Push(std::move(v));
  }

  absl::Status Bool(bool b) {
    ValuePtr v = NewValue(Value::Kind::kBool);
    v->i = b ? 1 : 0;
    return Push(std::move(v));
  }

  absl::Status Memoize(uint32_t key) {
    if (stack_.empty()) return Error("the stack is empty");
    memo_[key] = stack_.back();
    return absl::OkStatus();
  }

  absl::Status Put(size_t n) {
    ASSIGN_OR_RETURN(uint64_t key, Unsigned(n));
    return Memoize(static_cast<uint32_t>(key));
  }

  absl::Status Get(size_t n) {
    ASSIGN_OR_RETURN(uint64_t key, Unsigned(n));
    auto it = memo_.find(static_cast<uint32_t>(key));
    if (it == memo_.end()) return Error(absl::StrCat("memo ", key, " not set"));
    return Push(it->second);
  }

  // The only callables a state dict names; anything else (os.system,
  // builtins.eval, ...) ends the parse before it could be referenced.
  absl::Status Resolve(std::string_view module, std::string_view name) {
    ValuePtr v = NewValue(Value::Kind::kGlobal);
    if (module == "collections" && name == "OrderedDict") {
      v->global = GlobalKind::kOrderedDict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      v->global = GlobalKind::kRebuildTensor;
    } else if (module == "torch" && StorageType(name, &v->tensor.dtype)) {
      v->global = GlobalKind::kStorage;
      v->tensor.dtype_name = std::string(name);
    } else {
      return Error(absl::StrCat(
          "global '", Printable(module), ".", Printable(name),
          "' is not allowed: a state dict only names collections.OrderedDict, "
          "torch._utils._rebuild_tensor_v2 and torch.{Float,Half,BFloat16,"
          "Long,Int}Storage; refusing to load (no pickle code is run)"));
    }
    return Push(std::move(v));
  }

  absl::StatusOr<std::string_view> Line() {
    const size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos) return Error("unterminated name");
    std::string_view line = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }

  absl::Status Global() {
    ASSIGN_OR_RETURN(std::string_view module, Line());
    ASSIGN_OR_RETURN(std::string_view name, Line());
    return Resolve(module, name);
  }

  absl::Status StackGlobal() {
    ASSIGN_OR_RETURN(ValuePtr name, Pop());
    ASSIGN_OR_RETURN(ValuePtr module, Pop());
    if (name->kind != Value::Kind::kString ||
        module->kind != Value::Kind::kString) {
      return Error("module and name are not strings");
    }
    return Resolve(module->s, name->s);
  }

  // torch.save's persistent id of a storage:
  // ('storage', torch.<Type>Storage, key, location, numel).
  absl::Status PersistentId() {
    ASSIGN_OR_RETURN(ValuePtr pid, Pop());
    const auto& t = pid->items;
    if (pid->kind != Value::Kind::kTuple || t.size() != 5 ||
        t[0]->kind != Value::Kind::kString || t[0]->s != "storage" ||
        t[1]->kind != Value::Kind::kGlobal ||
        t[1]->global != GlobalKind::kStorage ||
        t[2]->kind != Value::Kind::kString ||
        t[3]->kind != Value::Kind::kString || t[4]->kind != Value::Kind::kInt) {
      return Error(
          "not a storage id ('storage', torch.<Type>Storage, key, location, "
          "numel)");
    }
    if (!ValidStorageKey(t[2]->s)) {
      return Error(absl::StrCat("storage key '", Printable(t[2]->s),
                                "' (expected letters, digits or _)"));
    }
    const int64_t elem = static_cast<int64_t>(StDTypeBytes(t[1]->tensor.dtype));
    if (t[4]->i < 0 || t[4]->i > INT64_MAX / elem) {
      return Error(absl::StrCat("storage of ", t[4]->i, " elements"));
    }
    ValuePtr v = NewValue(Value::Kind::kStorage);
    v->tensor = t[1]->tensor;  // dtype and its name
    v->tensor.storage_key = t[2]->s;
    v->tensor.storage_numel = t[4]->i;
    return Push(std::move(v));
  }

  // A tuple of non-negative ints (a size or a stride).
  absl::StatusOr<std::vector<int64_t>> Dims(const ValuePtr& v,
                                            const char* what) {
    std::vector<int64_t> out;
    if (v->kind != Value::Kind::kTuple || v->items.size() > 64) {
      return Error(absl::StrCat("tensor ", what, " is not a tuple of ints"));
    }
    for (const ValuePtr& d : v->items) {
      if (d->kind != Value::Kind::kInt || d->i < 0) {
        return Error(absl::StrCat("tensor ", what,
                                  " is not a tuple of non-negative ints"));
      }
      out.push_back(d->i);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
  // backward_hooks[, metadata]).
  absl::Status RebuildTensor(const ValuePtr& args) {
    const auto& a = args->items;
    if (a.size() < 6 || a.size() > 7 || a[0]->kind != Value::Kind::kStorage ||
        a[1]->kind != Value::Kind::kInt || a[1]->i < 0 ||
        a[4]->kind != Value::Kind::kBool || a[5]->kind != Value::Kind::kDict ||
        (a.size() == 7 && a[6]->kind != Value::Kind::kDict &&
         a[6]->kind != Value::Kind::kNone)) {
      return Error(
          "_rebuild_tensor_v2 arguments are not (storage, offset, size, "
          "stride, requires_grad, hooks[, metadata])");
    }
    ValuePtr v = NewValue(Value::Kind::kTensor);
    v->tensor = a[0]->tensor;
    v->tensor.storage_offset = a[1]->i;
    ASSIGN_OR_RETURN(v->tensor.shape, Dims(a[2], "size"));
    ASSIGN_OR_RETURN(v->tensor.stride, Dims(a[3], "stride"));
    if (v->tensor.shape.size() != v->tensor.stride.size()) {
      return Error(absl::StrCat("tensor size ", ShapeToString(v->tensor.shape),
                                " and stride ", ShapeToString(v->tensor.stride),
                                " have different lengths"));
    }
    uint64_t numel = 1;
    for (int64_t d : v->tensor.shape) {
      if (d > 0 && numel > (UINT64_MAX / 16) / static_cast<uint64_t>(d)) {
        return Error(absl::StrCat(
            "tensor size ", ShapeToString(v->tensor.shape), " is too large"));
      }
      numel *= static_cast<uint64_t>(d);
    }
    return Push(std::move(v));
  }

  absl::Status Reduce() {
    ASSIGN_OR_RETURN(ValuePtr args, Pop());
    ASSIGN_OR_RETURN(ValuePtr callable, Pop());
    if (callable->kind != Value::Kind::kGlobal ||
        args->kind != Value::Kind::kTuple) {
      return Error(absl::StrCat("calling a ", KindName(callable->kind),
                                " with a ", KindName(args->kind)));
    }
    switch (callable->global) {
      case GlobalKind::kOrderedDict:
        if (!args->items.empty()) return Error("OrderedDict with arguments");
        return Push(NewValue(Value::Kind::kDict));
      case GlobalKind::kRebuildTensor:
        return RebuildTensor(args);
      case GlobalKind::kStorage:
        break;
    }
    return Error(absl::StrCat("calling torch.", callable->tensor.dtype_name,
                              " (storages come from persistent ids)"));
  }

  absl::Status Insert(const ValuePtr& dict, ValuePtr key, ValuePtr value) {
    if (dict->kind != Value::Kind::kDict) {
      return Error(absl::StrCat("setting an item of a ", KindName(dict->kind)));
    }
    if (dict->frozen || key == dict || value == dict) {
      return Error("setting an item of a dict already stored elsewhere");
    }
    RETURN_IF_ERROR(Adopt(key, &dict->depth));
    RETURN_IF_ERROR(Adopt(value, &dict->depth));
    dict->entries.emplace_back(std::move(key), std::move(value));
    return absl::OkStatus();
  }

  absl::Status SetItem() {
    ASSIGN_OR_RETURN(ValuePtr value, Pop());
    ASSIGN_OR_RETURN(ValuePtr key, Pop());
    if (stack_.empty()) return Error("no dict on the stack");
    return Insert(stack_.back(), std::move(key), std::move(value));
  }

  absl::Status SetItems() {
    ASSIGN_OR_RETURN(std::vector<ValuePtr> items, PopToMark());
    if (items.size() % 2 != 0) return Error("an odd number of keys and values");
    if (stack_.empty()) return Error("no dict on the stack");
    const ValuePtr& dict = stack_.back();
    for (size_t k = 0; k < items.size(); k += 2) {
      RETURN_IF_ERROR(
          Insert(dict, std::move(items[k]), std::move(items[k + 1])));
    }
    return absl::OkStatus();
  }

  // OrderedDict.__reduce__ passes the instance's attributes (a state dict's
  // _metadata) as BUILD state: dropped, the weights do not depend on it.
  absl::Status Build() {
    RETURN_IF_ERROR(Pop().status());
    if (stack_.empty() || stack_.back()->kind != Value::Kind::kDict) {
      return Error("BUILD of something other than an OrderedDict");
    }
    return absl::OkStatus();
  }

  std::string_view data_;
  std::string where_;
  size_t pos_ = 0;
  size_t op_at_ = 0;
  uint8_t op_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, ValuePtr> memo_;
  ValuePtr result_;
};

}  // namespace

bool TorchTensorRef::contiguous() const {
  int64_t expected = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    if (shape[k] == 0) return true;  // no elements: any strides
    if (shape[k] != 1 && stride[k] != expected) return false;
    expected *= shape[k];
  }
  return true;
}

absl::StatusOr<std::map<std::string, TorchTensorRef>> ParseTorchStateDict(
    std::string_view pickle, const std::string& where) {
  Unpickler unpickler(pickle, where);
  ASSIGN_OR_RETURN(ValuePtr top, unpickler.Run());
  if (top->kind != Value::Kind::kDict) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the pickle holds a ", KindName(top->kind),
                     ", not a state dict (a dict of name -> tensor)"));
  }
  std::map<std::string, TorchTensorRef> tensors;
  for (const auto& [key, value] : top->entries) {
    if (key->kind != Value::Kind::kString) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a state dict key is a ", KindName(key->kind),
                       ", not a str"));
    }
    if (value->kind != Value::Kind::kTensor) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": '", Printable(key->s), "' is of type ",
          KindName(value->kind),
          ", not a tensor (only state dicts of tensors are read)"));
    }
    tensors[key->s] = value->tensor;
  }
  return tensors;
}

}  // namespace attnserve
