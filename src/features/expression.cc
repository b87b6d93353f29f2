#include "features/expression.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

namespace cairn::features {

enum class NodeKind { kLiteral, kInput, kUnary, kBinary, kCall };

struct ExprNode {
  NodeKind kind;
  ExprValue literal;
  size_t input = 0;
  std::string op;  // unary/binary operator or function name
  std::vector<std::shared_ptr<const ExprNode>> children;
  int height = 1;  // evaluation and destruction recurse this deep
};

namespace {

using Node = std::shared_ptr<const ExprNode>;

struct FunctionSpec {
  int min_args;
  int max_args;  // -1: any number
};

const std::map<std::string, FunctionSpec, std::less<>>& Functions() {
  static const auto* functions = new std::map<std::string, FunctionSpec, std::less<>>{
      {"abs", {1, 1}},      {"sqrt", {1, 1}},        {"exp", {1, 1}},       {"log", {1, 1}},
      {"log10", {1, 1}},    {"pow", {2, 2}},         {"floor", {1, 1}},     {"ceil", {1, 1}},
      {"round", {1, 1}},    {"min", {2, -1}},        {"max", {2, -1}},      {"clip", {3, 3}},
      {"if", {3, 3}},       {"coalesce", {1, -1}},   {"is_null", {1, 1}},   {"lower", {1, 1}},
      {"upper", {1, 1}},    {"length", {1, 1}},      {"concat", {1, -1}},   {"substr", {2, 3}},
      {"contains", {2, 2}}, {"starts_with", {2, 2}}, {"ends_with", {2, 2}},
  };
  return *functions;
}

// --- parsing ---

class Parser {
 public:
  Parser(std::string_view text, const std::function<bool(const std::string&)>& known,
         std::vector<std::string>* inputs)
      : text_(text), known_(known), inputs_(inputs) {}

  StatusOr<Node> Parse() {
    ASSIGN_OR_RETURN(Node node, Or());
    Skip();
    if (pos_ < text_.size()) return Error("unexpected '" + std::string(1, text_[pos_]) + "'");
    return node;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument("expression '" + std::string(text_) + "', at character " +
                           std::to_string(pos_ + 1) + ": " + what);
  }

  void Skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  bool Accept(std::string_view token) {
    Skip();
    if (text_.substr(pos_, token.size()) != token) return false;
    // A word operator must not run into a name: "order" is not "or" + "der".
    if (std::isalpha(static_cast<unsigned char>(token[0])) && pos_ + token.size() < text_.size()) {
      char next = text_[pos_ + token.size()];
      if (std::isalnum(static_cast<unsigned char>(next)) || next == '_') return false;
    }
    pos_ += token.size();
    return true;
  }

  // Builds an operator or call node. Chains such as a + a + ... build
  // left-deep trees without recursing in the parser, so the tree's height is
  // bounded here too: evaluating or freeing it recurses that deep.
  StatusOr<Node> Make(NodeKind kind, std::string op, std::vector<Node> children) const {
    auto n = std::make_shared<ExprNode>();
    n->kind = kind;
    n->op = std::move(op);
    for (const Node& c : children) n->height = std::max(n->height, c->height + 1);
    n->children = std::move(children);
    if (n->height > kMaxHeight) return Error("nested too deeply");
    return Node(n);
  }
  static constexpr int kMaxHeight = 256;

  // Nesting is bounded so a hostile expression cannot exhaust the stack.
  static constexpr int kMaxDepth = 64;

  StatusOr<Node> Or() {
    if (++depth_ > kMaxDepth) return Error("nested too deeply");
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth_};
    ASSIGN_OR_RETURN(Node left, And());
    while (Accept("or") || Accept("||")) {
      ASSIGN_OR_RETURN(Node right, And());
      ASSIGN_OR_RETURN(left, Make(NodeKind::kBinary, "or", {left, right}));
    }
    return left;
  }

