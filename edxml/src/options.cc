#include "edxgate/edxml/options.h"

namespace edxgate::edxml {

Limits limits_from(const config::Edxml& e) {
  Limits l;
  l.max_depth = e.max_depth;
  l.max_nodes = e.max_nodes;
  l.max_attributes = e.max_attributes;
  l.max_text_bytes = e.max_text_bytes;
  l.max_attachments = e.max_attachments;
  l.max_attachment_bytes = e.max_attachment_bytes;
  l.parse_timeout_s = e.parse_timeout_s;
  l.max_zip_ratio = e.max_zip_ratio;
  return l;
}

FormatOptions format_from(const config::Edxml& e) {
  FormatOptions f;
  f.organ_id_pattern = e.organ_id_pattern;
  f.status_element = e.status_element;
  return f;
}

ReadOptions read_options_from(const config::Edxml& e) {
  ReadOptions ro;
  ro.limits = limits_from(e);
  ro.format = format_from(e);
  return ro;
}

WriteOptions write_options_from(const config::Edxml& e) {
  WriteOptions wo;
  wo.format = format_from(e);
  return wo;
}

}  // namespace edxgate::edxml
