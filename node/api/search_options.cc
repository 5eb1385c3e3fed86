// The options of `threatmesh search` and their SearchRequest (search_options.h).
#include "node/api/search_options.h"

#include <boost/program_options.hpp>
#include <optional>

#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/core/indicator.h"
#include "node/core/record_builder.h"
#include "node/core/record_kind.h"
#include "node/core/record_view.h"
#include "storage/store.h"

namespace threatmesh {

namespace po = boost::program_options;

void FilterOptions(po::options_description& d) {
  d.add_options()("only-kind", po::value<std::vector<std::string>>()->composing(),
                  "filter: only this kind (repeatable)")("max-tlp", po::value<std::string>(),
                                                         "filter: TLP up to this label")(
      "with-tag", po::value<std::vector<std::string>>()->composing(),
      "filter: records carrying this tag (repeatable; all must match)")(
      "by", po::value<std::string>(), "filter: only this author's public key")(
      "created-from", po::value<std::string>(), "filter: created at or after")(
      "created-to", po::value<std::string>(), "filter: created at or before");
}

namespace {

absl::StatusOr<v1::RecordKind> ParseKind(const std::string& kind) {
  std::optional<RecordKindInfo> found = FindRecordKind(kind);
  if (!found) {
    return absl::InvalidArgumentError(
        StrCat("unknown kind \"", kind,
               "\"; use indicator, log-excerpt, sighting, retraction, key-rotation or "
               "key-revocation"));
  }
  return found->api_kind;
}

}  // namespace

absl::StatusOr<v1::Filter> ParseFilter(const po::variables_map& vm) {
  v1::Filter f;
  if (vm.count("only-kind")) {
    for (const std::string& k : vm["only-kind"].as<std::vector<std::string>>()) {
      absl::StatusOr<v1::RecordKind> kind = ParseKind(k);
      if (!kind.ok()) return kind.status();
      f.add_kinds(*kind);
    }
  }
  if (vm.count("max-tlp")) {
    absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["max-tlp"].as<std::string>());
    if (!tlp.ok()) return tlp.status();
    f.set_max_tlp(*tlp);
  }
  if (vm.count("with-tag")) {
    for (const std::string& t : vm["with-tag"].as<std::vector<std::string>>()) f.add_tags(t);
  }
  if (vm.count("by")) {
    absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromText(vm["by"].as<std::string>());
    if (!key.ok()) return key.status();
    f.set_author(std::string(key->bytes()));
  }
  for (auto [flag, set] : {std::pair<const char*, void (v1::Filter::*)(int64_t)>{
                               "created-from", &v1::Filter::set_created_from},
                           {"created-to", &v1::Filter::set_created_to}}) {
    if (!vm.count(flag)) continue;
    absl::StatusOr<int64_t> t = ParseTime(vm[flag].as<std::string>());
    if (!t.ok()) return absl::InvalidArgumentError(StrCat("--", flag, ": ", t.status().message()));
    (f.*set)(*t);
  }
  return f;
}

void SearchOptions(po::options_description& d) {
  d.add_options()("type", po::value<std::string>(), "indicator type, with --value")(
      "value", po::value<std::string>(), "exact indicator value, with --type")(
      "domain-suffix", po::value<std::string>(), "records naming this domain or a name under it")(
      "ip", po::value<std::string>(), "IP and CIDR indicators whose range contains this address")(
      "author", po::value<std::string>(), "records by this public key, with --since/--until")(
      "since", po::value<std::string>(), "with --author: created at or after")(
      "until", po::value<std::string>(), "with --author: created before")(
      "tag", po::value<std::string>(), "records carrying this label")(
      "kind", po::value<std::string>(),
      "indicator, log-excerpt, sighting, retraction, key-rotation or key-revocation")(
      "limit", po::value<uint32_t>()->default_value(storage::kDefaultLimit), "records per page")(
      "page-token", po::value<std::string>()->default_value(""),
      "continuation token printed by the previous page");
  FilterOptions(d);
}

absl::StatusOr<v1::SearchRequest> SearchRequestFrom(const po::variables_map& vm) {
  v1::SearchRequest request;
  request.set_limit(vm["limit"].as<uint32_t>());
  request.set_page_token(vm["page-token"].as<std::string>());
  absl::StatusOr<v1::Filter> filter = ParseFilter(vm);
  if (!filter.ok()) return filter.status();
  *request.mutable_filter() = std::move(*filter);
  int queries = 0;
  for (const char* q : {"value", "domain-suffix", "ip", "author", "tag", "kind"}) {
    queries += vm.count(q) ? 1 : 0;
  }
  if (queries != 1) {
    return absl::InvalidArgumentError(
        "give exactly one query: --type T --value V, --domain-suffix D, --ip IP, --author KEY, "
        "--tag T or --kind K");
  }
  if (vm.count("value")) {
    if (!vm.count("type")) return absl::InvalidArgumentError("--value needs --type");
    absl::StatusOr<v1::IndicatorType> type = ParseIndicatorType(vm["type"].as<std::string>());
    if (!type.ok()) return type.status();
    request.mutable_indicator()->set_type(*type);
    request.mutable_indicator()->set_value(vm["value"].as<std::string>());
  } else if (vm.count("domain-suffix")) {
    request.set_domain_suffix(vm["domain-suffix"].as<std::string>());
  } else if (vm.count("ip")) {
    request.set_ip(vm["ip"].as<std::string>());
  } else if (vm.count("author")) {
    absl::StatusOr<crypto::PublicKey> key =
        crypto::PublicKey::FromText(vm["author"].as<std::string>());
    if (!key.ok()) return key.status();
    v1::AuthorQuery* a = request.mutable_author();
    a->set_author(std::string(key->bytes()));
    for (auto [flag, set] : {std::pair<const char*, void (v1::AuthorQuery::*)(int64_t)>{
                                 "since", &v1::AuthorQuery::set_from},
                             {"until", &v1::AuthorQuery::set_to}}) {
      if (!vm.count(flag)) continue;
      absl::StatusOr<int64_t> t = ParseTime(vm[flag].as<std::string>());
      if (!t.ok()) return t.status();
      (a->*set)(*t);
    }
  } else if (vm.count("tag")) {
    request.set_tag(vm["tag"].as<std::string>());
  } else {
    absl::StatusOr<v1::RecordKind> kind = ParseKind(vm["kind"].as<std::string>());
    if (!kind.ok()) return kind.status();
    request.set_kind(*kind);
  }
  return request;
}

absl::StatusOr<v1::SearchRequest> SearchRequestFromArgs(const std::vector<std::string>& args) {
  po::options_description d;
  SearchOptions(d);
  po::variables_map vm;
  try {
    po::store(
        po::command_line_parser(args)
            .options(d)
            .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
            .run(),
        vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return SearchRequestFrom(vm);
}

}  // namespace threatmesh