  StatusOr<Node> And() {
    ASSIGN_OR_RETURN(Node left, Not());
    while (Accept("and") || Accept("&&")) {
      ASSIGN_OR_RETURN(Node right, Not());
      ASSIGN_OR_RETURN(left, Make(NodeKind::kBinary, "and", {left, right}));
    }
    return left;
  }

  StatusOr<Node> Not() {
    if (Accept("not") || (Peek('!') && !PeekAt(1, '=') && Accept("!"))) {
      if (++depth_ > kMaxDepth) return Error("nested too deeply");
      struct Leave {
        int& depth;
        ~Leave() { --depth; }
      } leave{depth_};
      ASSIGN_OR_RETURN(Node child, Not());
      return Make(NodeKind::kUnary, "not", {child});
    }
    return Comparison();
  }

  bool Peek(char c) {
    Skip();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  bool PeekAt(size_t offset, char c) const {
    return pos_ + offset < text_.size() && text_[pos_ + offset] == c;
  }

  StatusOr<Node> Comparison() {
    ASSIGN_OR_RETURN(Node left, Sum());
    for (std::string_view op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (Accept(op)) {
        ASSIGN_OR_RETURN(Node right, Sum());
        return Make(NodeKind::kBinary, std::string(op), {left, right});
      }
    }
    return left;
  }

  StatusOr<Node> Sum() {
    ASSIGN_OR_RETURN(Node left, Product());
    while (true) {
      std::string op = Accept("+") ? "+" : Accept("-") ? "-" : "";
      if (op.empty()) return left;
      ASSIGN_OR_RETURN(Node right, Product());
      ASSIGN_OR_RETURN(left, Make(NodeKind::kBinary, op, {left, right}));
    }
  }

  StatusOr<Node> Product() {
    ASSIGN_OR_RETURN(Node left, Unary());
    while (true) {
      std::string op = Accept("*") ? "*" : Accept("/") ? "/" : Accept("%") ? "%" : "";
      if (op.empty()) return left;
      ASSIGN_OR_RETURN(Node right, Unary());
      ASSIGN_OR_RETURN(left, Make(NodeKind::kBinary, op, {left, right}));
    }
  }

  StatusOr<Node> Unary() {
    if (Accept("-")) {
      if (++depth_ > kMaxDepth) return Error("nested too deeply");
      struct Leave {
        int& depth;
        ~Leave() { --depth; }
      } leave{depth_};
      ASSIGN_OR_RETURN(Node child, Unary());
      return Make(NodeKind::kUnary, "-", {child});
    }
    return Primary();
  }

  StatusOr<Node> Primary() {
    Skip();
    if (pos_ >= text_.size()) return Error("expected a value, found the end");
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      ASSIGN_OR_RETURN(Node inner, Or());
      if (!Accept(")")) return Error("expected ')'");
      return inner;
    }
    if (c == '\'' || c == '"') return StringLiteral(c);
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return NumberLiteral();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') return NameOrCall();
    return Error("unexpected '" + std::string(1, c) + "'");
  }

  StatusOr<Node> StringLiteral(char quote) {
    size_t start = ++pos_;
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      value += text_[pos_++];
    }
    if (pos_ >= text_.size()) {
      pos_ = start - 1;
      return Error("string is not closed");
    }
    ++pos_;
    auto n = std::make_shared<ExprNode>();
    n->kind = NodeKind::kLiteral;
    n->literal = std::move(value);
    return Node(n);
  }

