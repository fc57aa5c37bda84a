// StreamCanonicalizer against libxml2's xmlC14NExecute on the full DOM: a
// generated corpus covering every rule (namespace axes, xmlns="", attribute
// order and escaping, text escaping, CDATA, character references, comments
// and PIs around the document element, xml:* attributes, relative namespace
// URIs, a left-out subtree), each document canonicalized with the six
// methods (and PrefixLists for the exclusive ones), streamed live from the
// hardened parser's observer and replayed from its skeleton. Every output
// must be byte-identical, or both must fail.
#include <gtest/gtest.h>
#include <libxml/c14n.h>
#include <libxml/xmlIO.h>

#include <map>
#include <optional>
#include <random>
#include <set>

#include "../support/test_pki.h"
#include "edxgate/edxml/xml_observer.h"
#include "stream_c14n.h"

namespace edxgate::crypto::test {
namespace {

const std::vector<std::string> kUris = {
    "http://www.mic.gov.vn/TBT/QCVN_102_2016",
    "http://www.w3.org/2000/09/xmldsig#",
    "http://www.w3.org/1999/xlink",
    "urn:edxgate:test:a",
    "urn:edxgate:test:b",
    "http://example.test/q?x=1&amp;y=2",
    "http://example.test/Th%E1%BB%AD",
    "urn:edxgate:test:a",  // twice: a redundant redeclaration is likely
};
const std::vector<std::string> kRareUris = {"relative/path", "rel"};  // C14N refuses both
const std::vector<std::string> kPrefixes = {"a", "b", "edXML", "ds", "xlink", "p1"};
const std::vector<std::string> kNames = {"edXML", "Header", "Signature", "a", "Z", "OrganId", "ContentId", "x-y"};
const std::vector<std::string> kAttrNames = {"id", "Algorithm", "version", "z", "a", "URI"};
const std::vector<std::string> kAttrValues = {
    "plain",    "a&amp;b",   "&lt;x&gt;",   "q&quot;q",   "it's", "tab&#9;x", "nl&#10;y", "cr&#13;z",
    "raw\ttab", "raw\nline", "raw\r\ncrlf", "Thử nghiệm", "",     "a>b",      "&#x20AC;", "&#38;&#60;"};
const std::vector<std::string> kTexts = {
    "hello",       " ",    "\n  ",          "a &amp; b", "&lt;tag&gt;",     "x > y", "&#13;",
    "&#xD;\n",     "\r\n", "Văn bản ký số", "]]&gt;",    "&#38;&#60;&#62;", "\t",    "QUFBQUFB\nQUFB",
    "&quot;&apos;"};
const std::vector<std::string> kMarkup = {"<![CDATA[ a < b & c > d ]]>",
                                          "<![CDATA[\r\nline]]>",
                                          "<![CDATA[]]]]>",
                                          "<!-- comment -->",
                                          "<!--x-y-->",
                                          "<!---->",
                                          "<?pi data?>",
                                          "<?pi?>",
                                          "<?x-y   spaced data ?>",
                                          "<?t a=\"b\" & c?>"};

// Random well-formed (mostly namespace-well-formed) documents.
class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  std::string document(int& elements) {
    elements_ = 0;
    std::string out;
    if (chance(50)) out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    misc(out);
    element(out, 0, {}, "");
    misc(out);
    if (chance(30)) out += "\n";
    elements = elements_;
    return out;
  }

 private:
  using Scope = std::map<std::string, std::string>;  // prefix -> URI ("" key: default)

