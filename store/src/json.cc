#include "edxgate/store/json.h"

#include "edxgate/base/time.h"

namespace edxgate::store {

namespace bj = json::bj;

// `full`: the document as get_document returns it (recipients and
// attachments filled); list entries carry neither.
bj::object document_json(const Document& d, bool full) {
  bj::object o;
  o["id"] = std::to_string(d.id);
  o["direction"] = std::string(direction_name(d.direction));
  o["state"] = std::string(state_name(d.state));
  o["document_id"] = d.envelope_id;
  o["from"] = d.sender;
  if (full) {
    bj::array to;
    for (const auto& r : d.recipients) to.emplace_back(r);
    o["to"] = std::move(to);
  }
  o["code"] = d.code_number.empty() ? d.code_notation : d.code_number + "/" + d.code_notation;
  o["promulgation_date"] = d.promulgation_date;
  o["subject"] = d.subject;
  o["document_type"] = d.document_type;
  o["priority"] = d.priority;
  o["due_date"] = d.due_date;
  o["signer"] = d.signer_summary;
  o["created"] = iso_time(d.created_ms);
  o["updated"] = iso_time(d.updated_ms);
  o["lifecycle"] = d.lifecycle;
  if (d.envelope) o["envelope"] = bj::object{{"sha256", d.envelope->sha256}, {"size", d.envelope->size}};
  if (!full) return o;
  bj::array atts;
  for (size_t i = 0; i < d.attachments.size(); ++i) {
    const auto& a = d.attachments[i];
    // size and sha256 are those of the file a download gives: the file
    // unpacked from a zipped attachment, whose received bytes (what was
    // signed) are described under "as_received" and served with ?raw=1.
    bj::object att{{"index", i},
                   {"name", a.name},
                   {"content_type", a.content_type},
                   {"size", a.file().size},
                   {"sha256", a.file().sha256}};
    if (a.unzipped) {
      att["unzipped"] = true;
      att["as_received"] = bj::object{{"size", a.blob.size}, {"sha256", a.blob.sha256}};
    }
    if (!a.note.empty()) att["note"] = a.note;
    atts.push_back(std::move(att));
  }
  o["attachments"] = std::move(atts);
  return o;
}

Result<bj::array> lifecycle_events_json(Store& store, DocumentId id) {
  auto events = store.lifecycle_events(id);
  if (!events.ok()) return events.error();
  bj::array out;
  for (const auto& e : *events) {
    bj::object o{{"lifecycle", e.lifecycle}, {"at", iso_time(e.at_ms)}, {"by", e.actor}, {"reason", e.reason}};
    if (e.related) {
      o["relation"] = e.relation;
      o["document"] = std::to_string(*e.related);
    }
    out.push_back(std::move(o));
  }
  return out;
}

Result<bj::object> document_detail_json(Store& store, const Document& d) {
  bj::object o = document_json(d, true);
  auto history = store.history(d.id);
  if (!history.ok()) return history.error();
  bj::array h;
  for (const auto& t : *history) {
    h.push_back(bj::object{{"from", t.from ? std::string(state_name(*t.from)) : std::string()},
                           {"state", std::string(state_name(t.to))},
                           {"at", iso_time(t.at_ms)},
                           {"by", t.actor},
                           {"reason", t.reason}});
  }
  o["history"] = std::move(h);
  auto messages = store.status_messages(d.id);
  if (!messages.ok()) return messages.error();
  bj::array m;
  for (const auto& s : *messages) {
    m.push_back(bj::object{{"direction", s.direction == Direction::incoming ? "received" : "sent"},
                           {"code", s.code},
                           {"description", s.description},
                           {"staff", s.staff},
                           {"at", iso_time(s.at_ms)}});
  }
  o["status_messages"] = std::move(m);
  auto lifecycle = lifecycle_events_json(store, d.id);  // links to a recall, update or replacement
  if (!lifecycle.ok()) return lifecycle.error();
  o["lifecycle_events"] = std::move(*lifecycle);
  return o;
}

}  // namespace edxgate::store
