// The streaming canonicalizer: libxml2's c14n.c (2.9.14) rules, applied one
// event at a time. The comments name the libxml2 function each part follows.
#include "stream_c14n.h"

#include "edxgate/edxml/xml.h"

#include <libxml/uri.h>
#include <libxml/xmlstring.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <memory>

namespace edxgate::crypto::c14n {

namespace {

constexpr std::string_view kXmlNamespace = "http://www.w3.org/XML/1998/namespace";

std::string_view sv(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

// What each context escapes (xmlC11NNormalizeString).
struct EscapeTables {
  std::array<bool, 256> text{}, attribute{}, comment{};
  EscapeTables() {
    for (unsigned char c : {'&', '<', '>', '\r'}) text[c] = true;
    for (unsigned char c : {'&', '<', '"', '\t', '\n', '\r'}) attribute[c] = true;
    comment['\r'] = true;  // comments and PIs
  }
};
const EscapeTables kEscape;

std::string_view replacement(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\t':
      return "&#x9;";
    case '\n':
      return "&#xA;";
    default:
      return "&#xD;";
  }
}

// xmlC14NStrEqual: NULL equals "".
bool str_equal(const xmlChar* a, const xmlChar* b) { return sv(a) == sv(b); }

// xmlC14NIsXmlNs
bool is_xml_ns(const xmlNs* ns) { return ns && sv(ns->prefix) == "xml" && sv(ns->href) == kXmlNamespace; }

// xmlC14NNsCompare, for the sorted namespace list.
int ns_compare(const xmlNs* a, const xmlNs* b) {
  if (a == b) return 0;
  return xmlStrcmp(a->prefix, b->prefix);
}

// xmlC14NAttrsCompare
int attr_compare(const xmlAttr* a, const xmlAttr* b) {
  if (a == b) return 0;
  if (a->ns == b->ns) return xmlStrcmp(a->name, b->name);
  if (!a->ns) return -1;
  if (!b->ns) return 1;
  if (!a->ns->prefix) return -1;
  if (!b->ns->prefix) return 1;
  int r = xmlStrcmp(a->ns->href, b->ns->href);
  return r != 0 ? r : xmlStrcmp(a->name, b->name);
}

// xmlListInsert on a sorted list: before the first element not less.
template <class T, class Cmp>
void sorted_insert(std::vector<T>& list, T item, Cmp cmp) {
  auto at = std::find_if(list.begin(), list.end(), [&](const T& x) { return cmp(x, item) >= 0; });
  list.insert(at, item);
}

// xmlC14NCheckForRelativeNamespaces
Status check_absolute_namespaces(const xmlNode* e) {
  for (const xmlNs* ns = e->nsDef; ns; ns = ns->next) {
    if (xmlStrlen(ns->href) == 0) continue;
    edxml::XmlUriPtr uri(xmlParseURI(reinterpret_cast<const char*>(ns->href)));
    if (!uri || !uri->scheme || !*uri->scheme) {
      return make_error(
          ErrorKind::invalid, "c14n.failed",
          "the namespace URI '" + std::string(sv(ns->href)) + "' is relative or invalid; it cannot be canonicalized");
    }
  }
  return {};
}

const xmlNs kDefaultNs{};  // prefix and href null: "no default namespace"

// Where the first byte text escapes (& < > CR) is, from `from`; s.size() if
// none. Attachment text (base64) has none: it is scanned 16 bytes at a time.
size_t next_text_special(std::string_view s, size_t from) {
  size_t i = from;
#if defined(__SSE2__)
  const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'), cr = _mm_set1_epi8('\r');
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt)),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, cr)));
    if (const int mask = _mm_movemask_epi8(hit)) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  for (; i < s.size(); ++i) {
    if (kEscape.text[static_cast<unsigned char>(s[i])]) return i;
  }
  return s.size();
}

}  // namespace

StreamCanonicalizer::StreamCanonicalizer(const dsig::C14nMethod& method, std::vector<std::string> inclusive_prefixes,
                                         Output& out)
    : method_(method), prefixes_(std::move(inclusive_prefixes)), out_(out) {}