  int pick(size_t n) { return std::uniform_int_distribution<int>(0, static_cast<int>(n) - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }
  template <class T>
  const T& any(const std::vector<T>& v) {
    return v[static_cast<size_t>(pick(v.size()))];
  }
  std::string uri() { return chance(3) ? any(kRareUris) : any(kUris); }

  void misc(std::string& out) {
    for (int i = pick(4); i > 0; --i) {
      int k = pick(4);
      if (k == 0) out += "<!-- misc " + std::to_string(i) + " -->";
      if (k == 1) out += "<?misc " + std::string(chance(50) ? "data" : "") + "?>";
      if (k == 2) out += "\n  ";
      if (k == 3) out += "<!--\r\n-->";
    }
  }

  std::string attr_value() {
    std::string v;
    for (int i = pick(3); i >= 0; --i) v += any(kAttrValues);
    return v;
  }

  void element(std::string& out, int depth, Scope scope, const std::string& indent) {
    ++elements_;
    std::string decls;
    for (int i = chance(40) ? pick(3) + 1 : 0; i > 0; --i) {
      std::string p = any(kPrefixes), u = uri();
      if (decls.find(" xmlns:" + p + "=") != std::string::npos) continue;
      decls += " xmlns:" + p + "=\"" + u + "\"";
      scope[p] = u;
    }
    if (chance(25)) {
      std::string u = chance(35) ? "" : uri();  // "" undeclares the default namespace
      decls += " xmlns=\"" + u + "\"";
      scope[""] = u;
    }
    std::vector<std::string> prefixes;
    for (const auto& [p, u] : scope) {
      if (!p.empty()) prefixes.push_back(p);
    }
    std::string name = any(kNames);
    if (!prefixes.empty() && chance(60)) name = any(prefixes) + ":" + name;
    out += "<" + name + decls;
    std::set<std::string> seen;  // expanded attribute names
    for (int i = pick(4); i > 0; --i) {
      int kind = pick(6);
      std::string an, key;
      if (kind <= 1 || prefixes.empty()) {
        an = any(kAttrNames);
        key = "|" + an;
      } else if (kind <= 3) {
        std::string p = any(prefixes);
        an = p + ":" + any(kAttrNames);
        key = scope[p] + "|" + an.substr(p.size() + 1);
      } else {
        static const std::vector<std::string> xml = {"xml:lang", "xml:space", "xml:base", "xml:id", "xml:base"};
        an = any(xml);
        key = "xml|" + an;
      }
      if (!seen.insert(key).second) continue;
      std::string v = an == "xml:id"                   ? "id" + std::to_string(pick(1000))  // must be an NCName
                      : an == "xml:base" && chance(50) ? ""
                                                       : attr_value();
      if (chance(20) && v.find('\'') == std::string::npos) {
        out += " " + an + "='" + v + "'";
      } else {
        std::string dq;
        for (char c : v) dq += c == '"' ? std::string("&quot;") : std::string(1, c);
        out += " " + an + "=\"" + dq + "\"";
      }
    }
    int items = depth < 5 ? pick(5) : pick(2);
    if (items == 0 && chance(60)) {
      out += "/>";
      return;
    }
    out += ">";
    for (int i = 0; i < items; ++i) {
      int k = pick(10);
      if (k <= 3 && depth < 5) {
        if (chance(50)) out += "\n" + indent + "  ";
        element(out, depth + 1, scope, indent + "  ");
      } else if (k <= 6) {
        out += any(kTexts);
      } else {
        out += any(kMarkup);
      }
    }
    if (chance(40)) out += "\n" + indent;
    out += "</" + name + ">";
  }

  std::mt19937 rng_;
  int elements_ = 0;
};

// The k-th element in document order (0-based), or null.
xmlNode* nth_element(xmlNode* n, int& k) {
  for (; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (k-- == 0) return n;
    if (xmlNode* found = nth_element(n->children, k)) return found;
  }
  return nullptr;
}

int count_elements(const xmlNode* n) {
  int count = 0;
  for (; n; n = n->next) {
    if (n->type == XML_ELEMENT_NODE) count += 1 + count_elements(n->children);
  }
  return count;
}

// xmlsec1's node set for an enveloped reference: every node but the document
// node and those of the left-out subtree.
int visible_but_subtree(void* excluded, xmlNodePtr node, xmlNodePtr parent) {
  if (node->type == XML_DOCUMENT_NODE) return 0;
  const xmlNode* n = node->type == XML_NAMESPACE_DECL ? parent : node;
  for (; n; n = n->parent) {
    if (n == excluded) return 0;
  }
  return 1;
}

int append(void* out, const char* buf, int len) {
  static_cast<std::string*>(out)->append(buf, static_cast<size_t>(len));
  return len;
}

std::optional<std::string> libxml2_c14n(const std::string& xml, int excluded_index, const dsig::C14nMethod& m,
                                        const std::vector<std::string>& prefixes) {
  auto doc = edxml::parse_xml(xml, edxml::Limits{});
  if (!doc.ok()) throw std::runtime_error("corpus document does not parse: " + doc.error().message);
  int k = excluded_index;
  xmlNode* excluded = excluded_index < 0 ? nullptr : nth_element(doc->get()->children, k);
  std::string out;
  xmlOutputBufferPtr buf = xmlOutputBufferCreateIO(append, nullptr, &out, nullptr);
  std::vector<xmlChar*> list;
  for (const auto& p : prefixes) list.push_back(const_cast<xmlChar*>(reinterpret_cast<const xmlChar*>(p.c_str())));
  list.push_back(nullptr);
  int rc = xmlC14NExecute(doc->get(), visible_but_subtree, excluded, m.mode, prefixes.empty() ? nullptr : list.data(),
                          m.with_comments ? 1 : 0, buf);
  xmlOutputBufferClose(buf);
  if (rc < 0) return std::nullopt;
  return out;
}

struct StringOutput : c14n::Output {
  std::string bytes;
  void write(std::string_view b) override { bytes.append(b); }
};

// Feeds the parser's events to the canonicalizer, leaving out the k-th
// element; with `replay`, nothing until that element has ended, then the
// skeleton so far (as the streaming verifier does once it has read the
// signature).
class C14nObserver : public edxml::XmlObserver {
 public:
  C14nObserver(const dsig::C14nMethod& m, std::vector<std::string> prefixes, int excluded, bool replay)
      : c14n_(m, std::move(prefixes), out_), excluded_(excluded), live_(!replay) {}

