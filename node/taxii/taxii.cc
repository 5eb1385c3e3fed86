#include "node/taxii/taxii.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/str_cat.h"
#include "crypto/uuid.h"
#include "node/core/record_view.h"
#include "node/interop/stix.h"

namespace threatmesh::taxii {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::ordered_json;

constexpr std::string_view kMediaTypeHeader = "application/taxii+json;version=2.1";

http::Response JsonResponse(int status, const Json& body) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::string(kMediaTypeHeader));
  r.body = body.dump();
  return r;
}

// The query's parameters, each with its values (repeated or comma-separated).
std::map<std::string, std::vector<std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [key, value] : http::QueryPairs(query)) {
    std::vector<std::string>& values = out[key];
    for (std::size_t at = 0;;) {
      const std::size_t comma = value.find(',', at);
      values.push_back(value.substr(at, comma == std::string::npos ? comma : comma - at));
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
  }
  return out;
}

// Whether an Accept header admits TAXII 2.1 JSON (absent, */*, or the media type without a
// version or with version 2.1).
bool AcceptsTaxii(const std::string& accept) {
  if (accept.empty()) return true;
  std::string a;
  for (char c : accept) {
    if (c != ' ') a.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  for (std::size_t at = 0; at <= a.size();) {
    const std::size_t comma = a.find(',', at);
    const std::string item = a.substr(at, comma == std::string::npos ? comma : comma - at);
    const std::string type = item.substr(0, item.find(';'));
    if (type == "*/*" || type == "application/*") return true;
    if (type == "application/taxii+json" && (item.find("version=") == std::string::npos ||
                                             item.find("version=2.1") != std::string::npos)) {
      return true;
    }
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return false;
}

}  // namespace

std::string DefaultCollectionId() {
  static const std::string id =
      crypto::Uuid5(*crypto::ParseUuid(interop::kStixNamespace), "taxii-collection:default");
  return id;
}

http::Response TaxiiError(int status, const std::string& title, const std::string& description) {
  Json j;
  j["title"] = title;
  j["description"] = description;
  j["http_status"] = std::to_string(status);
  return JsonResponse(status, j);
}

TaxiiService::TaxiiService(NodeApi& api, TaxiiOptions options)
    : api_(api), options_(std::move(options)) {
  bool has_default = false;
  for (const TaxiiCollectionConfig& c : options_.collections) {
    collections_.push_back({c, CollectionId(c.name)});
    has_default |= c.name == "default";
  }
  if (!has_default) {
    TaxiiCollectionConfig d;
    d.name = "default";
    d.title = "Everything up to TLP:AMBER+STRICT";
    d.description =
        "Every indicator, sighting and log excerpt this node holds that the token may see, up "
        "to TLP:AMBER+STRICT (TLP:RED only in a collection that names it)";
    collections_.insert(collections_.begin(), {std::move(d), DefaultCollectionId()});
  }
}

// The kind of resource at `path`, for counting requests by a bounded set of names:
// discovery, api_root, status, collections, collection, objects, manifest, object, versions,
// or other.
std::string TaxiiResource(std::string path) {
  if (path.empty() || path.back() != '/') path += '/';
  const std::string root(kApiRoot);
  const std::string collections = root + "collections/";
  if (path == "/taxii2/") return "discovery";
  if (path == root) return "api_root";
  if (path.rfind(root + "status/", 0) == 0) return "status";
  if (path.rfind(collections, 0) != 0) return "other";
  const std::string rest = path.substr(collections.size());  // "", "ID/", "ID/objects/", ...
  const std::size_t slash = rest.find('/');
  if (rest.empty()) return "collections";
  const std::string what = rest.substr(slash + 1);
  if (what.empty()) return "collection";
  if (what == "objects/") return "objects";
  if (what == "manifest/") return "manifest";
  if (what.rfind("objects/", 0) == 0) {
    return what.size() > 10 && what.ends_with("/versions/") ? "versions" : "object";
  }
  return "other";
}

http::Response TaxiiService::Handle(const http::Request& request) {
  const auto started = std::chrono::steady_clock::now();
  http::Response response = Answer(request);
  const std::string path = request.target.substr(0, request.target.find('?'));
  api_.taxii_metrics().Record(
      StrCat(request.method.substr(0, 16), " ", TaxiiResource(path)),
      std::to_string(response.status),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return response;
}

http::Response TaxiiService::Answer(const http::Request& request) {
  Call call{request, "", {}, {}, {}, 0};
  const std::size_t q = request.target.find('?');
  call.path = request.target.substr(0, q);
  if (q != std::string::npos)
    call.query = ParseQuery(std::string_view(request.target).substr(q + 1));
  call.audit.set_method(StrCat("TAXII ", request.method, " ", call.path.substr(0, 200)));
  // Tokens come as a Bearer token, or as the password of HTTP Basic (any user name).
  absl::StatusOr<Caller> caller =
      api_.Authenticate(BearerFromHttp(request.Header("authorization")));
  http::Response response;
  if (!caller.ok()) {
    response = TaxiiError(401, "Unauthorized", std::string(caller.status().message()));
    response.headers.emplace_back(
        "WWW-Authenticate", "Basic realm=\"threatmesh TAXII\", Bearer realm=\"threatmesh TAXII\"");
  } else {
    call.caller = *caller;
    call.audit.set_who(caller->name);
    call.audit.set_role(caller->role);
    absl::Status allowed = NodeApi::Require(*caller, v1::ROLE_READ, "TAXII");
    if (!allowed.ok()) {
      response = TaxiiError(403, "Forbidden", std::string(allowed.message()));
    } else if (!AcceptsTaxii(request.Header("accept"))) {
      response = TaxiiError(406, "Not Acceptable",
                            StrCat("this server answers ", kTaxiiMediaType,
                                   "; the request accepts only ", request.Header("accept")));
    } else {
      response = Route(call);
    }
  }
  std::string query = q == std::string::npos ? "" : request.target.substr(q + 1, 256);
  call.audit.set_params(StrCat(query, query.empty() ? "" : " ", "status=", response.status,
                               " objects=", call.objects));
  call.audit.set_code(http::AuditCodeOf(response.status));
  if (absl::StatusOr<uint64_t> appended = api_.audit_log().Append(call.audit); !appended.ok()) {
    return TaxiiError(503, "Service Unavailable",
                      StrCat("the audit trail cannot be written (", appended.status().message(),
                             "); free disk space on the node and retry"));
  }
  return response;
}

http::Response TaxiiService::Route(Call& call) {
  std::string path = call.path;
  if (path.empty() || path.back() != '/') path += '/';
  const std::string root(kApiRoot);
  const std::string collections = root + "collections/";
  const std::string status = root + "status/";
  const bool get = call.request.method == "GET" || call.request.method == "HEAD";
  const bool post = call.request.method == "POST";
  if (path == "/taxii2/" && get) return Discovery(call);
  if (path == root && get) return ApiRootInfo(call);
  if (path.rfind(status, 0) == 0 && get) return Status(call, path.substr(status.size()));
  if (path.rfind(collections, 0) != 0) {
    return TaxiiError(404, "Not Found", StrCat("no TAXII resource at ", call.path));
  }
  // collections/ [ID/ [objects/ | manifest/]]
  const std::string rest = path.substr(collections.size());
  const std::size_t slash = rest.find('/');
  const std::string id = slash == std::string::npos ? "" : rest.substr(0, slash);
  const std::string what = slash == std::string::npos ? "" : rest.substr(slash + 1);
  const Collection* c = nullptr;
  for (const Collection& candidate : collections_) {
    if (candidate.id == id &&
        (CanRead(candidate, call.caller) || CanWrite(candidate, call.caller))) {
      c = &candidate;
    }
  }
  if (!id.empty() && c == nullptr) {
    return TaxiiError(404, "Not Found",
                      StrCat("no collection ", id, " at this API root that this token may use"));
  }
  if (what == "objects/" && post) return Post(call, *c);
  if (!get) {
    return TaxiiError(405, "Method Not Allowed",
                      StrCat(call.request.method, " is not served at ", call.path));
  }
  if (c == nullptr) return Collections(call, nullptr);
  if (what.empty()) return Collections(call, c);
  // objects/ID/ or objects/ID/versions/
  std::string object_id;
  bool versions = false;
  if (what.rfind("objects/", 0) == 0 && what.size() > 8) {
    object_id = what.substr(8, what.find('/', 8) - 8);
    const std::string after = what.substr(8 + object_id.size());
    versions = after == "/versions/";
    if (after != "/" && !versions) object_id.clear();
  }
  if (what != "objects/" && what != "manifest/" && object_id.empty()) {
    return TaxiiError(404, "Not Found", StrCat("no TAXII resource at ", call.path));
  }
  if (!CanRead(*c, call.caller)) {
    return TaxiiError(403, "Forbidden",
                      StrCat("token \"", call.caller.name, "\" may write to collection ",
                             c->config.name, " but not read it"));
  }
  if (!object_id.empty()) return Object(call, *c, http::PercentDecode(object_id), versions);
  return Objects(call, *c, /*manifest=*/what == "manifest/");
}

http::Response TaxiiService::Discovery(Call& call) {
  const std::string host = call.request.Header("host");
  Json j;
  j["title"] = options_.title;
  j["description"] =
      "A threatmesh node: signed indicators, sightings and log excerpts of its "
      "sharing community, as STIX 2.1";
  const std::string root =
      host.empty() ? std::string(kApiRoot) : StrCat(options_.scheme, "://", host, kApiRoot);
  j["default"] = root;
  j["api_roots"] = Json::array({root});
  return JsonResponse(200, j);
}

http::Response TaxiiService::ApiRootInfo(Call& /*call*/) {
  Json j;
  j["title"] = options_.title;
  j["description"] =
      StrCat("The records of this node; pages hold at most ", options_.max_page, " objects");
  j["versions"] = Json::array({std::string(kTaxiiMediaType)});
  j["max_content_length"] = options_.max_content_length;
  return JsonResponse(200, j);
}

std::string CollectionId(const std::string& name) {
  if (name == "default") return DefaultCollectionId();
  return crypto::Uuid5(*crypto::ParseUuid(interop::kStixNamespace),
                       StrCat("taxii-collection:", name));
}

bool TaxiiService::CanRead(const Collection& c, const Caller& caller) {
  return caller.role >= v1::ROLE_READ &&
         (c.config.readers.empty() || c.config.readers.count(caller.name));
}

bool TaxiiService::CanWrite(const Collection& c, const Caller& caller) {
  return caller.role >= v1::ROLE_PUBLISH && c.config.writers.count(caller.name) > 0;
}

http::Response TaxiiService::Collections(Call& call, const Collection* one) {
  auto describe = [&](const Collection& c) {
    Json j;
    j["id"] = c.id;
    j["title"] = c.config.title;
    if (!c.config.description.empty()) j["description"] = c.config.description;
    j["can_read"] = CanRead(c, call.caller);
    j["can_write"] = CanWrite(c, call.caller);
    j["media_types"] = Json::array({std::string(kStixMediaType)});
    return j;
  };
  if (one != nullptr) return JsonResponse(200, describe(*one));
  Json list = Json::array();
  for (const Collection& c : collections_) {
    if (CanRead(c, call.caller) || CanWrite(c, call.caller)) list.push_back(describe(c));
  }
  Json j = Json::object();
  if (!list.empty()) j["collections"] = std::move(list);
  return JsonResponse(200, j);
}

}  // namespace threatmesh::taxii