  StatusOr<Node> NumberLiteral() {
    size_t start = pos_;
    bool is_float = false;
    while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) ||
                                   text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E' ||
                                   ((text_[pos_] == '-' || text_[pos_] == '+') && pos_ > start &&
                                    (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E')))) {
      is_float = is_float || !std::isdigit(static_cast<unsigned char>(text_[pos_]));
      ++pos_;
    }
    std::string_view digits = text_.substr(start, pos_ - start);
    auto n = std::make_shared<ExprNode>();
    n->kind = NodeKind::kLiteral;
    if (is_float) {
      double v = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec != std::errc() || end != digits.data() + digits.size()) {
        pos_ = start;
        return Error("'" + std::string(digits) + "' is not a number");
      }
      n->literal = v;
    } else {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec != std::errc() || end != digits.data() + digits.size()) {
        pos_ = start;
        return Error("'" + std::string(digits) + "' is not a number");
      }
      n->literal = v;
    }
    return Node(n);
  }

  StatusOr<Node> NameOrCall() {
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                   text_[pos_] == '_' || text_[pos_] == '.')) {
      ++pos_;
    }
    std::string name(text_.substr(start, pos_ - start));
    if (Peek('(')) {
      auto spec = Functions().find(name);
      if (spec == Functions().end()) {
        pos_ = start;
        std::string names;
        for (const auto& [fn, unused] : Functions()) names += (names.empty() ? "" : ", ") + fn;
        return Error("unknown function '" + name + "'; known: " + names);
      }
      ++pos_;
      std::vector<Node> args;
      if (!Accept(")")) {
        while (true) {
          ASSIGN_OR_RETURN(Node arg, Or());
          args.push_back(arg);
          if (Accept(")")) break;
          if (!Accept(",")) return Error("expected ',' or ')' in the arguments of " + name);
        }
      }
      int n = static_cast<int>(args.size());
      if (n < spec->second.min_args || (spec->second.max_args >= 0 && n > spec->second.max_args)) {
        pos_ = start;
        return Error(name + "() takes " + std::to_string(spec->second.min_args) +
                     (spec->second.max_args == spec->second.min_args ? ""
                      : spec->second.max_args < 0
                          ? " or more"
                          : " to " + std::to_string(spec->second.max_args)) +
                     " arguments, not " + std::to_string(n));
      }
      return Make(NodeKind::kCall, name, std::move(args));
    }
    auto n = std::make_shared<ExprNode>();
    if (name == "true" || name == "false") {
      n->kind = NodeKind::kLiteral;
      n->literal = name == "true";
      return Node(n);
    }
    if (name == "null") {
      n->kind = NodeKind::kLiteral;
      return Node(n);
    }
    if (!known_(name)) {
      pos_ = start;
      return Error("unknown name '" + name +
                   "'; use a feature of the view's sources or a request field");
    }
    auto it = std::find(inputs_->begin(), inputs_->end(), name);
    n->kind = NodeKind::kInput;
    n->input = static_cast<size_t>(it - inputs_->begin());
    if (it == inputs_->end()) inputs_->push_back(name);
    return Node(n);
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
  const std::function<bool(const std::string&)>& known_;
  std::vector<std::string>* inputs_;
};

// --- evaluation ---

bool IsNull(const ExprValue& v) { return std::holds_alternative<std::monostate>(v); }

bool Numeric(const ExprValue& v, double* out) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) {
    *out = static_cast<double>(*i);
    return true;
  }
  if (const double* d = std::get_if<double>(&v)) {
    *out = *d;
    return true;
  }
  if (const bool* b = std::get_if<bool>(&v)) {
    *out = *b ? 1 : 0;
    return true;
  }
  return false;
}

bool Truthy(const ExprValue& v) {
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  double d;
  if (Numeric(v, &d)) return d != 0;
  if (const std::string* s = std::get_if<std::string>(&v)) return !s->empty();
  return false;
}

std::string Text(const ExprValue& v) {
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  if (const int64_t* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const double* d = std::get_if<double>(&v)) {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), *d);
    return std::string(buffer, end);
  }
  return "";
}

ExprValue Finite(double v) { return std::isfinite(v) ? ExprValue(v) : ExprValue(); }

