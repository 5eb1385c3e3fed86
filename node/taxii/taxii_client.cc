#include "node/taxii/taxii_client.h"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include "crypto/str_cat.h"

namespace threatmesh::taxii {
namespace {

using Json = nlohmann::json;

// What a transfer received.
struct Received {
  std::string body;
  std::string date_added_last;
  std::size_t max_bytes = 0;
  bool too_large = false;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<Received*>(user);
  if (r->body.size() + size * n > r->max_bytes) {
    r->too_large = true;
    return 0;  // stops the transfer
  }
  r->body.append(data, size * n);
  return size * n;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<Received*>(user);
  const std::string line(data, size * n);
  const std::string name = "x-taxii-date-added-last:";
  if (line.size() > name.size()) {
    std::string lower = line.substr(0, name.size());
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == name) {
      std::string value = line.substr(name.size());
      const std::size_t b = value.find_first_not_of(" \t");
      const std::size_t e = value.find_last_not_of(" \t\r\n");
      r->date_added_last = b == std::string::npos ? "" : value.substr(b, e - b + 1);
    }
  }
  return size * n;
}

std::string Escape(CURL* curl, const std::string& s) {
  char* e = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

// The page's checks and fields: a JSON envelope of at most `limit` objects.
absl::StatusOr<ObjectsPage> ReadEnvelope(std::string body, std::size_t limit) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError("the server's page is not JSON (or is cut short)");
  }
  ObjectsPage page;
  if (j.contains("objects")) {
    if (!j["objects"].is_array()) {
      return absl::DataLossError("the server's page has an \"objects\" that is not a list");
    }
    page.objects = j["objects"].size();
  }
  // A server may go past the limit by the identities and markings its objects refer to (this
  // node's server does for a page's first record); far past it, it ignores the limit.
  if (page.objects > 2 * limit + 64) {
    return absl::DataLossError(StrCat("the server sent ", page.objects,
                                      " objects for a page of at most ", limit,
                                      "; refusing a page larger than asked"));
  }
  page.more = j.value("more", false);
  if (j.contains("next") && j["next"].is_string()) page.next = j["next"].get<std::string>();
  page.envelope = std::move(body);
  return page;
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)), curl_(curl_easy_init()) {
  if (!options_.api_root.empty() && options_.api_root.back() != '/') options_.api_root += '/';
}

Client::~Client() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

absl::StatusOr<ObjectsPage> Client::Objects(const std::string& added_after,
                                            const std::string& next) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return absl::InternalError("libcurl could not start");
  curl_easy_reset(curl);
  std::string url = StrCat(options_.api_root, "collections/", Escape(curl, options_.collection),
                           "/objects/?limit=", options_.limit);
  if (!added_after.empty()) url += StrCat("&added_after=", Escape(curl, added_after));
  if (!next.empty()) url += StrCat("&next=", Escape(curl, next));
  Received r;
  r.max_bytes = options_.max_page_bytes;
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/taxii+json;version=2.1");
  if (!options_.bearer.empty()) {
    headers = curl_slist_append(headers, StrCat("Authorization: Bearer ", options_.bearer).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.user.empty() || !options_.password.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  }
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (r.too_large) {
    return absl::DataLossError(StrCat("the server's page is over ", options_.max_page_bytes >> 20,
                                      " MB; refusing it (ask a smaller --limit)"));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(StrCat("cannot fetch ", url, ": ", curl_easy_strerror(code)));
  }
  if (status != 200) {
    std::string said;
    Json j = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) said = StrCat(": ", j.value("title", ""), " ", j.value("description", ""));
    return absl::FailedPreconditionError(
        StrCat("the TAXII server answered HTTP ", status, " to ", url, said));
  }
  absl::StatusOr<ObjectsPage> page = ReadEnvelope(std::move(r.body), options_.limit);
  if (!page.ok()) return page.status();
  page->date_added_last = std::move(r.date_added_last);
  return page;
}

}  // namespace threatmesh::taxii
