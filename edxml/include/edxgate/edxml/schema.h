// Validation against edxgate's own XSD (edxml/schema/edxml.xsd, compiled in).
//
// Run it on a document the hardened parser built (parse_xml, or the tree from
// read_envelope_file_with_doc, whose attachment content elements are empty:
// for an envelope of any size the XSD then checks the whole structure and
// the header, while the streaming decoder has checked the base64). What the
// reader does not read (extension and unknown elements, attributes, text
// between the elements of a structure) is left out of the check on a copy;
// the document is not changed. The schema describes what the gateway accepts
// on receive, so that whatever the reader accepts (in either strictness) it
// accepts too. Error code "edxml.schema", with the line and libxml2's
// sentence.
#pragma once

#include <libxml/tree.h>

#include <string_view>

#include "edxgate/base/result.h"

namespace edxgate::edxml {

Status validate_schema(const xmlDoc* doc);

// The XSD text compiled into the library.
std::string_view schema_text();

}  // namespace edxgate::edxml
