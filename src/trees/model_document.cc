#include "trees/model_document.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace cairn::trees {

ModelValue ModelValue::Bool(bool b) {
  ModelValue v(Kind::kBool);
  v.boolean_ = b;
  return v;
}

ModelValue ModelValue::Number(ModelNumber n) {
  ModelValue v(Kind::kNumber);
  v.number_ = n;
  return v;
}

ModelValue ModelValue::String(std::string s) {
  ModelValue v(Kind::kString);
  v.text_ = std::move(s);
  return v;
}

const ModelValue* ModelValue::Find(std::string_view key) const {
  for (const auto& [name, value] : members_) {
    if (name == key) return &value;
  }
  return nullptr;
}

void ModelValue::Append(ModelValue v) {
  if (v.kind_ == Kind::kNumber && kind_ == Kind::kNumberArray) {
    numbers_.push_back(v.number_);
    return;
  }
  if (kind_ == Kind::kNumberArray) {  // the first non-number: spill the numbers into items
    kind_ = Kind::kArray;
    items_.reserve(numbers_.size() + 1);
    for (const ModelNumber& n : numbers_) items_.push_back(Number(n));
    numbers_.clear();
    numbers_.shrink_to_fit();
  }
  items_.push_back(std::move(v));
}

void ModelValue::AppendNumber(ModelNumber n) {
  if (kind_ == Kind::kNumberArray) {
    numbers_.push_back(n);
  } else {
    items_.push_back(Number(n));
  }
}

namespace {

// A decimal read once to float and once to double, each correctly rounded
// from the text (JSON writers of float models print the shortest text that
// reads back as the same float; via double it could round twice).
bool ParseDecimal(std::string_view text, ModelNumber* out) {
  std::string_view body = text;
  bool negative = !body.empty() && body.front() == '-';
  if (negative) body.remove_prefix(1);
  if (body == "NaN" || body == "Infinity") {
    double d = body == "NaN" ? std::numeric_limits<double>::quiet_NaN()
                             : std::numeric_limits<double>::infinity();
    if (negative) d = -d;
    *out = {d, static_cast<float>(d)};
    return true;
  }
  const char* end = text.data() + text.size();
  auto [dp, dec] = std::from_chars(text.data(), end, out->as_double);
  if (dec != std::errc() || dp != end) return false;
  auto [fp, fec] = std::from_chars(text.data(), end, out->as_float);
  if (fec == std::errc::result_out_of_range) {
    out->as_float = static_cast<float>(out->as_double);  // ±inf or a signed zero
  } else if (fec != std::errc() || fp != end) {
    return false;
  }
  return true;
}

// RapidJSON SAX events into a ModelValue tree. Containers being built live on
// a stack (values, not pointers, so growing it never dangles).
class JsonModelHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonModelHandler> {
 public:
  bool Null() { return Put(ModelValue::Null()); }
  bool Bool(bool b) { return Put(ModelValue::Bool(b)); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    ModelNumber n;
    if (!ParseDecimal(std::string_view(str, length), &n)) {
      error_ = "number '" + std::string(str, length) + "' is not a valid float";
      return false;
    }
    if (!stack_.empty() && stack_.back().value.kind() == ModelValue::Kind::kNumberArray) {
      stack_.back().value.AppendNumber(n);
      return true;
    }
    return Put(ModelValue::Number(n));
  }
  bool String(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    return Put(ModelValue::String(std::string(str, length)));
  }
  bool StartObject() { return Open(ModelValue::Object()); }
  bool Key(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    stack_.back().key.assign(str, length);
    return true;
  }
  bool EndObject(rapidjson::SizeType /*count*/) { return Close(); }
  bool StartArray() { return Open(ModelValue::Array()); }
  bool EndArray(rapidjson::SizeType /*count*/) { return Close(); }

  ModelValue TakeRoot() { return std::move(root_); }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    ModelValue value;
    std::string key;  // the pending member name, for objects
  };

  bool Open(ModelValue container) {
    if (stack_.size() >= kMaxModelDepth) {
      error_ = "nesting deeper than " + std::to_string(kMaxModelDepth) + " levels";
      return false;
    }
    stack_.push_back({std::move(container), {}});
    return true;
  }
  bool Close() {
    ModelValue done = std::move(stack_.back().value);
    stack_.pop_back();
    return Put(std::move(done));
  }
  bool Put(ModelValue v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Frame& parent = stack_.back();
    if (parent.value.IsObject()) {
      parent.value.AddMember(std::move(parent.key), std::move(v));
      parent.key.clear();
    } else {
      parent.value.Append(std::move(v));
    }
    return true;
  }

