#include "node/interop/stix_stream.h"

#include <utility>
#include <vector>

#include "crypto/str_cat.h"

namespace threatmesh::interop {
namespace {

using Json = nlohmann::json;

// Per value, what it costs beside its text (a rough size of a JSON node).
constexpr uint64_t kNodeBytes = 16;

// nlohmann's SAX events turned into one object at a time. `level_` counts the containers open
// around the next event: the outermost object is at level 1, the elements of its "objects"
// array at level 2.
class ObjectSax {
 public:
  ObjectSax(std::size_t max_object_bytes, const std::function<void(StreamedObject&)>& on_object)
      : max_(max_object_bytes), on_object_(on_object) {}

  bool null() { return Scalar(Json(nullptr), 0); }
  bool boolean(bool b) { return Scalar(Json(b), 0); }
  bool number_integer(Json::number_integer_t n) { return Scalar(Json(n), 0); }
  bool number_unsigned(Json::number_unsigned_t n) { return Scalar(Json(n), 0); }
  bool number_float(Json::number_float_t f, const Json::string_t& /*text*/) {
    return Scalar(Json(f), 0);
  }
  bool string(Json::string_t& s) {
    if (stack_.size() == 1 && stack_.back()->is_object()) {
      if (key_ == "id") Target().id = s;
      if (key_ == "type" && level_ == 1) type_ = s;
    } else if (level_ == 1 && key_ == "type") {
      type_ = s;  // an oversize lone object's type
    }
    const uint64_t n = s.size();
    return Scalar(Json(std::move(s)), n);
  }
  bool binary(Json::binary_t& /*b*/) { return Scalar(Json(nullptr), 0); }
  bool key(Json::string_t& k) {
    Add(k.size());
    key_ = std::move(k);
    return true;
  }
  bool start_object(std::size_t /*n*/) { return Open(Json::object()); }
  bool start_array(std::size_t /*n*/) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t position, const std::string& /*token*/,
                   const nlohmann::detail::exception& e) {
    error_ = absl::InvalidArgumentError(
        StrCat("not JSON (or cut short) at byte ", position, ": ", e.what()));
    return false;
  }

  const absl::Status& error() const { return error_; }

 private:
  bool Fail(const std::string& why) {
    error_ = absl::InvalidArgumentError(why);
    return false;
  }
  // The object the next value belongs to.
  StreamedObject& Target() { return in_objects_ ? current_ : header_; }
  void Add(uint64_t n) {
    StreamedObject& t = Target();
    t.bytes += n + kNodeBytes;
    if (!t.oversize && t.bytes > max_) {
      t.oversize = true;
      t.json = nullptr;
      stack_.clear();
    }
  }
  Json* Place(Json&& v) {
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    Json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Scalar(Json&& v, uint64_t n) {
    if (level_ == 0) return Fail("not a STIX bundle or object: a lone JSON value");
    if (in_objects_ && level_ == 2) {
      StreamedObject o;
      o.not_an_object = true;
      o.json = std::move(v);
      on_object_(o);
      return true;
    }
    Add(n);
    if (!stack_.empty()) Place(std::move(v));
    return true;
  }
  bool Open(Json&& container) {
    if (level_ == 0) {
      if (container.is_array()) return Fail("a JSON array, not a STIX bundle or object");
      ++level_;
      header_.json = std::move(container);
      stack_ = {&header_.json};
      return true;
    }
    if (level_ == 1 && container.is_array() && key_ == "objects" && !saw_objects_) {
      saw_objects_ = in_objects_ = true;
      ++level_;
      stack_.clear();
      return true;
    }
    if (in_objects_ && level_ == 2) {
      ++level_;
      current_ = StreamedObject();
      current_.json = std::move(container);
      stack_ = {&current_.json};
      return true;
    }
    ++level_;
    Add(0);
    if (!stack_.empty()) stack_.push_back(Place(std::move(container)));
    return true;
  }
  bool Close() {
    --level_;
    if (level_ == 0) return Finish();
    if (in_objects_ && level_ == 1) {  // the end of the "objects" array
      in_objects_ = false;
      if (!header_.oversize) stack_ = {&header_.json};
      return true;
    }
    if (in_objects_ && level_ == 2) {  // the end of one object
      current_.not_an_object = !current_.oversize && !current_.json.is_object();
      on_object_(current_);
      current_ = StreamedObject();
      stack_.clear();
      return true;
    }
    if (!stack_.empty()) stack_.pop_back();
    return true;
  }
  bool Finish() {
    if (saw_objects_) {
      if (!type_.empty() && type_ != "bundle") {
        return Fail(StrCat("an object of type ", type_,
                           " with an \"objects\" array: not a bundle or an envelope"));
      }
      return true;
    }
    if (type_.empty()) return Fail("not a STIX bundle or object (no \"type\")");
    if (type_ == "bundle") return Fail("a bundle without an \"objects\" array");
    on_object_(header_);
    return true;
  }

  const std::size_t max_;
  const std::function<void(StreamedObject&)>& on_object_;
  int level_ = 0;
  bool in_objects_ = false;
  bool saw_objects_ = false;
  std::string key_;
  std::string type_;  // of the outermost object
  StreamedObject header_;
  StreamedObject current_;
  std::vector<Json*> stack_;  // the open containers of the object being built
  absl::Status error_;
};

}  // namespace

absl::Status ReadStixObjects(std::istream& in, std::size_t max_object_bytes,
                             const std::function<void(StreamedObject&)>& on_object) {
  ObjectSax sax(max_object_bytes, on_object);
  if (Json::sax_parse(in, &sax)) return absl::OkStatus();
  if (!sax.error().ok()) return sax.error();
  return absl::InvalidArgumentError("not JSON (or cut short)");
}

}  // namespace threatmesh::interop