void StreamCanonicalizer::add_rendered(const xmlNs* ns) {
  if (stack_.cur_end == rendered_.size()) {
    rendered_.push_back({ns});
  } else {
    rendered_[stack_.cur_end] = {ns};
  }
  ++stack_.cur_end;
}

// xmlC14NVisibleNsStackFind: in the parent output element's entries (all of
// the stack for the empty default namespace).
bool StreamCanonicalizer::rendered(const xmlNs* ns) const {
  const xmlChar* prefix = ns ? ns->prefix : nullptr;
  const xmlChar* href = ns ? ns->href : nullptr;
  const bool empty_default = sv(prefix).empty() && sv(href).empty();
  const size_t start = empty_default ? 0 : stack_.prev_start;
  for (size_t i = stack_.cur_end; i-- > start;) {
    const xmlNs* seen = rendered_[i].ns;
    if (str_equal(prefix, seen ? seen->prefix : nullptr)) return str_equal(href, seen ? seen->href : nullptr);
  }
  return empty_default;
}

// xmlExcC14NVisibleNsStackFind: anywhere in the stack (every entry belongs to
// an output element here).
bool StreamCanonicalizer::rendered_exclusive(const xmlNs* ns) const {
  const xmlChar* prefix = ns ? ns->prefix : nullptr;
  const xmlChar* href = ns ? ns->href : nullptr;
  for (size_t i = stack_.cur_end; i-- > 0;) {
    const xmlNs* seen = rendered_[i].ns;
    if (str_equal(prefix, seen ? seen->prefix : nullptr)) return str_equal(href, seen ? seen->href : nullptr);
  }
  return sv(prefix).empty() && sv(href).empty();
}

// xmlC14NPrintNamespaces (the value is quoted by xmlBufWriteQuotedString,
// never escaped).
void StreamCanonicalizer::write_namespaces(std::vector<const xmlNs*>& list) {
  for (const xmlNs* ns : list) {
    if (ns->prefix) {
      out_.write(" xmlns:");
      out_.write(sv(ns->prefix));
      out_.write("=");
    } else {
      out_.write(" xmlns=");
    }
    std::string_view href = sv(ns->href);
    if (href.find('"') == std::string_view::npos) {
      out_.write("\"");
      out_.write(href);
      out_.write("\"");
    } else if (href.find('\'') == std::string_view::npos) {
      out_.write("'");
      out_.write(href);
      out_.write("'");
    } else {
      out_.write("\"");
      size_t from = 0;
      for (size_t at; (at = href.find('"', from)) != std::string_view::npos; from = at + 1) {
        out_.write(href.substr(from, at - from));
        out_.write("&quot;");
      }
      out_.write(href.substr(from));
      out_.write("\"");
    }
  }
}

// xmlC14NProcessNamespacesAxis (the element is visible): every namespace in
// scope; rendered unless the parent output element has the same binding.
void StreamCanonicalizer::namespace_axis(const xmlNode* e) {
  std::vector<const xmlNs*> list;
  bool has_empty_ns = false;
  for (const xmlNode* n = e; n; n = n->parent) {
    if (n->type != XML_ELEMENT_NODE) break;  // the document holds no declarations
    for (const xmlNs* ns = n->nsDef; ns; ns = ns->next) {
      const xmlNs* in_scope = xmlSearchNs(e->doc, const_cast<xmlNode*>(e), ns->prefix);
      if (in_scope != ns || is_xml_ns(ns)) continue;
      const bool already = rendered(ns);
      add_rendered(ns);
      if (!already) sorted_insert(list, ns, ns_compare);
      if (sv(ns->prefix).empty()) has_empty_ns = true;
    }
  }
  if (!has_empty_ns && !rendered(&kDefaultNs)) out_.write(" xmlns=\"\"");
  write_namespaces(list);
}