  Status start_element(const xmlNode* e, bool) override {
    if (count_++ == excluded_) {
      target_ = e;
      c14n_.exclude(e);
    }
    if (live_ && !failed_) note(c14n_.start_element(e));
    return {};
  }
  Status end_element(const xmlNode* e) override {
    if (live_) {
      c14n_.end_element();
    } else if (e == target_) {
      live_ = true;
      note(c14n::replay_until(e->doc, e, c14n_));
    }
    return {};
  }
  Status text(std::string_view t) override {
    if (live_) c14n_.text(t);
    return {};
  }
  Status comment(std::string_view v) override {
    if (live_) c14n_.comment(v);
    return {};
  }
  Status processing_instruction(std::string_view t, std::string_view d) override {
    if (live_) c14n_.processing_instruction(t, d);
    return {};
  }
  Status end_document(xmlDoc*) override { return {}; }

  std::optional<std::string> result() const {
    if (failed_) return std::nullopt;
    return out_.bytes;
  }

 private:
  void note(const Status& st) {
    if (!st.ok()) failed_ = true;
  }
  StringOutput out_;
  c14n::StreamCanonicalizer c14n_;
  int excluded_;
  bool live_;
  int count_ = 0;
  const xmlNode* target_ = nullptr;
  bool failed_ = false;
};

std::optional<std::string> streamed_c14n(const std::string& file, int excluded_index, const dsig::C14nMethod& m,
                                         const std::vector<std::string>& prefixes, bool replay) {
  C14nObserver observer(m, prefixes, excluded_index, replay);
  auto doc = edxml::parse_xml_file_observed(file, edxml::Limits{}, observer);
  if (!doc.ok()) throw std::runtime_error("corpus document does not stream: " + doc.error().message);
  return observer.result();
}

const std::vector<std::string_view> kMethods = {
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
};

// What the corpus must have exercised, by a mark in libxml2's output.
const std::vector<std::pair<std::string, std::string>> kFeatures = {
    {"xmlns=\"\" undeclaration", " xmlns=\"\""},
    // libxml2's parser (entities not substituted) keeps an & of a namespace
    // value as "&#38;"; C14N writes namespace values as they are.
    {"namespace value written unescaped", "x=1&#38;y=2\""},
    {"escaped CR in text", "&#xD;"},
    {"escaped quote in an attribute", "&quot;"},
    {"escaped TAB in an attribute", "&#x9;"},
    {"escaped LF in an attribute", "&#xA;"},
    {"escaped > in text", "&gt;"},
    {"xml:lang", " xml:lang="},
    {"xml:base", " xml:base="},
    {"PI before the document element", "?>\n<"},
    {"PI after the document element", ">\n<?"},
    {"comment before the document element", "-->\n<"},
    {"comment after the document element", ">\n<!--"},
    {"empty element as a start/end pair", "></Z>"},
};

void silent(void*, const char*, ...) {}  // libxml2 prints C14N failures otherwise

TEST(StreamC14n, MatchesLibxml2OnAGeneratedCorpus) {
  xmlSetGenericErrorFunc(nullptr, silent);
  const Pki& pki = Pki::get();
  const std::string file = pki.path("c14n-corpus.xml");
  std::map<std::string, int> seen;
  int compared = 0, both_failed = 0, mismatches = 0, unparsed = 0;
  for (unsigned seed = 1; seed <= 600; ++seed) {
    Generator gen(seed);
    int elements = 0;
    const std::string xml = gen.document(elements);
    if (auto parsed = edxml::parse_xml(xml, edxml::Limits{}); !parsed.ok()) {
      ++unparsed;
      continue;
    }
    write_text(file, xml);
    std::mt19937 rng(seed);
    const int excluded = elements > 1 && rng() % 4 != 0 ? 1 + static_cast<int>(rng() % (elements - 1)) : -1;
    for (std::string_view uri : kMethods) {
      const dsig::C14nMethod& m = *dsig::find_c14n(uri);
      std::vector<std::vector<std::string>> lists = {{}};
      if (m.exclusive()) {
        lists.push_back({"a", "#default", "xlink"});
        lists.push_back({"edXML", "", "b", "b", "nope", "xml"});
      }
      for (const auto& prefixes : lists) {
        auto want = libxml2_c14n(xml, excluded, m, prefixes);
        for (bool replay : {false, true}) {
          if (replay && excluded < 0) continue;
          auto got = streamed_c14n(file, excluded, m, prefixes, replay);
          ++compared;
          if (!want) ++both_failed;
          if (want != got) {
            if (++mismatches <= 5) {
              ADD_FAILURE() << "seed " << seed << " method " << uri << " replay " << replay << " excluded " << excluded
                            << "\n--- document:\n"
                            << xml << "\n--- libxml2:\n"
                            << want.value_or("(failed)") << "\n--- streamed:\n"
                            << got.value_or("(failed)");
            }
          }
        }
        if (want) {
          for (const auto& [feature, mark] : kFeatures) {
            if (want->find(mark) != std::string::npos) ++seen[feature];
          }
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_LT(unparsed, 30);
  EXPECT_GT(compared, 8000);
  EXPECT_GT(both_failed, 0) << "no relative namespace URI was generated";
  EXPECT_LT(both_failed, compared / 4);
  for (const auto& [feature, mark] : kFeatures)
    EXPECT_GT(seen[feature], 0) << "the corpus never exercised: " << feature;
}

// Envelopes shaped as real peers write them (EDXML.md): a default-namespace
// root with the edXML prefix declared lower down, unprefixed attachment
// elements, a content element redeclaring its prefix, CRLF line ends,
// xlink attributes, an SDK look-alike Signature, a DSig signature with a
// default namespace.
const std::vector<std::string> kPeerShapes = {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">\r\n"
    "  <edXML:edXMLEnvelope xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">\r\n"
    "    <edXML:edXMLHeader>\r\n"
    "      <edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.A80</edXML:OrganId></edXML:From>\r\n"
    "      <edXML:Subject>V/v thử nghiệm &amp; kiểm tra</edXML:Subject></edXML:MessageHeader>\r\n"
    "      <Signature><DigestMethod>SHA-1</DigestMethod></Signature>\r\n"
    "      <Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo><Reference URI=\"\"/></SignedInfo>"
    "</Signature>\r\n"
    "    </edXML:edXMLHeader>\r\n"
    "    <edXML:edXMLBody><edXML:edXMLManifest version=\"1.0\">"
    "<edXML:Reference xmlns:xlink=\"http://www.w3.org/1999/xlink\" xlink:type=\"simple\" xlink:href=\"cid:1\" "
    "xlink:role=\"Document\"><edXML:ContentId>cid:1</edXML:ContentId></edXML:Reference>"
    "</edXML:edXMLManifest></edXML:edXMLBody>\r\n"
    "  </edXML:edXMLEnvelope>\r\n"
    "  <AttachmentEncoded>\r\n"
    "    <Attachment>\r\n"
    "      <ContentType>application/zip</ContentType>\r\n"
    "      <edXML:ContentTransferEncoded xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">UEsDBBQACAgI"
    "</edXML:ContentTransferEncoded>\r\n"
    "    </Attachment>\r\n"
    "  </AttachmentEncoded>\r\n"
    "</edXML>",
    "<edXML:edXML xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXML:edXMLEnvelope><edXML:edXMLHeader>"
    "<edXML:MessageHeader/><edXML:TraceHeaderList id=\"a1\" version=\"1.0\" mustUnderstand=\"1\" "
    "actor=\"http://schemas.xmlsoap.org/soap/actor/next\"><edXML:Bussiness><edXML:BussinessDocType>0"
    "</edXML:BussinessDocType></edXML:Bussiness><edXML:TraceHeader><edXML:Timestamp>2025/01/02 03:04:05"
    "</edXML:Timestamp></edXML:TraceHeader></edXML:TraceHeaderList><edXML:DigitalSignature/>"
    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/></edXML:edXMLHeader></edXML:edXMLEnvelope>"
    "<AttachmentEncoded xmlns=\"\"><Attachment><ContentTransferEncoded>QUFB\nQUFB\n</ContentTransferEncoded>"
    "</Attachment></AttachmentEncoded></edXML:edXML>\n",
};

TEST(StreamC14n, MatchesLibxml2OnEnvelopesShapedAsRealPeersWriteThem) {
  const std::string file = Pki::get().path("c14n-peer.xml");
  for (const std::string& xml : kPeerShapes) {
    write_text(file, xml);
    auto doc = edxml::parse_xml(xml, edxml::Limits{});
    ASSERT_TRUE(doc.ok()) << doc.error().message;
    const int elements = count_elements(doc->get()->children);
    for (int excluded = -1; excluded < elements; ++excluded) {
      for (std::string_view uri : kMethods) {
        const dsig::C14nMethod& m = *dsig::find_c14n(uri);
        auto want = libxml2_c14n(xml, excluded, m, {});
        ASSERT_TRUE(want.has_value());
        // The attachment content streams past the DOM: only the live mode
        // sees it.
        EXPECT_EQ(streamed_c14n(file, excluded, m, {}, false), want) << uri << " excluded " << excluded;
      }
    }
  }
}

}  // namespace
}  // namespace edxgate::crypto::test
