#include "node/interop/csv_import.h"

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/str_cat.h"
#include "node/core/indicator.h"
#include "node/core/record_builder.h"
#include "node/core/record_view.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;

// The rows of `text` (RFC 4180: fields quoted with '"', a quote inside doubled, line breaks
// inside quotes kept), each with the line it starts on. InvalidArgument for a quote that
// does not end.
absl::StatusOr<std::vector<std::pair<int, std::vector<std::string>>>> Rows(std::string_view text) {
  std::vector<std::pair<int, std::vector<std::string>>> rows;
  std::vector<std::string> row;
  std::string field;
  int line = 1, row_line = 1;
  bool quoted = false, any = false;
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    if (any || row.size() > 1 || !row[0].empty()) rows.emplace_back(row_line, std::move(row));
    row.clear();
    any = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && field.empty()) {
      quoted = any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n') {
      end_row();
      row_line = ++line;
    } else if (c != '\r') {
      field.push_back(c);
    }
  }
  if (quoted) {
    return absl::InvalidArgumentError(StrCat("line ", row_line, ": a quoted field does not end"));
  }
  if (!field.empty() || !row.empty() || any) end_row();
  return rows;
}

// The optional columns of a row into `b` (its TLP set to the default already); the reason
// when one does not read.
absl::Status ReadOptionalColumns(const std::function<std::string(const char*)>& cell,
                                 v1::RecordBody& b) {
  if (const std::string tlp = cell("tlp"); !tlp.empty()) {
    absl::StatusOr<v1::Tlp> t = ParseTlp(tlp);
    if (!t.ok()) return t.status();
    b.set_tlp(*t);
  }
  if (const std::string confidence = cell("confidence"); !confidence.empty()) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(confidence.c_str(), &end, 10);
    if (*end != '\0' || n > 100) {
      return absl::InvalidArgumentError(StrCat("confidence \"", confidence, "\" is not 0..100"));
    }
    b.set_confidence(static_cast<uint32_t>(n));
  }
  const std::string labels = cell("labels");
  for (std::size_t at = 0; !labels.empty() && at <= labels.size();) {
    const std::size_t semi = std::min(labels.find(';', at), labels.size());
    if (semi > at) b.add_labels(labels.substr(at, semi - at));
    at = semi + 1;
  }
  for (auto [name, set] : {std::pair<const char*, void (v1::RecordBody::*)(int64_t)>{
                               "valid_from", &v1::RecordBody::set_valid_from},
                           {"valid_until", &v1::RecordBody::set_valid_until}}) {
    const std::string t = cell(name);
    if (t.empty()) continue;
    absl::StatusOr<int64_t> ms = ParseTime(t);
    if (!ms.ok()) return absl::InvalidArgumentError(StrCat(name, ": ", ms.status().message()));
    (b.*set)(*ms);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StixImport> ReadCsv(std::string_view text, std::string_view source,
                                   v1::Tlp default_tlp) {
  absl::StatusOr<std::vector<std::pair<int, std::vector<std::string>>>> rows = Rows(text);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::InvalidArgumentError("no header row");
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < rows->front().second.size(); ++i) {
    column[rows->front().second[i]] = i;
  }
  if (!column.count("type") || !column.count("value")) {
    return absl::InvalidArgumentError(
        "the header names no \"type\" and \"value\" columns (e.g. type,value,tlp,labels)");
  }
  StixImport out;
  for (std::size_t r = 1; r < rows->size(); ++r) {
    // (Not a structured binding: clang 14 does not let the lambda below capture one.)
    const int line = (*rows)[r].first;
    const std::vector<std::string>& cells = (*rows)[r].second;
    const std::string where = StrCat(source, " line ", line);
    auto cell = [&](const char* name) -> std::string {
      auto it = column.find(name);
      return it != column.end() && it->second < cells.size() ? cells[it->second] : std::string();
    };
    absl::StatusOr<v1::IndicatorType> type = ParseIndicatorType(cell("type"));
    if (!type.ok()) {
      out.skipped.emplace_back(where, std::string(type.status().message()));
      continue;
    }
    v1::PublishRequest req;
    v1::RecordBody* b = req.mutable_body();
    b->mutable_indicator()->set_type(*type);
    b->mutable_indicator()->set_value(cell("value"));
    b->set_tlp(default_tlp);
    if (absl::Status read = ReadOptionalColumns(cell, *b); !read.ok()) {
      out.skipped.emplace_back(where, std::string(read.message()));
      continue;
    }
    b->mutable_indicator()->set_description(StrCat(
        cell("description"), cell("description").empty() ? "" : " | ", "Imported from ", where));
    // The reference names the indicator, not the file: the same value imported from another
    // list is already present.
    absl::StatusOr<std::string> normalized = NormalizeIndicator(*type, cell("value"));
    req.set_source_ref(StrCat("csv:", crypto::HexEncode(crypto::Sha256(
                                          StrCat(IndicatorTypeName(*type), "\n",
                                                 normalized.ok() ? *normalized : cell("value"))))));
    out.requests.emplace_back(where, std::move(req));
  }
  return out;
}

}  // namespace threatmesh::interop
