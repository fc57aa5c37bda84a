// StreamCanonicalizer: the canonical form (C14N 1.0, C14N 1.1, exclusive
// C14N 1.0; with or without comments; an InclusiveNamespaces PrefixList for
// the exclusive one) of a document that streams past as parser events, with
// one subtree left out (the enveloped signature).
//
// The output is byte for byte what libxml2's xmlC14NExecute writes for the
// same document and the node set xmlsec1 builds for an enveloped reference
// (every node but those of the left-out subtree; the document node itself
// not in the set). xmlsec1 is the DOM verifier we cross-check against, so
// libxml2's behaviour is the reference, including where it differs from the
// W3C text:
//  - namespace values are written unescaped, attribute values escaped
//    (& < " TAB LF CR), text escaped (& < > CR), CR in comments and PIs too;
//  - inclusive: a namespace is rendered where its binding differs from the
//    parent's in the output, xmlns="" where a default namespace is undone;
//  - exclusive: visibly utilized namespaces (the element's, its prefixed
//    attributes') not already rendered by an output ancestor, and the
//    PrefixList ones handled inclusively ("#default" or an empty token: the
//    default namespace);
//  - C14N 1.1 leaves out an xml:base attribute whose value is empty;
//  - every element, left-out ones included, must declare only absolute
//    namespace URIs (else the canonicalization fails, "c14n.failed").
// No element of this node set has an omitted parent, so the xml:* attribute
// inheritance of C14N 1.0/1.1 never applies here (it does for SignedInfo,
// which is canonicalized from the DOM by libxml2 itself).
//
// The canonicalizer reads names, namespaces and attributes from the DOM
// skeleton node each start event carries (edxml/xml_observer.h): the
// skeleton's ancestors stay in memory while the document streams, text does
// not need to.
#pragma once

#include <libxml/tree.h>

#include <string>
#include <string_view>
#include <vector>

#include "dsig.h"
#include "edxgate/base/result.h"

namespace edxgate::crypto::c14n {

// Where canonical bytes go.
class Output {
 public:
  virtual ~Output() = default;
  virtual void write(std::string_view bytes) = 0;
};

class StreamCanonicalizer {
 public:
  // `out` must outlive the canonicalizer. Prefixes are those of an
  // InclusiveNamespaces PrefixList (used by the exclusive method only).
  StreamCanonicalizer(const dsig::C14nMethod& method, std::vector<std::string> inclusive_prefixes, Output& out);

  // Leaves `element` and its subtree out; to be called before its start.
  void exclude(const xmlNode* element) { excluded_ = element; }

  // Errors: "c14n.failed" (a relative or unparsable namespace URI).
  Status start_element(const xmlNode* element);
  void end_element();
  void text(std::string_view chunk);
  void comment(std::string_view value);
  void processing_instruction(std::string_view target, std::string_view data);

 private:
  enum class Position { before_root, in_root, after_root };
  struct NsEntry {  // a namespace rendered (or in scope) at an output element
    const xmlNs* ns;
  };
  struct StackState {
    size_t cur_end = 0, prev_start = 0, prev_end = 0;
  };
  struct Frame {
    const xmlNode* element = nullptr;
    bool visible = false;
    bool parent_was_doc = false;
    StackState saved;
  };

  bool visible() const { return hidden_depth_ == 0; }
  bool exclusive() const { return method_.mode == XML_C14N_EXCLUSIVE_1_0; }
  void add_rendered(const xmlNs* ns);
  bool rendered(const xmlNs* ns) const;            // inclusive lookup
  bool rendered_exclusive(const xmlNs* ns) const;  // exclusive lookup
  void namespace_axis(const xmlNode* e);
  void exclusive_namespace_axis(const xmlNode* e);
  void attribute_axis(const xmlNode* e);
  void write_namespaces(std::vector<const xmlNs*>& list);
  void write_qname(const xmlNode* e);
  void write_escaped(std::string_view s, const bool* table);

  dsig::C14nMethod method_;
  std::vector<std::string> prefixes_;
  Output& out_;
  const xmlNode* excluded_ = nullptr;
  int hidden_depth_ = 0;  // > 0 inside the left-out subtree
  Position pos_ = Position::before_root;
  bool parent_is_doc_ = true;
  std::vector<NsEntry> rendered_;  // libxml2's "visible namespace stack"
  StackState stack_;
  std::vector<Frame> frames_;
};

// Replays the part of `doc` (a skeleton being built) up to and including
// the end of `last` into `c14n`, as the parser's events would have: start and
// end events of the elements closed by then, start events of `last`'s
// ancestors, text, comments and PIs. Used once the signature has been read
// and the method is known.
Status replay_until(const xmlDoc* doc, const xmlNode* last, StreamCanonicalizer& c14n);

}  // namespace edxgate::crypto::c14n
