#include "edxgate/workflow/directory.h"

#include "edxgate/base/log.h"

namespace edxgate::workflow {

Result<uint64_t> sync_directory(AxisTransport& axis, store::Store& store, const AxisDirectoryLimits& limits,
                                const std::string& actor) {
  auto fetched = axis.list_agencies(limits);
  if (!fetched.ok()) return fetched.error();
  if (fetched->empty()) {
    return make_error(ErrorKind::unavailable, "directory.empty",
                      "the axis answered an empty agency directory; the stored one is kept");
  }
  std::vector<store::Agency> entries;
  entries.reserve(fetched->size());
  uint64_t skipped = 0;
  for (auto& a : *fetched) {
    if (a.code.empty()) {
      ++skipped;  // an entry nobody can address a document to
      continue;
    }
    entries.push_back(store::Agency{std::move(a.code), std::move(a.name), std::move(a.id), std::move(a.pid),
                                    std::move(a.mail), std::move(a.old_code)});
  }
  EDX_TRY(store.replace_agencies(entries, actor));
  log::info("agency directory synchronised",
            {{"entries", std::to_string(entries.size())}, {"skipped_without_code", std::to_string(skipped)}});
  return static_cast<uint64_t>(entries.size());
}

Status check_recipients(store::Store& store, const std::vector<std::string>& recipients) {
  auto info = store.agency_directory_info();
  if (!info.ok()) return info.error();
  if (info->count == 0) return {};
  for (const std::string& organ : recipients) {
    auto found = store.find_agency(organ);
    if (!found.ok()) return found.error();
    if (*found) continue;
    auto closest = store.closest_agencies(organ, kClosestAgencies);
    if (!closest.ok()) return closest.error();
    std::string names;
    for (const auto& a : *closest) names += (names.empty() ? "" : "; ") + a.code + " " + a.name;
    return make_error(ErrorKind::invalid, "recipient.unknown",
                      "recipient organ '" + organ.substr(0, 64) + "' is not in the agency directory" +
                          (names.empty() ? std::string() : " (closest: " + names + ")"));
  }
  return {};
}

}  // namespace edxgate::workflow
