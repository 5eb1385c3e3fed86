#include "node/excerpt_check.h"

#include <regex>

#include "crypto/str_cat.h"
#include "node/log_formats.h"

namespace threatmesh {
namespace {

using threatmesh::v1::ChecklistItem;
using threatmesh::v1::LogExcerpt;

ChecklistItem Item(const char* name, bool passed, std::string reason) {
  ChecklistItem item;
  item.set_item(name);
  item.set_passed(passed);
  item.set_reason(std::move(reason));
  return item;
}

// A pseudonym as crypto::Pseudonyms makes them: kind, '-', 16 base32 characters.
const std::regex& PseudonymPattern() {
  static const std::regex re("\\b(host|user)-[a-z2-7]{16}\\b");
  return re;
}

// Credential-like text and e-mail addresses.
const std::regex& CredentialPattern() {
  static const std::regex re(
      "(password|passwd|pwd|secret|token|api_?key|session)=[^&\\s\"]+|authorization:|bearer "
      "[a-z0-9._-]{8,}|cookie:\\s*[^\\s]",
      std::regex::icase);
  return re;
}
const std::regex& EmailPattern() {
  static const std::regex re("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}");
  return re;
}

}  // namespace

std::vector<ChecklistItem> CheckExcerpt(const threatmesh::v1::RecordBody& body,
                                        const ExcerptCheckOptions& options) {
  std::vector<ChecklistItem> out;
  const LogExcerpt& x = body.log_excerpt();
  out.push_back(body.tlp() != threatmesh::v1::TLP_UNSPECIFIED && body.has_log_excerpt()
                    ? Item("tlp", true, "set")
                    : Item("tlp", false,
                           body.has_log_excerpt() ? "no TLP label: choose one with --tlp"
                                                  : "not a log excerpt"));
  const bool window = x.window_start() > 0 && x.window_end() > x.window_start();
  out.push_back(window ? Item("window", true, "set, UTC")
                       : Item("window", false,
                              "no time window, or it ends before it starts: set --window "
                              "START..END (UTC)"));
  int outside = 0;
  int64_t first_outside = 0;
  for (const threatmesh::v1::LogEvent& e : x.events()) {
    if (e.time() < x.window_start() || e.time() >= x.window_end()) {
      if (outside++ == 0) first_outside = e.time();
    }
  }
  out.push_back(window && outside == 0
                    ? Item("events-in-window", true, StrCat(x.events_size(), " events, all inside"))
                    : Item("events-in-window", false,
                           window ? StrCat(outside, " events outside the window, the first at ",
                                           first_outside, " ms")
                                  : "no window to check against"));
  bool known_format = false;
  for (const std::string& f : LogFormatNames())
    known_format = known_format || f == x.source_format();
  const bool zone = known_format && x.original_utc_offset_minutes() >= -14 * 60 &&
                    x.original_utc_offset_minutes() <= 14 * 60;
  out.push_back(zone ? Item("time-zone", true,
                            StrCat("source ", x.source_format(), ", UTC offset ",
                                   x.original_utc_offset_minutes(), " min"))
                     : Item("time-zone", false,
                            StrCat("source format \"", x.source_format(),
                                   "\" unknown or its UTC offset out of range")));
  // Every pseudonymized field is in the manifest, and every step names its key.
  std::string missing;
  for (const threatmesh::v1::LogEvent& e : x.events()) {
    for (const threatmesh::v1::EventField& f : e.fields()) {
      if (!std::regex_search(f.value(), PseudonymPattern())) continue;
      bool listed = false;
      for (const auto& step : x.manifest()) {
        listed = listed || (step.field() == f.name() && step.method() == "pseudonymize");
      }
      if (!listed && missing.find(f.name()) == std::string::npos) {
        missing += (missing.empty() ? "" : ", ") + f.name();
      }
    }
  }
  for (const auto& step : x.manifest()) {
    if (step.method() != "remove" && step.key_id().empty()) {
      missing += (missing.empty() ? "" : ", ") + step.field() + " (no key id)";
    }
  }
  out.push_back(missing.empty()
                    ? Item("manifest", true, StrCat(x.manifest_size(), " steps, complete"))
                    : Item("manifest", false, "transformed but not in the manifest: " + missing));
  // Nothing internal, personal or secret in clear, in the events or the lines.
  // (The scan only detects; the keys of the sanitizer it borrows are never used to publish.)
  const crypto::CryptoPan no_addresses = *crypto::CryptoPan::Create(std::string(32, '\0'));
  const crypto::Pseudonyms no_names = *crypto::Pseudonyms::Create(std::string(32, '\0'));
  Sanitizer scanner(options.internal, no_addresses, no_names);
  std::string found;
  auto scan = [&](const std::string& text, const std::string& where) {
    if (!found.empty()) return;
    std::smatch m;
    if (std::regex_search(text, m, EmailPattern())) {
      found = StrCat("an e-mail address in ", where);
    } else if (std::regex_search(text, m, CredentialPattern())) {
      found = StrCat("a credential (\"", m.str().substr(0, 12), "...\") in ", where);
    } else {
      bool addresses = false, names = false;
      (void)scanner.Scan(text, &addresses, &names);
      if (addresses) found = StrCat("an internal address in ", where);
      if (names) found = StrCat("an internal name in ", where);
    }
  };
  for (int i = 0; i < x.lines_size(); ++i) scan(x.lines(i), StrCat("line ", i + 1));
  for (int i = 0; i < x.events_size(); ++i) {
    for (const threatmesh::v1::EventField& f : x.events(i).fields()) {
      scan(f.value(), StrCat("event ", i + 1, " ", f.name()));
    }
  }
  out.push_back(found.empty() ? Item("pii-scan", true, "nothing internal or secret in clear")
                              : Item("pii-scan", false, found + ": sanitize it first"));
  out.push_back(!x.contact().empty()
                    ? Item("contact", true, x.contact())
                    : Item("contact", false, "no contact: say whom to ask with --contact"));
  out.push_back(body.author().empty()
                    ? Item("author", true, "a draft: the node signs with its own key")
                : body.author().size() == 32
                    ? Item("author", true, "set")
                    : Item("author", false,
                           StrCat("the author key is ", body.author().size(), " bytes, not 32")));
  const std::size_t size = body.ByteSizeLong() + 64 + 16;  // envelope: signature, framing
  out.push_back(size <= options.max_record_bytes
                    ? Item("size", true, StrCat(size, " bytes"))
                    : Item("size", false,
                           StrCat(size, " bytes, over the record limit of ",
                                  options.max_record_bytes, ": narrow the window")));
  return out;
}

bool AllPassed(const std::vector<ChecklistItem>& items) {
  for (const ChecklistItem& i : items) {
    if (!i.passed()) return false;
  }
  return true;
}

}  // namespace threatmesh
