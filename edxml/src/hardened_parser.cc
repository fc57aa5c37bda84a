#include "hardened_parser.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "edxgate/base/fs.h"
#include "prescan.h"

namespace edxgate::edxml {

void XmlDocDeleter::operator()(xmlDoc* d) const noexcept { xmlFreeDoc(d); }
void XmlFreeDeleter::operator()(void* p) const noexcept { xmlFree(p); }

namespace detail {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kFeedPiece = 64 * 1024;
// The most attachment text passed to the sink in one go (limits and the
// clock are checked between pieces).
constexpr size_t kPlainPiece = 1024 * 1024;

struct CtxtDeleter {
  void operator()(xmlParserCtxt* c) const noexcept {
    if (c->myDoc) xmlFreeDoc(c->myDoc);
    c->myDoc = nullptr;
    xmlFreeParserCtxt(c);
  }
};
using CtxtPtr = std::unique_ptr<xmlParserCtxt, CtxtDeleter>;

bool name_is(const xmlChar* a, std::string_view b) {
  return a && std::string_view(reinterpret_cast<const char*>(a)) == b;
}

bool is_content_element(const xmlChar* local, const xmlChar* uri) {
  return name_is(local, "ContentTransferEncoded") && (!uri || name_is(uri, kEdxmlNs));
}

// The largest text an attachment content element may hold: base64 of
// max_attachment_bytes, with room for line breaks at any width.
uint64_t content_text_limit(const Limits& l) {
  uint64_t b64 = (l.max_attachment_bytes + 2) / 3 * 4;
  return b64 * 2 + 4096;
}

void init_libxml_once() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

// Bytes libxml2 hands to the characters callback exactly as they are: TAB,
// LF and printable ASCII but for & < ] (an entity or character reference, a
// tag, a possible "]]>"). Base64 is made of them.
bool plain_byte(unsigned char c) {
  return (c >= 0x20 && c <= 0x7E && c != '&' && c != '<' && c != ']') || c == '\t' || c == '\n';
}

// The longest prefix of `s` made of plain bytes and CR LF pairs (whose CR
// libxml2 drops): a CR at the very end, a lone CR or any other byte ends it.
// Its LFs are counted and its CRs noted on the way. This runs over every byte
// of attachment text: 16 bytes at a time where SSE2 is there.
struct PlainText {
  size_t length = 0;
  int newlines = 0;
  bool has_cr = false;
};

PlainText plain_text_prefix(std::string_view s) {
  const size_t n = s.size();
  PlainText out;
  size_t i = 0;
  for (;;) {
#if defined(__SSE2__)
    // Signed compares: bytes >= 0x80 are negative, so not above 0x1F.
    const __m128i above = _mm_set1_epi8(0x1F), below = _mm_set1_epi8(0x7F);
    const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), bracket = _mm_set1_epi8(']');
    const __m128i lf = _mm_set1_epi8('\n'), tab = _mm_set1_epi8('\t');
    // LFs counted per byte lane (a match is -1: subtracting it adds 1),
    // summed every 255 blocks before a lane can wrap.
    __m128i lanes = _mm_setzero_si128();
    int blocks = 0;
    auto sum_lanes = [&] {
      const __m128i sums = _mm_sad_epu8(lanes, _mm_setzero_si128());
      out.newlines += _mm_cvtsi128_si32(sums) + _mm_extract_epi16(sums, 4);
      lanes = _mm_setzero_si128();
      blocks = 0;
    };
    for (; i + 16 <= n; i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
      const __m128i printable = _mm_and_si128(_mm_cmpgt_epi8(v, above), _mm_cmplt_epi8(v, below));
      const __m128i markup =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt)), _mm_cmpeq_epi8(v, bracket));
      const __m128i is_lf = _mm_cmpeq_epi8(v, lf);
      const __m128i plain =
          _mm_or_si128(_mm_andnot_si128(markup, printable), _mm_or_si128(is_lf, _mm_cmpeq_epi8(v, tab)));
      if (_mm_movemask_epi8(plain) != 0xFFFF) break;  // the scalar loop below finds where
      lanes = _mm_sub_epi8(lanes, is_lf);
      if (++blocks == 255) sum_lanes();
    }
    sum_lanes();
