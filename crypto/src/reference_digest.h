// ReferenceDigest: the digest of an envelope's enveloped-signature reference
// (URI="", enveloped-signature, optionally one C14N transform), computed while
// the hardened parser streams the envelope past it (an edxml::XmlObserver).
//
// It takes the one signature the policy can accept: the first ds:Signature
// that is a child of edXML/edXMLEnvelope/edXMLHeader; any other signature
// makes the structural checks fail anyway (sig.count, sig.placement). That
// signature is left out of the canonical form (the enveloped transform).
//
// The canonicalization and digest methods are known only once the signature
// has been read. The part of the document before it (root, MessageHeader,
// TraceHeaderList: the header so far) is still in the DOM skeleton at that
// moment, so it is replayed from there and the rest streams: one pass, and
// no copy of anything. Attachment content never enters the skeleton; if some
// comes before the signature (no real envelope is written so), this pass
// cannot replay it and ends with second_pass_needed(): a second pass that
// knows the method from the start gives the digest.
#pragma once

#include <libxml/tree.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "edxgate/base/ossl.h"
#include "edxgate/edxml/xml_observer.h"
#include "stream_c14n.h"
#include "structure.h"

namespace edxgate::crypto {

class ReferenceDigest : public edxml::XmlObserver {
 public:
  // Learns the method from the signature as it passes.
  ReferenceDigest();
  // Knows the method from the start (a second pass).
  explicit ReferenceDigest(const dsig::ReferenceMethod& method);
  ~ReferenceDigest() override;

  // Called by end_document with the complete skeleton, once the digest is
  // final (the document is freed after the parse).
  void on_document(std::function<void(xmlDoc*)> f) { on_document_ = std::move(f); }

  // After the pass: the digest, when one could be made.
  const std::optional<std::vector<uint8_t>>& digest() const { return digest_; }
  // The canonicalization failed (e.g. a relative namespace URI): the
  // signature cannot be processed. Set instead of a digest.
  const std::optional<Error>& failure() const { return failure_; }
  bool second_pass_needed() const { return state_ == State::second_pass_needed; }

  Status start_element(const xmlNode* element, bool attachment_content) override;
  Status end_element(const xmlNode* element) override;
  Status text(std::string_view chunk) override;
  Status comment(std::string_view value) override;
  Status processing_instruction(std::string_view target, std::string_view data) override;
  Status end_document(xmlDoc* doc) override;

 private:
  enum class State {
    awaiting_signature,  // canonicalizing nothing yet
    streaming,           // canonicalizing and hashing
    second_pass_needed,  // attachment content came before the signature
    stopped,             // no usable signature, or the canonicalization failed
  };
  class Hash;  // the canonical bytes into the digest

  void start(const dsig::ReferenceMethod& method);
  void fail(const Error& e);
  void signature_read(const xmlNode* signature);

  State state_ = State::awaiting_signature;
  const xmlNode* signature_ = nullptr;
  uint32_t depth_ = 0;
  uint32_t content_depth_ = 0;   // depth of the attachment content element being read
  bool content_before_ = false;  // attachment text seen before the signature was read
  std::unique_ptr<Hash> hash_;
  std::unique_ptr<c14n::StreamCanonicalizer> c14n_;
  std::optional<std::vector<uint8_t>> digest_;
  std::optional<Error> failure_;
  std::function<void(xmlDoc*)> on_document_;
};

}  // namespace edxgate::crypto
