// A checker of STIX 2.1 patterns written for the tests from the pattern grammar of STIX
// Version 2.1, section 9 (and its ANTLR grammar STIXPattern.g4), independent of the code that
// writes patterns: the observation expressions of one bracketed comparison expression,
// joined by AND and OR, with the lexical rules for object types, path components, string,
// integer and float literals. Qualifiers and FOLLOWEDBY are not needed by the tests.
#ifndef THREATMESH_TESTS_NODE_INTEROP_PATTERN_GRAMMAR_H_
#define THREATMESH_TESTS_NODE_INTEROP_PATTERN_GRAMMAR_H_

#include <cctype>
#include <string>
#include <string_view>

namespace threatmesh::testing {

class PatternGrammar {
 public:
  // Whether `pattern` is a pattern of the grammar; `error` says where it is not.
  static bool Check(std::string_view pattern, std::string* error) {
    PatternGrammar g(pattern);
    const bool ok = g.Observations() && g.AtEnd();
    if (!ok) *error = g.error_.empty() ? "trailing text at " + std::to_string(g.at_) : g.error_;
    return ok;
  }

 private:
  explicit PatternGrammar(std::string_view s) : s_(s) {}

  bool Fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at " + std::to_string(at_);
    return false;
  }
  void Spaces() {
    while (at_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[at_]))) ++at_;
  }
  bool AtEnd() {
    Spaces();
    return at_ == s_.size();
  }
  bool Eat(std::string_view token) {
    Spaces();
    if (s_.substr(at_, token.size()) != token) return false;
    // A keyword must not run into an identifier.
    if (std::isalpha(static_cast<unsigned char>(token.back())) && at_ + token.size() < s_.size() &&
        (std::isalnum(static_cast<unsigned char>(s_[at_ + token.size()])) ||
         s_[at_ + token.size()] == '_')) {
      return false;
    }
    at_ += token.size();
    return true;
  }

  // observationExpressions: observation (("AND" | "OR") observation)*
  bool Observations() {
    if (!Observation()) return false;
    while (Eat("AND") || Eat("OR")) {
      if (!Observation()) return false;
    }
    return true;
  }
  // observation: '[' comparisonExpression ']' | '(' observationExpressions ')'
  bool Observation() {
    if (Eat("(")) return Observations() && (Eat(")") || Fail("expected )"));
    if (!Eat("[")) return Fail("expected [");
    return Comparisons() && (Eat("]") || Fail("expected ]"));
  }
  // comparisonExpression: comparison (("AND" | "OR") comparison)*
  bool Comparisons() {
    if (!Comparison()) return false;
    while (Eat("AND") || Eat("OR")) {
      if (!Comparison()) return false;
    }
    return true;
  }
  // propTest: objectPath "NOT"? op primitiveLiteral, or '(' comparisonExpression ')'
  bool Comparison() {
    if (Eat("(")) return Comparisons() && (Eat(")") || Fail("expected )"));
    if (!ObjectPath()) return false;
    Eat("NOT");
    for (std::string_view op : {"!=", "<=", ">=", "=", "<", ">"}) {
      if (Eat(op)) return Literal();
    }
    for (std::string_view op : {"ISSUBSET", "ISSUPERSET", "LIKE", "MATCHES"}) {
      if (Eat(op)) return StringLiteral();
    }
    return Fail("expected a comparison operator");
  }
  // objectPath: objectType ':' firstPathComponent objectPathComponent*
  bool ObjectPath() {
    Spaces();
    // objectType: IdentifierWithoutHyphen | IdentifierWithHyphen, [a-zA-Z_][a-zA-Z0-9_-]*
    if (!Identifier(true)) return Fail("expected an object type");
    if (at_ >= s_.size() || s_[at_] != ':') return Fail("expected :");
    ++at_;
    if (!PathComponent()) return Fail("expected a property name");
    for (;;) {
      if (at_ < s_.size() && s_[at_] == '.') {
        ++at_;
        if (!PathComponent()) return Fail("expected a property name after .");
      } else if (at_ < s_.size() && s_[at_] == '[') {
        ++at_;
        if (at_ < s_.size() && s_[at_] == '*') {
          ++at_;
        } else if (!Integer()) {
          return Fail("expected an index");
        }
        if (at_ >= s_.size() || s_[at_] != ']') return Fail("expected ] of the index");
        ++at_;
      } else {
        return true;
      }
    }
  }
  // A property name: an identifier without hyphens, or a quoted string.
  bool PathComponent() {
    if (at_ < s_.size() && s_[at_] == '\'') return StringBody();
    return Identifier(false);
  }
  bool Identifier(bool hyphens) {
    const std::size_t start = at_;
    if (at_ >= s_.size() ||
        !(std::isalpha(static_cast<unsigned char>(s_[at_])) || s_[at_] == '_')) {
      return false;
    }
    ++at_;
    while (at_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[at_])) ||
                               s_[at_] == '_' || (hyphens && s_[at_] == '-'))) {
      ++at_;
    }
    return at_ > start;
  }
  bool Literal() {
    Spaces();
    if (at_ < s_.size() && s_[at_] == '\'') return StringBody();
    if (Eat("true") || Eat("false")) return true;
    return Integer() || Fail("expected a literal");
  }
  bool StringLiteral() {
    Spaces();
    return StringBody() || Fail("expected a string literal");
  }
  // StringLiteral: QUOTE ( ~['\\] | '\\\'' | '\\\\' )* QUOTE
  bool StringBody() {
    if (at_ >= s_.size() || s_[at_] != '\'') return false;
    for (++at_; at_ < s_.size(); ++at_) {
      if (s_[at_] == '\'') {
        ++at_;
        return true;
      }
      if (s_[at_] == '\\') {
        if (at_ + 1 >= s_.size() || (s_[at_ + 1] != '\'' && s_[at_ + 1] != '\\')) {
          return Fail("a backslash escapes only ' and \\");
        }
        ++at_;
      }
    }
    return Fail("unterminated string");
  }
  // IntPosLiteral / IntNegLiteral: [+-]? ('0' | [1-9][0-9]*)
  bool Integer() {
    Spaces();
    std::size_t i = at_;
    if (i < s_.size() && (s_[i] == '+' || s_[i] == '-')) ++i;
    if (i >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i]))) return false;
    if (s_[i] == '0' && i + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i + 1]))) {
      return false;
    }
    while (i < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i]))) ++i;
    at_ = i;
    return true;
  }

  std::string_view s_;
  std::size_t at_ = 0;
  std::string error_;
};

}  // namespace threatmesh::testing

#endif  // THREATMESH_TESTS_NODE_INTEROP_PATTERN_GRAMMAR_H_