#endif
    for (; i < n && plain_byte(static_cast<unsigned char>(s[i])); ++i) {
      if (s[i] == '\n') ++out.newlines;
    }
    if (i + 1 < n && s[i] == '\r' && s[i + 1] == '\n') {
      out.has_cr = true;
      ++out.newlines;
      i += 2;
      continue;
    }
    out.length = i;
    return out;
  }
}

}  // namespace

bool is_edxml_element(const xmlNode* n, std::string_view local) {
  if (!n || n->type != XML_ELEMENT_NODE || !name_is(n->name, local)) return false;
  return !n->ns || name_is(n->ns->href, kEdxmlNs);
}

struct HardenedParser::State {
  State(const Limits& l, ContentSink* s, XmlObserver* o) : limits(l), sink(s), observer(o), scanner(limits) {}

  Limits limits;
  ContentSink* sink;
  XmlObserver* observer;  // may be null
  PreScanner scanner;
  CtxtPtr ctxt;
  std::optional<Error> error;      // ours: a limit, a refusal, a sink error
  std::optional<Error> xml_error;  // libxml2's first error
  uint32_t depth = 0;
  uint32_t content_depth = 0;  // depth of the content element being read, 0 if none
  uint64_t nodes = 0;
  uint64_t text_run = 0;
  bool in_text = false;
  uint64_t total = 0;
  uint64_t plain_bytes = 0;  // attachment text that bypassed libxml2
  uint64_t events = 0;
  Clock::time_point deadline;

  int line() const { return ctxt && ctxt->input ? ctxt->input->line : scanner.line(); }
  void fail(Error e) {
    if (!error) error = std::move(e);
    if (ctxt) xmlStopParser(ctxt.get());
  }
  void fail(ErrorKind kind, const char* code, std::string message) {
    fail(make_error(kind, code, std::move(message), line()));
  }

  bool tick() {
    if ((++events & 63) == 0 && Clock::now() > deadline) {
      fail(ErrorKind::invalid, "xml.timeout",
           "Parsing took longer than the limit of " + std::to_string(limits.parse_timeout_s) + " seconds.");
      return false;
    }
    return true;
  }
  bool count_node() {
    if (++nodes > limits.max_nodes) {
      fail(ErrorKind::invalid, "xml.nodes",
           "The document has more than " + std::to_string(limits.max_nodes) + " nodes.");
      return false;
    }
    return true;
  }
  bool in_content() const { return content_depth != 0 && depth == content_depth; }
  bool refuse_markup_in_content(const char* what) {
    if (content_depth == 0) return false;
    fail(ErrorKind::invalid, "edxml.base64", std::string("Attachment content contains ") + what + ".");
    return true;
  }
  void end_text() {
    in_text = false;
    text_run = 0;
  }
  // Events reach the observer only while the parse is sound.
  bool watching() const { return observer && !error && !xml_error; }
  // Records an observer's refusal; false if the parse must stop.
  bool observed(const Status& st) {
    if (st.ok()) return true;
    fail(st.error());
    return false;
  }
};