// xmlExcC14NProcessNamespacesAxis (the element is visible).
void StreamCanonicalizer::exclusive_namespace_axis(const xmlNode* e) {
  std::vector<const xmlNs*> list;
  bool has_empty_ns = false, utilizes_empty_ns = false, empty_ns_in_list = false;
  xmlNode* node = const_cast<xmlNode*>(e);
  for (const std::string& p : prefixes_) {
    const bool is_default = p == "#default" || p.empty();
    if (is_default) empty_ns_in_list = true;
    const xmlNs* ns = xmlSearchNs(e->doc, node, is_default ? nullptr : reinterpret_cast<const xmlChar*>(p.c_str()));
    if (!ns || is_xml_ns(ns)) continue;
    const bool already = rendered(ns);
    add_rendered(ns);
    if (!already) sorted_insert(list, ns, ns_compare);
    if (sv(ns->prefix).empty()) has_empty_ns = true;
  }
  const xmlNs* own = e->ns;
  if (!own) {
    own = xmlSearchNs(e->doc, node, nullptr);
    utilizes_empty_ns = true;
  }
  if (own && !is_xml_ns(own)) {
    if (!rendered_exclusive(own)) sorted_insert(list, own, ns_compare);
    add_rendered(own);
    if (sv(own->prefix).empty()) has_empty_ns = true;
  }
  for (const xmlAttr* a = e->properties; a; a = a->next) {
    if (a->ns && !is_xml_ns(a->ns)) {
      const bool already = rendered_exclusive(a->ns);
      add_rendered(a->ns);
      if (!already) sorted_insert(list, static_cast<const xmlNs*>(a->ns), ns_compare);
      if (sv(a->ns->prefix).empty()) has_empty_ns = true;
    } else if (a->ns && sv(a->ns->prefix).empty() && sv(a->ns->href).empty()) {
      utilizes_empty_ns = true;
    }
  }
  if (utilizes_empty_ns && !has_empty_ns && !empty_ns_in_list) {
    if (!rendered_exclusive(&kDefaultNs)) out_.write(" xmlns=\"\"");
  } else if (!has_empty_ns && empty_ns_in_list) {
    if (!rendered(&kDefaultNs)) out_.write(" xmlns=\"\"");
  }
  write_namespaces(list);
}

// xmlC14NProcessAttrsAxis and xmlC14NPrintAttrs (the element and its parent
// are visible, so no xml:* attribute is inherited).
void StreamCanonicalizer::attribute_axis(const xmlNode* e) {
  std::vector<const xmlAttr*> list;
  for (const xmlAttr* a = e->properties; a; a = a->next) sorted_insert(list, a, attr_compare);
  for (const xmlAttr* a : list) {
    edxml::XmlCharPtr value(xmlNodeListGetString(e->doc, a->children, 1));
    // C14N 1.1 "fixes up" xml:base; with nothing omitted above, that only
    // drops an empty one (xmlC14NFixupBaseAttr).
    if (method_.mode == XML_C14N_1_1 && is_xml_ns(a->ns) && sv(a->name) == "base" && sv(value.get()).empty()) {
      continue;
    }
    out_.write(" ");
    if (a->ns && !sv(a->ns->prefix).empty()) {
      out_.write(sv(a->ns->prefix));
      out_.write(":");
    }
    out_.write(sv(a->name));
    out_.write("=\"");
    write_escaped(sv(value.get()), kEscape.attribute.data());
    out_.write("\"");
  }
}

void StreamCanonicalizer::write_qname(const xmlNode* e) {
  if (e->ns && !sv(e->ns->prefix).empty()) {
    out_.write(sv(e->ns->prefix));
    out_.write(":");
  }
  out_.write(sv(e->name));
}

void StreamCanonicalizer::write_escaped(std::string_view s, const bool* table) {
  const bool text = table == kEscape.text.data();
  size_t from = 0;
  for (size_t i = text ? next_text_special(s, 0) : 0; i < s.size(); i = text ? next_text_special(s, i + 1) : i + 1) {
    if (!table[static_cast<unsigned char>(s[i])]) continue;
    if (i > from) out_.write(s.substr(from, i - from));
    out_.write(replacement(s[i]));
    from = i + 1;
  }
  if (from < s.size()) out_.write(s.substr(from));
}