ExprValue Arithmetic(const std::string& op, const ExprValue& a, const ExprValue& b) {
  if (IsNull(a) || IsNull(b)) return {};
  if (op == "+" && std::holds_alternative<std::string>(a) &&
      std::holds_alternative<std::string>(b)) {
    return std::get<std::string>(a) + std::get<std::string>(b);
  }
  const int64_t* ia = std::get_if<int64_t>(&a);
  const int64_t* ib = std::get_if<int64_t>(&b);
  if (ia != nullptr && ib != nullptr && op != "/") {
    int64_t out = 0;
    if (op == "+" && !__builtin_add_overflow(*ia, *ib, &out)) return out;
    if (op == "-" && !__builtin_sub_overflow(*ia, *ib, &out)) return out;
    if (op == "*" && !__builtin_mul_overflow(*ia, *ib, &out)) return out;
    // x % -1 is 0; computing it traps for the smallest integer.
    if (op == "%") return *ib == 0 ? ExprValue() : ExprValue(*ib == -1 ? 0 : *ia % *ib);
  }
  double x, y;
  if (!Numeric(a, &x) || !Numeric(b, &y)) return {};
  if (op == "+") return Finite(x + y);
  if (op == "-") return Finite(x - y);
  if (op == "*") return Finite(x * y);
  if (op == "/") return y == 0 ? ExprValue() : Finite(x / y);
  return y == 0 ? ExprValue() : Finite(std::fmod(x, y));
}

ExprValue Compare(const std::string& op, const ExprValue& a, const ExprValue& b) {
  if (IsNull(a) || IsNull(b)) return {};
  int order;
  double x, y;
  const int64_t* ia = std::get_if<int64_t>(&a);
  const int64_t* ib = std::get_if<int64_t>(&b);
  if (ia != nullptr && ib != nullptr) {  // exactly: doubles lose integers above 2^53
    order = *ia < *ib ? -1 : *ia > *ib ? 1 : 0;
  } else if (Numeric(a, &x) && Numeric(b, &y)) {
    order = x < y ? -1 : x > y ? 1 : 0;
  } else if (std::holds_alternative<std::string>(a) && std::holds_alternative<std::string>(b)) {
    order = std::get<std::string>(a).compare(std::get<std::string>(b));
  } else {
    if (op == "==") return false;
    if (op == "!=") return true;
    return {};
  }
  if (op == "==") return order == 0;
  if (op == "!=") return order != 0;
  if (op == "<") return order < 0;
  if (op == "<=") return order <= 0;
  if (op == ">") return order > 0;
  return order >= 0;
}

ExprValue Eval(const ExprNode& n, const std::vector<ExprValue>& in);

ExprValue Math1(const std::string& fn, const ExprValue& a) {
  double x;
  if (!Numeric(a, &x)) return {};
  if (fn == "abs") {
    if (const int64_t* i = std::get_if<int64_t>(&a)) {
      return *i == INT64_MIN ? ExprValue() : ExprValue(*i < 0 ? -*i : *i);
    }
    return std::fabs(x);
  }
  if (fn == "sqrt") return x < 0 ? ExprValue() : Finite(std::sqrt(x));
  if (fn == "exp") return Finite(std::exp(x));
  if (fn == "log") return x <= 0 ? ExprValue() : Finite(std::log(x));
  if (fn == "log10") return x <= 0 ? ExprValue() : Finite(std::log10(x));
  if (fn == "floor") return Finite(std::floor(x));
  if (fn == "ceil") return Finite(std::ceil(x));
  return Finite(std::round(x));  // round
}