namespace {

HardenedParser::State* state_of(void* ctx) {
  return static_cast<HardenedParser::State*>(static_cast<xmlParserCtxt*>(ctx)->_private);
}

void on_start_element(void* ctx, const xmlChar* local, const xmlChar* prefix, const xmlChar* uri, int nb_ns,
                      const xmlChar** ns, int nb_attrs, int nb_defaulted, const xmlChar** attrs) {
  auto* s = state_of(ctx);
  if (s->error || !s->tick()) return;
  if (s->refuse_markup_in_content("an element")) return;
  if (++s->depth > s->limits.max_depth) {
    s->fail(ErrorKind::invalid, "xml.depth",
            "Elements are nested deeper than the limit of " + std::to_string(s->limits.max_depth) + ".");
    return;
  }
  if (static_cast<uint32_t>(nb_attrs) > s->limits.max_attributes) {
    s->fail(ErrorKind::invalid, "xml.attributes",
            "An element has more than " + std::to_string(s->limits.max_attributes) + " attributes.");
    return;
  }
  if (!s->count_node()) return;
  if (s->depth == 1) {
    const xmlChar* enc = s->ctxt->input ? s->ctxt->input->encoding : nullptr;
    if (!enc) enc = s->ctxt->encoding;
    if (enc && xmlStrcasecmp(enc, BAD_CAST "UTF-8") != 0 && xmlStrcasecmp(enc, BAD_CAST "UTF8") != 0) {
      s->fail(ErrorKind::invalid, "xml.encoding", "The document declares an encoding other than UTF-8.");
      return;
    }
  }
  s->end_text();
  xmlSAX2StartElementNs(ctx, local, prefix, uri, nb_ns, ns, nb_attrs, nb_defaulted, attrs);
  const bool content = is_content_element(local, uri);
  if (content) {
    s->content_depth = s->depth;
    if (s->sink) {
      if (auto st = s->sink->begin(s->ctxt->node); !st) s->fail(st.error());
    }
  }
  const xmlNode* built = s->ctxt->node;
  if (s->watching() && built && built->type == XML_ELEMENT_NODE && xmlStrEqual(built->name, local)) {
    s->observed(s->observer->start_element(built, content));
  }
}

void on_end_element(void* ctx, const xmlChar* local, const xmlChar* prefix, const xmlChar* uri) {
  auto* s = state_of(ctx);
  if (s->error) return;
  if (s->content_depth != 0 && s->depth == s->content_depth) {
    s->content_depth = 0;
    if (s->sink) {
      if (auto st = s->sink->end(); !st) {
        s->fail(st.error());
        return;
      }
    }
  }
  --s->depth;
  s->end_text();
  if (s->watching() && s->ctxt->node && !s->observed(s->observer->end_element(s->ctxt->node))) return;
  xmlSAX2EndElementNs(ctx, local, prefix, uri);
}

// Accounts one piece of text; false if the parse must stop.
bool account_text(HardenedParser::State* s, int len) {
  if (s->error || !s->tick()) return false;
  if (!s->in_text) {
    if (!s->count_node()) return false;
    s->in_text = true;
  }
  s->text_run += static_cast<uint64_t>(len);
  uint64_t limit = s->in_content() ? content_text_limit(s->limits) : s->limits.max_text_bytes;
  if (s->text_run > limit) {
    if (s->in_content()) {
      s->fail(
          ErrorKind::too_large, "xml.text_size",
          "An attachment is larger than the limit of " + std::to_string(s->limits.max_attachment_bytes) + " bytes.");
    } else {
      s->fail(ErrorKind::too_large, "xml.text_size",
              "A text node is longer than the limit of " + std::to_string(s->limits.max_text_bytes) + " bytes.");
    }
    return false;
  }
  return true;
}

bool divert_to_sink(HardenedParser::State* s, const xmlChar* ch, int len) {
  if (!s->sink || !s->in_content()) return false;
  if (auto st = s->sink->data({reinterpret_cast<const char*>(ch), static_cast<size_t>(len)}); !st) {
    s->fail(st.error());
  }
  return true;
}

// Hands text to the observer; false if the parse must stop.
bool observe_text(HardenedParser::State* s, const xmlChar* ch, int len) {
  if (!s->watching()) return true;
  return s->observed(s->observer->text({reinterpret_cast<const char*>(ch), static_cast<size_t>(len)}));
}

void on_characters(void* ctx, const xmlChar* ch, int len) {
  auto* s = state_of(ctx);
  if (!account_text(s, len) || !observe_text(s, ch, len)) return;
  if (divert_to_sink(s, ch, len)) return;
  xmlSAX2Characters(ctx, ch, len);
}

void on_cdata(void* ctx, const xmlChar* ch, int len) {
  auto* s = state_of(ctx);
  if (!account_text(s, len) || !observe_text(s, ch, len)) return;
  if (divert_to_sink(s, ch, len)) return;
  xmlSAX2CDataBlock(ctx, ch, len);
}

void on_comment(void* ctx, const xmlChar* value) {
  auto* s = state_of(ctx);
  if (s->error || !s->tick() || s->refuse_markup_in_content("a comment") || !s->count_node()) return;
  s->end_text();
  xmlSAX2Comment(ctx, value);
  if (s->watching()) {
    s->observed(s->observer->comment(value ? reinterpret_cast<const char*>(value) : ""));
  }
}

void on_pi(void* ctx, const xmlChar* target, const xmlChar* data) {
  auto* s = state_of(ctx);
  if (s->error || !s->tick() || s->refuse_markup_in_content("a processing instruction") || !s->count_node()) {
    return;
  }
  s->end_text();
  xmlSAX2ProcessingInstruction(ctx, target, data);
  if (s->watching()) {
    s->observed(s->observer->processing_instruction(target ? reinterpret_cast<const char*>(target) : "",
                                                    data ? reinterpret_cast<const char*>(data) : ""));
  }
}

void refuse_dtd(HardenedParser::State* s) {
  s->fail(ErrorKind::invalid, "xml.doctype",
          "The document has a DOCTYPE or markup declaration; edXML envelopes must not have one "
          "(no DTD, no entities).");
}

void on_internal_subset(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) { refuse_dtd(state_of(ctx)); }
void on_entity_decl(void* ctx, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) {
  refuse_dtd(state_of(ctx));
}
void on_notation_decl(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) { refuse_dtd(state_of(ctx)); }
void on_attribute_decl(void* ctx, const xmlChar*, const xmlChar*, int, int, const xmlChar*, xmlEnumerationPtr tree) {
  if (tree) xmlFreeEnumeration(tree);  // ownership passes to the callback
  refuse_dtd(state_of(ctx));
}
void on_element_decl(void* ctx, const xmlChar*, int, xmlElementContentPtr) { refuse_dtd(state_of(ctx)); }
void on_unparsed_entity_decl(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*, const xmlChar*) {
  refuse_dtd(state_of(ctx));
}
void on_reference(void* ctx, const xmlChar*) {
  state_of(ctx)->fail(ErrorKind::invalid, "xml.doctype",
                      "The document references an entity; only the five "
                      "predefined entities and character references are allowed.");
}
// Only the five predefined entities exist; nothing is ever looked up or loaded.
xmlEntityPtr on_get_entity(void*, const xmlChar* name) { return xmlGetPredefinedEntity(name); }
xmlEntityPtr on_get_parameter_entity(void*, const xmlChar*) { return nullptr; }
xmlParserInputPtr on_resolve_entity(void* ctx, const xmlChar*, const xmlChar*) {
  refuse_dtd(state_of(ctx));
  return nullptr;
}

void on_structured_error(void* ctx, xmlErrorPtr err) {
  if (!err || err->level == XML_ERR_WARNING || !ctx) return;
  // For parser errors libxml2 passes the parser context as ctx.
  auto* s = state_of(ctx);
  if (!s || s->xml_error) return;
  std::string msg = err->message ? err->message : "malformed XML";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  const char* code = err->domain == XML_FROM_NAMESPACE ? "xml.namespace" : "xml.malformed";
  s->xml_error = make_error(ErrorKind::invalid, code, "The XML is not well-formed: " + msg + ".", err->line);
}

void silent(void*, const char*, ...) {}

xmlSAXHandler make_sax() {
  xmlSAXHandler sax;
  std::memset(&sax, 0, sizeof sax);
  xmlSAXVersion(&sax, 2);
  sax.startElementNs = on_start_element;
  sax.endElementNs = on_end_element;
  sax.characters = on_characters;
  sax.ignorableWhitespace = on_characters;
  sax.cdataBlock = on_cdata;
  sax.comment = on_comment;
  sax.processingInstruction = on_pi;
  sax.internalSubset = on_internal_subset;
  sax.externalSubset = on_internal_subset;
  sax.entityDecl = on_entity_decl;
  sax.notationDecl = on_notation_decl;
  sax.attributeDecl = on_attribute_decl;
  sax.elementDecl = on_element_decl;
  sax.unparsedEntityDecl = on_unparsed_entity_decl;
  sax.reference = on_reference;
  sax.getEntity = on_get_entity;
  sax.getParameterEntity = on_get_parameter_entity;
  sax.resolveEntity = on_resolve_entity;
  sax.serror = on_structured_error;
  sax.error = silent;
  sax.warning = silent;
  sax.fatalError = silent;
  return sax;
}

// Never XML_PARSE_NOENT, DTDLOAD, DTDATTR or DTDVALID. HUGE lifts libxml2's
// own caps (10 MB text, depth 256): our limits above hold instead.
constexpr int kParseOptions = XML_PARSE_NONET | XML_PARSE_HUGE | XML_PARSE_BIG_LINES | XML_PARSE_NOXINCNODE;

}  // namespace