  std::vector<Frame> stack_;
  ModelValue root_ = ModelValue::Null();
  std::string error_;
};

// UBJSON reader over a byte span; every read checks the bytes left.
class UbjsonReader {
 public:
  explicit UbjsonReader(std::string_view bytes) : bytes_(bytes) {}

  StatusOr<ModelValue> ReadDocument() {
    ASSIGN_OR_RETURN(char marker, NextMarker());
    ASSIGN_OR_RETURN(ModelValue root, ReadValue(marker, 0));
    if (pos_ != bytes_.size()) return Error("trailing bytes after the document");
    return root;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument("UBJSON model at byte " + std::to_string(pos_) + ": " + what);
  }

  size_t Left() const { return bytes_.size() - pos_; }

  StatusOr<char> NextMarker() {
    while (pos_ < bytes_.size() && bytes_[pos_] == 'N') ++pos_;  // no-op markers
    if (pos_ >= bytes_.size()) return Error("unexpected end of data");
    return bytes_[pos_++];
  }

  template <typename T>
  StatusOr<T> ReadBigEndian() {
    if (Left() < sizeof(T)) return Error("unexpected end of data");
    using Bits = std::conditional_t<
        sizeof(T) == 1, uint8_t,
        std::conditional_t<sizeof(T) == 2, uint16_t,
                           std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
    Bits bits = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      bits = static_cast<Bits>((bits << 8) | static_cast<uint8_t>(bytes_[pos_ + i]));
    pos_ += sizeof(T);
    return std::bit_cast<T>(bits);
  }

  template <typename T>
  StatusOr<int64_t> Widen() {
    ASSIGN_OR_RETURN(T v, ReadBigEndian<T>());
    return static_cast<int64_t>(v);
  }

  // An integer given by its marker (the forms UBJSON allows for lengths).
  StatusOr<int64_t> ReadInteger(char marker) {
    switch (marker) {
      case 'i':
        return Widen<int8_t>();
      case 'U':
        return Widen<uint8_t>();
      case 'I':
        return Widen<int16_t>();
      case 'l':
        return Widen<int32_t>();
      case 'L':
        return ReadBigEndian<int64_t>();
      default:
        return Error(std::string("expected an integer marker (i, U, I, l, L), found '") + marker +
                     "'");
    }
  }

  // A length or count of elements of `element_bytes` each, at most what the
  // bytes left after it can hold.
  StatusOr<size_t> ReadCount(size_t element_bytes, const char* what) {
    ASSIGN_OR_RETURN(char marker, NextMarker());
    ASSIGN_OR_RETURN(int64_t n, ReadInteger(marker));
    if (n < 0) return Error(std::string("negative ") + what);
    if (static_cast<uint64_t>(n) > Left() / element_bytes) {
      return Error(std::string(what) + " " + std::to_string(n) + " exceeds the " +
                   std::to_string(Left()) + " bytes left");
    }
    return static_cast<size_t>(n);
  }

  StatusOr<std::string> ReadString() {
    ASSIGN_OR_RETURN(size_t n, ReadCount(1, "string length"));
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }

  // A number of a numeric type marker, or nullopt-like error for others.
  StatusOr<ModelNumber> ReadNumber(char marker) {
    switch (marker) {
      case 'd': {
        ASSIGN_OR_RETURN(float f, ReadBigEndian<float>());
        return ModelNumber{f, f};
      }
      case 'D': {
        ASSIGN_OR_RETURN(double d, ReadBigEndian<double>());
        return ModelNumber{d, static_cast<float>(d)};
      }
      case 'H': {
        ASSIGN_OR_RETURN(std::string text, ReadString());
        ModelNumber n;
        if (!ParseDecimal(text, &n))
          return Error("high-precision number '" + text + "' is not a number");
        return n;
      }
      default: {
        ASSIGN_OR_RETURN(int64_t i, ReadInteger(marker));
        return ModelNumber{static_cast<double>(i), static_cast<float>(i)};
      }
    }
  }

  static size_t FixedSize(char marker) {
    switch (marker) {
      case 'i':
      case 'U':
      case 'C':
        return 1;
      case 'I':
        return 2;
      case 'l':
      case 'd':
        return 4;
      case 'L':
      case 'D':
        return 8;
      default:
        return 0;
    }
  }
  static bool IsNumberMarker(char m) { return std::strchr("iUIlLdDH", m) != nullptr && m != '\0'; }

