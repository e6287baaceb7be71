// Just enough JSON for test_vectors.json: objects, arrays, strings (\" \\ \n \uXXXX ASCII),
// numbers, true/false/null. Not for untrusted input beyond the test file.
#pragma once
#include <stdlib.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace json {

struct Value {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  double number = 0;
  bool integral = false;
  std::string text;
  std::vector<Value> items;
  std::map<std::string, Value> fields;

  const Value& operator[](const std::string& key) const {
    auto it = fields.find(key);
    if (it == fields.end()) throw std::runtime_error("missing key " + key);
    return it->second;
  }
  bool has(const std::string& key) const { return fields.count(key) != 0; }
};

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}
  Value parse() {
    Value v = value();
    skip();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("json: ") + what + " at offset " + std::to_string(i_));
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool literal(const char* word) {
    const std::string w(word);
    if (s_.compare(i_, w.size(), w) == 0) {
      i_ += w.size();
      return true;
    }
    return false;
  }
  Value value() {
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    Value v;
    const char c = s_[i_];
    if (c == '{') {
      v.kind = Value::kObject;
      ++i_;
      skip();
      if (s_[i_] == '}') { ++i_; return v; }
      while (true) {
        skip();
        Value key = string_value();
        skip();
        if (s_[i_++] != ':') fail("expected ':'");
        v.fields[key.text] = value();
        skip();
        if (s_[i_] == ',') { ++i_; continue; }
        if (s_[i_] == '}') { ++i_; return v; }
        fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = Value::kArray;
      ++i_;
      skip();
      if (s_[i_] == ']') { ++i_; return v; }
      while (true) {
        v.items.push_back(value());
        skip();
        if (s_[i_] == ',') { ++i_; continue; }
        if (s_[i_] == ']') { ++i_; return v; }
        fail("expected ',' or ']'");
      }
    }
    if (c == '"') return string_value();
    if (literal("true")) { v.kind = Value::kBool; v.boolean = true; return v; }
    if (literal("false")) { v.kind = Value::kBool; return v; }
    if (literal("null")) return v;
    const size_t start = i_;
    while (i_ < s_.size() && (isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '+' ||
                              s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) ++i_;
    if (start == i_) fail("unexpected character");
    const std::string num = s_.substr(start, i_ - start);
    v.kind = Value::kNumber;
    v.number = strtod(num.c_str(), nullptr);
    v.integral = num.find_first_of(".eE") == std::string::npos;
    return v;
  }
  Value string_value() {
    if (s_[i_] != '"') fail("expected string");
    ++i_;
    Value v;
    v.kind = Value::kString;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\') {
        const char e = s_[i_++];
        if (e == 'n') c = '\n';
        else if (e == 't') c = '\t';
        else if (e == 'u') {
          c = static_cast<char>(strtol(s_.substr(i_, 4).c_str(), nullptr, 16));
          i_ += 4;
        } else c = e;
      }
      v.text.push_back(c);
    }
    if (i_ >= s_.size()) fail("unterminated string");
    ++i_;
    return v;
  }
  const std::string& s_;
  size_t i_ = 0;
};

}  // namespace json