HardenedParser::HardenedParser(const Limits& limits, ContentSink* sink, XmlObserver* observer)
    : s_(std::make_unique<State>(limits, sink, observer)) {
  init_libxml_once();
  s_->deadline = Clock::now() + std::chrono::seconds(limits.parse_timeout_s);
  xmlSAXHandler sax = make_sax();
  s_->ctxt.reset(xmlCreatePushParserCtxt(&sax, nullptr, nullptr, 0, nullptr));
  if (!s_->ctxt) throw std::bad_alloc();
  xmlCtxtUseOptions(s_->ctxt.get(), kParseOptions);
  s_->ctxt->_private = s_.get();
  s_->ctxt->linenumbers = 1;
  s_->ctxt->replaceEntities = 0;
  s_->ctxt->loadsubset = 0;
  s_->ctxt->validate = 0;
}

HardenedParser::~HardenedParser() = default;

namespace {

// Whether the next input may bypass libxml2 as attachment text: the parser
// is inside an attachment content element whose text goes to the sink, and
// libxml2 has parsed all it was given (nothing pending, no conversion), so
// the next bytes are character data of that element for certain.
bool plain_text_may_pass(const HardenedParser::State& s) {
  const xmlParserCtxt* c = s.ctxt.get();
  return s.sink && s.in_content() && !s.error && !s.xml_error && c->instate == XML_PARSER_CONTENT &&
         c->disableSAX == 0 && c->inputNr == 1 && c->input && c->input->buf && !c->input->buf->encoder &&
         c->input->cur == c->input->end;
}

// Hands plain text (plain_text_prefix) to the characters callback as libxml2
// would: the same bytes, the CR of each CR LF pair dropped, and libxml2's line
// count moved on past its LFs (for the lines of later errors).
void pass_plain_text(HardenedParser::State& s, std::string_view text, const PlainText& plain) {
  auto characters = [&s](std::string_view run) {
    on_characters(s.ctxt.get(), reinterpret_cast<const xmlChar*>(run.data()), static_cast<int>(run.size()));
  };
  if (!plain.has_cr) {
    characters(text);
  } else {
    for (size_t cr = text.find('\r'); !s.error; cr = text.find('\r')) {
      if (const std::string_view run = text.substr(0, cr); !run.empty()) characters(run);
      if (cr == std::string_view::npos) break;
      text.remove_prefix(cr + 1);
    }
  }
  if (plain.newlines > 0) {
    s.ctxt->input->line += plain.newlines;
    s.ctxt->input->col = 1;
  }
}

}  // namespace