  StatusOr<ModelValue> ReadValue(char marker, int depth) {
    switch (marker) {
      case 'Z':
        return ModelValue::Null();
      case 'T':
        return ModelValue::Bool(true);
      case 'F':
        return ModelValue::Bool(false);
      case 'C': {
        ASSIGN_OR_RETURN(uint8_t c, ReadBigEndian<uint8_t>());
        return ModelValue::String(std::string(1, static_cast<char>(c)));
      }
      case 'S': {
        ASSIGN_OR_RETURN(std::string s, ReadString());
        return ModelValue::String(std::move(s));
      }
      case '[':
      case '{': {
        if (depth + 1 >= kMaxModelDepth) {
          return Error("nesting deeper than " + std::to_string(kMaxModelDepth) + " levels");
        }
        return marker == '[' ? ReadArray(depth + 1) : ReadObject(depth + 1);
      }
      default:
        if (IsNumberMarker(marker)) {
          ASSIGN_OR_RETURN(ModelNumber n, ReadNumber(marker));
          return ModelValue::Number(n);
        }
        return Error(std::string("unknown type marker '") + marker + "'");
    }
  }

  // After '[' or '{': the optional `$type` and `#count`. type 0 = untyped;
  // count -1 = closed by ']' or '}'.
  Status ReadContainerHeader(char* type, int64_t* count, const char* what) {
    *type = 0;
    *count = -1;
    if (Left() > 0 && bytes_[pos_] == '$') {
      ++pos_;
      if (Left() == 0) return Error("unexpected end of data");
      *type = bytes_[pos_++];
      if (FixedSize(*type) == 0 && *type != 'S' && *type != 'H' && *type != '[' && *type != '{') {
        // Zero-byte elements ($Z, $T, $F) would let a tiny file claim any count.
        return Error(std::string("typed ") + what + " of '" + *type + "' is not supported");
      }
      if (Left() == 0 || bytes_[pos_] != '#')
        return Error(std::string("typed ") + what + " without a '#' count");
    }
    if (Left() > 0 && bytes_[pos_] == '#') {
      ++pos_;
      size_t element_bytes = std::max<size_t>(FixedSize(*type), 1);
      ASSIGN_OR_RETURN(size_t n, ReadCount(element_bytes, "element count"));
      *count = static_cast<int64_t>(n);
    }
    return Status::Ok();
  }

  StatusOr<ModelValue> ReadArray(int depth) {
    char type;
    int64_t count;
    RETURN_IF_ERROR(ReadContainerHeader(&type, &count, "array"));
    ModelValue array = ModelValue::Array();
    if (count >= 0) {
      for (int64_t i = 0; i < count; ++i) {
        if (type != 0 && IsNumberMarker(type)) {
          ASSIGN_OR_RETURN(ModelNumber n, ReadNumber(type));
          array.AppendNumber(n);
          continue;
        }
        char marker = type;
        if (marker == 0) {
          ASSIGN_OR_RETURN(marker, NextMarker());
        }
        ASSIGN_OR_RETURN(ModelValue item, ReadValue(marker, depth));
        array.Append(std::move(item));
      }
      return array;
    }
    for (;;) {
      ASSIGN_OR_RETURN(char marker, NextMarker());
      if (marker == ']') return array;
      ASSIGN_OR_RETURN(ModelValue item, ReadValue(marker, depth));
      array.Append(std::move(item));
    }
  }

  StatusOr<ModelValue> ReadObject(int depth) {
    char type;
    int64_t count;
    RETURN_IF_ERROR(ReadContainerHeader(&type, &count, "object"));
    ModelValue object = ModelValue::Object();
    for (int64_t i = 0; count < 0 || i < count; ++i) {
      if (count < 0) {
        if (Left() == 0) return Error("unexpected end of data inside an object");
        if (bytes_[pos_] == '}') {
          ++pos_;
          return object;
        }
      }
      ASSIGN_OR_RETURN(std::string key, ReadString());
      char marker = type;
      if (marker == 0) {
        ASSIGN_OR_RETURN(marker, NextMarker());
      }
      ASSIGN_OR_RETURN(ModelValue value, ReadValue(marker, depth));
      object.AddMember(std::move(key), std::move(value));
    }
    return object;
  }

  std::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<ModelValue> ParseJsonModel(std::string_view text) {
  JsonModelHandler handler;
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag |
                              rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseNanAndInfFlag;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, handler);
  if (!result) {
    std::string why =
        handler.error().empty() ? rapidjson::GetParseError_En(result.Code()) : handler.error();
    return InvalidArgument("JSON model at byte " + std::to_string(result.Offset()) + ": " + why);
  }
  return handler.TakeRoot();
}

StatusOr<ModelValue> ParseUbjsonModel(std::string_view bytes) {
  return UbjsonReader(bytes).ReadDocument();
}

}  // namespace cairn::trees
