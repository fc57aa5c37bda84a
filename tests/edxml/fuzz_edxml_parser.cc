// libFuzzer target: the hardened parser, both readers, the schema, and two
// oracles: whatever the reader accepts on receive the schema accepts (the
// tree `edxgate validate` checks), and whatever it accepts as fit to send is
// written and read back to the same header.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/schema.h"
#include "edxgate/edxml/writer.h"
#include "edxgate/edxml/xml.h"

using namespace edxgate::edxml;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ReadOptions ro;
  ro.limits.max_depth = 48;
  ro.limits.max_nodes = 20000;
  ro.limits.max_text_bytes = 64 * 1024;
  ro.limits.max_attachment_bytes = 256 * 1024;
  ro.limits.max_total_bytes = 1024 * 1024;
  ro.limits.parse_timeout_s = 5;

  auto doc = parse_xml(bytes, ro.limits);
  if (doc.ok()) {
    (void)envelope_from_doc(doc->get(), ro);
    (void)validate_schema(doc->get());
  }
  auto received = read_envelope_with_doc(bytes, ro);
  if (received.ok()) {
    if (auto s = validate_schema(received->doc.get()); !s.ok()) {
      std::fprintf(stderr, "the reader accepts what the schema refuses: %s\n", s.error().to_string().c_str());
      std::abort();
    }
  }
  ro.strictness = Strictness::outgoing;
  auto env = read_envelope(bytes, ro);
  if (!env.ok()) return 0;
  env->attachments.clear();  // no files in this mode: write the header only
  auto xml = write_envelope_string(*env, WriteOptions{});
  if (!xml.ok()) return 0;  // e.g. text XML 1.0 cannot carry (read as char refs)
  auto again = read_envelope(*xml, ro);
  if (!again.ok() || again->message != env->message || again->status != env->status || again->trace != env->trace) {
    std::abort();
  }
  return 0;
}