// Attachment text is most of a large envelope. Once libxml2 stands inside a
// content element with nothing pending, the plain bytes ahead (base64 and
// its line breaks) go to the callbacks directly, not through libxml2's input
// buffer, its scans and its character loop; the events are the same. Every
// other byte, and every byte elsewhere, goes through libxml2.
Status HardenedParser::feed(std::string_view chunk) {
  State& s = *s_;
  while (!chunk.empty()) {
    if (s.error) return *s.error;
    if (s.xml_error) return *s.xml_error;
    PlainText plain;
    if (plain_text_may_pass(s)) plain = plain_text_prefix(chunk.substr(0, kPlainPiece));
    const size_t n = plain.length > 0 ? plain.length : std::min(chunk.size(), kFeedPiece);
    std::string_view piece = chunk.substr(0, n);
    chunk.remove_prefix(n);
    s.total += n;
    if (s.total > s.limits.max_total_bytes) {
      s.fail(ErrorKind::too_large, "xml.size",
             "The document is larger than the limit of " + std::to_string(s.limits.max_total_bytes) + " bytes.");
      return *s.error;
    }
    if (Clock::now() > s.deadline) {
      s.fail(ErrorKind::invalid, "xml.timeout",
             "Parsing took longer than the limit of " + std::to_string(s.limits.parse_timeout_s) + " seconds.");
      return *s.error;
    }
    // Plain text has no '<': the scanner only counts its lines.
    if (plain.length == 0 || !s.scanner.skip_text(plain.newlines)) {
      if (auto st = s.scanner.scan(piece); !st) {
        s.fail(st.error());
        return *s.error;
      }
    }
    if (plain.length > 0) {
      s.plain_bytes += n;
      pass_plain_text(s, piece, plain);
    } else {
      xmlParseChunk(s.ctxt.get(), piece.data(), static_cast<int>(piece.size()), 0);
    }
  }
  if (s.error) return *s.error;
  if (s.xml_error) return *s.xml_error;
  return {};
}