// xmlC14NProcessElementNode, its first half.
Status StreamCanonicalizer::start_element(const xmlNode* e) {
  EDX_TRY(check_absolute_namespaces(e));
  if (e == excluded_ || hidden_depth_ > 0) {
    ++hidden_depth_;
    frames_.push_back({e, false, false, stack_});
    return {};
  }
  Frame f{e, true, false, stack_};
  if (parent_is_doc_) {
    f.parent_was_doc = true;
    parent_is_doc_ = false;
    pos_ = Position::in_root;
  }
  out_.write("<");
  write_qname(e);
  if (exclusive()) {
    exclusive_namespace_axis(e);
  } else {
    namespace_axis(e);
  }
  stack_.prev_start = stack_.prev_end;  // xmlC14NVisibleNsStackShift
  stack_.prev_end = stack_.cur_end;
  attribute_axis(e);
  out_.write(">");
  frames_.push_back(f);
  return {};
}

// xmlC14NProcessElementNode, its second half.
void StreamCanonicalizer::end_element() {
  if (frames_.empty()) return;
  Frame f = frames_.back();
  frames_.pop_back();
  if (f.visible) {
    out_.write("</");
    write_qname(f.element);
    out_.write(">");
    if (f.parent_was_doc) {
      parent_is_doc_ = true;
      pos_ = Position::after_root;
    }
  } else {
    --hidden_depth_;
  }
  stack_ = f.saved;
}

void StreamCanonicalizer::text(std::string_view chunk) {
  if (visible()) write_escaped(chunk, kEscape.text.data());
}

void StreamCanonicalizer::comment(std::string_view value) {
  if (!visible() || !method_.with_comments) return;
  out_.write(pos_ == Position::after_root ? "\n<!--" : "<!--");
  write_escaped(value, kEscape.comment.data());
  out_.write(pos_ == Position::before_root ? "-->\n" : "-->");
}

void StreamCanonicalizer::processing_instruction(std::string_view target, std::string_view data) {
  if (!visible()) return;
  out_.write(pos_ == Position::after_root ? "\n<?" : "<?");
  out_.write(target);
  if (!data.empty()) {
    out_.write(" ");
    write_escaped(data, kEscape.comment.data());
  }
  out_.write(pos_ == Position::before_root ? "?>\n" : "?>");
}

namespace {

void replay_leaf(const xmlNode* n, StreamCanonicalizer& c14n) {
  switch (n->type) {
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
      c14n.text(sv(n->content));
      break;
    case XML_COMMENT_NODE:
      c14n.comment(sv(n->content));
      break;
    case XML_PI_NODE:
      c14n.processing_instruction(sv(n->name), sv(n->content));
      break;
    default:
      break;
  }
}

}  // namespace

// Iterative (the skeleton may be as deep as Limits::max_depth allows).
Status replay_until(const xmlDoc* doc, const xmlNode* last, StreamCanonicalizer& c14n) {
  const Error missing =
      make_error(ErrorKind::invalid, "c14n.failed", "the signature is not part of the document being read");
  for (const xmlNode* n = doc->children; n;) {
    if (n->type == XML_ELEMENT_NODE) {
      EDX_TRY(c14n.start_element(n));
      if (n->children) {
        n = n->children;
        continue;
      }
      c14n.end_element();
      if (n == last) return {};
    } else {
      replay_leaf(n, c14n);
    }
    while (!n->next) {  // close the elements this node ends
      n = n->parent;
      if (!n || n->type != XML_ELEMENT_NODE) return missing;
      c14n.end_element();
      if (n == last) return {};  // its ancestors stay open
    }
    n = n->next;
  }
  return missing;
}

}  // namespace edxgate::crypto::c14n