ExprValue Call(const ExprNode& n, const std::vector<ExprValue>& in) {
  const std::string& fn = n.op;
  auto arg = [&](size_t i) { return Eval(*n.children[i], in); };
  if (fn == "if") return Truthy(arg(0)) ? arg(1) : arg(2);
  if (fn == "coalesce") {
    for (size_t i = 0; i < n.children.size(); ++i) {
      ExprValue v = arg(i);
      if (!IsNull(v)) return v;
    }
    return {};
  }
  if (fn == "is_null") return IsNull(arg(0));
  std::vector<ExprValue> args;
  for (size_t i = 0; i < n.children.size(); ++i) {
    args.push_back(arg(i));
    if (IsNull(args.back())) return {};  // nulls propagate through the rest
  }
  if (fn == "pow") {
    double x, y;
    if (!Numeric(args[0], &x) || !Numeric(args[1], &y)) return {};
    return Finite(std::pow(x, y));
  }
  if (fn == "min" || fn == "max") {
    ExprValue best = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      ExprValue less = Compare("<", args[i], best);
      if (IsNull(less)) return {};
      if (std::get<bool>(less) == (fn == "min")) best = args[i];
    }
    return best;
  }
  if (fn == "clip") {
    ExprValue below = Compare("<", args[0], args[1]);
    ExprValue above = Compare(">", args[0], args[2]);
    if (IsNull(below) || IsNull(above)) return {};
    return std::get<bool>(below) ? args[1] : std::get<bool>(above) ? args[2] : args[0];
  }
  if (fn == "lower" || fn == "upper") {
    std::string s = Text(args[0]);
    for (char& c : s) {
      c = static_cast<char>(fn == "lower" ? std::tolower(static_cast<unsigned char>(c))
                                          : std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
  }
  if (fn == "length") return static_cast<int64_t>(Text(args[0]).size());
  if (fn == "concat") {
    std::string s;
    for (const ExprValue& a : args) s += Text(a);
    return s;
  }
  if (fn == "substr") {
    std::string s = Text(args[0]);
    double start_d, length_d = static_cast<double>(s.size());
    if (!Numeric(args[1], &start_d) || (args.size() > 2 && !Numeric(args[2], &length_d)) ||
        !std::isfinite(start_d) || !std::isfinite(length_d)) {
      return {};
    }
    // Clamped in double first: casting an out-of-range double is undefined.
    double limit = static_cast<double>(s.size()) + 1;
    start_d = std::clamp(start_d, 0.0, limit);
    length_d = std::clamp(length_d, 0.0, limit);
    // 1-based start as in SQL; clamped to the string.
    int64_t start = std::max<int64_t>(1, static_cast<int64_t>(start_d)) - 1;
    int64_t length = std::max<int64_t>(0, static_cast<int64_t>(length_d));
    if (start >= static_cast<int64_t>(s.size())) return std::string();
    return s.substr(static_cast<size_t>(start), static_cast<size_t>(length));
  }
  if (fn == "contains") return Text(args[0]).find(Text(args[1])) != std::string::npos;
  if (fn == "starts_with") return std::string_view(Text(args[0])).starts_with(Text(args[1]));
  if (fn == "ends_with") return std::string_view(Text(args[0])).ends_with(Text(args[1]));
  return Math1(fn, args[0]);
}

ExprValue Eval(const ExprNode& n, const std::vector<ExprValue>& in) {
  switch (n.kind) {
    case NodeKind::kLiteral:
      return n.literal;
    case NodeKind::kInput:
      return in[n.input];
    case NodeKind::kUnary: {
      ExprValue v = Eval(*n.children[0], in);
      if (n.op == "not") return IsNull(v) ? ExprValue() : ExprValue(!Truthy(v));
      if (const int64_t* i = std::get_if<int64_t>(&v)) {
        return *i == INT64_MIN ? ExprValue() : ExprValue(-*i);
      }
      double d;
      return Numeric(v, &d) ? ExprValue(-d) : ExprValue();
    }
    case NodeKind::kBinary: {
      if (n.op == "and" || n.op == "or") {
        bool left = Truthy(Eval(*n.children[0], in));
        if (n.op == "and" ? !left : left) return left;
        return Truthy(Eval(*n.children[1], in));
      }
      ExprValue a = Eval(*n.children[0], in);
      ExprValue b = Eval(*n.children[1], in);
      if (n.op.size() == 1 && std::string_view("+-*/%").find(n.op[0]) != std::string_view::npos) {
        return Arithmetic(n.op, a, b);
      }
      return Compare(n.op, a, b);
    }
    case NodeKind::kCall:
      return Call(n, in);
  }
  return {};
}

}  // namespace

StatusOr<Expression> Expression::Compile(std::string_view text,
                                         const std::function<bool(const std::string&)>& known) {
  Expression e;
  Parser parser(text, known, &e.inputs_);
  ASSIGN_OR_RETURN(e.root_, parser.Parse());
  return e;
}

ExprValue Expression::Evaluate(const std::vector<ExprValue>& values) const {
  return Eval(*root_, values);
}

}  // namespace cairn::features