uint64_t HardenedParser::plain_text_bytes() const { return s_->plain_bytes; }

Result<XmlDocPtr> HardenedParser::finish() {
  State& s = *s_;
  if (auto st = feed({}); !st) return st.error();
  xmlParseChunk(s.ctxt.get(), nullptr, 0, 1);
  if (s.error) return *s.error;
  if (s.xml_error) return *s.xml_error;
  if (!s.ctxt->wellFormed || !s.ctxt->myDoc) {
    return make_error(ErrorKind::invalid, "xml.malformed", "The XML is not well-formed.", s.line());
  }
  if (!s.ctxt->nsWellFormed) {
    return make_error(ErrorKind::invalid, "xml.namespace", "The XML uses an undeclared or invalid namespace prefix.",
                      s.line());
  }
  XmlDocPtr doc(s.ctxt->myDoc);
  s.ctxt->myDoc = nullptr;
  if (!xmlDocGetRootElement(doc.get())) {
    return make_error(ErrorKind::invalid, "xml.malformed", "The document has no root element.", s.line());
  }
  if (s.observer) EDX_TRY(s.observer->end_document(doc.get()));
  return doc;
}

namespace {

// Streaming without a reader: attachment content is left out of the DOM
// (the observer alone sees it).
class DiscardContent : public ContentSink {
 public:
  Status begin(xmlNode*) override { return {}; }
  Status data(std::string_view) override { return {}; }
  Status end() override { return {}; }
};

Result<XmlDocPtr> parse_file(const std::string& path, const Limits& limits, ContentSink* sink, XmlObserver* observer) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return make_error(ErrorKind::io, "io.read", "Cannot open " + path + ": " + std::strerror(errno) + ".");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) > limits.max_total_bytes) {
    return make_error(ErrorKind::too_large, "xml.size",
                      "The document is larger than the limit of " + std::to_string(limits.max_total_bytes) + " bytes.");
  }
  HardenedParser parser(limits, sink, observer);
  std::string buf(256 * 1024, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(ErrorKind::io, "io.read", "Cannot read " + path + ": " + std::strerror(errno) + ".");
    if (n == 0) break;
    if (auto s = parser.feed({buf.data(), static_cast<size_t>(n)}); !s) return s.error();
  }
  return parser.finish();
}

}  // namespace
}  // namespace detail

Result<XmlDocPtr> parse_xml(std::string_view bytes, const Limits& limits) {
  detail::HardenedParser parser(limits, nullptr);
  if (auto st = parser.feed(bytes); !st) return st.error();
  return parser.finish();
}

Result<XmlDocPtr> parse_xml_file(const std::string& path, const Limits& limits) {
  return detail::parse_file(path, limits, nullptr, nullptr);
}

Result<XmlDocPtr> parse_xml_file_observed(const std::string& path, const Limits& limits, XmlObserver& observer) {
  detail::DiscardContent discard;
  return detail::parse_file(path, limits, &discard, &observer);
}

}  // namespace edxgate::edxml
