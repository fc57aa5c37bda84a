// prepare_file / complete_file / sign_file: signing an envelope file of any
// size in memory bounded by its header (signing.h).
//
// One pass of the hardened parser gives the reference digest (the streaming
// canonicalizer, exclusive C14N without comments, nothing left out: the
// document has no signature yet) and the skeleton DOM (every node but
// attachment content). The ds:Signature is built in the skeleton's header as
// the DOM form builds it in the whole document, so SignedInfo canonicalizes
// to the same bytes. complete_file copies the unsigned file and inserts the
// serialized signature just before the edXMLHeader end tag: every other byte
// stays as it was, so the canonical form of the signed file minus the
// signature is the one that was hashed.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>
#include <string_view>

#include "edxgate/base/fs.h"
#include "edxgate/base/read_buffer.h"
#include "edxgate/edxml/xml_observer.h"
#include "reference_digest.h"
#include "signing_parts.h"

namespace edxgate::crypto {

namespace {

const xmlChar* xml_chars(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

// Finds, in the bytes of a well-formed document (the hardened parser has read
// it: no DOCTYPE, so no markup declaration), the offset of the end tag of the
// element at depth 3 whose ancestors are named edXML and edXMLEnvelope and
// which is named edXMLHeader (local names; the self-check verifies the
// namespaces). A byte lexer that knows tags, quoted attribute values,
// comments, CDATA sections and PIs, so none of them can fake a tag.
class HeaderEndFinder {
 public:
  // Feeds the bytes at [base, base + chunk.size()); returns true once the
  // end tag's '<' has been seen (at offset()).
  bool feed(std::string_view chunk, uint64_t base) {
    for (size_t i = 0; i < chunk.size() && !found_; ++i) step(chunk[i], base + i);
    return found_.has_value();
  }
  std::optional<uint64_t> offset() const { return found_; }

 private:
  enum class St { text, lt, start_name, tag, quoted, end_name, end_rest, pi, bang, comment, cdata };

  static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static std::string_view local(std::string_view qname) {
    const size_t colon = qname.find(':');
    return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
  }

  void open() {
    if (depth_ < kPath.size())
      path_ok_[depth_] = local(name_) == kPath[depth_] && (depth_ == 0 || path_ok_[depth_ - 1]);
    ++depth_;
  }
  void close() {
    if (depth_ == kPath.size() && path_ok_[depth_ - 1] && local(name_) == kPath.back()) found_ = lt_;
    if (depth_ > 0) --depth_;
  }

  void step(char c, uint64_t at) {
    switch (st_) {
      case St::text:
        if (c == '<') {
          lt_ = at;
          st_ = St::lt;
        }
        break;
      case St::lt:
        name_.clear();
        if (c == '/') {
          st_ = St::end_name;
        } else if (c == '?') {
          st_ = St::pi;
          prev_ = 0;
        } else if (c == '!') {
          st_ = St::bang;
          bang_.clear();
        } else {
          name_.push_back(c);
          st_ = St::start_name;
        }
        break;
      case St::start_name:
        if (space(c) || c == '/' || c == '>') {
          st_ = St::tag;
          slash_ = false;
          step(c, at);
        } else {
          name_.push_back(c);
        }
        break;
      case St::tag:
        if (c == '"' || c == '\'') {
          quote_ = c;
          st_ = St::quoted;
        } else if (c == '>') {
          if (!slash_) open();
          st_ = St::text;
        }
        slash_ = c == '/';
        break;
      case St::quoted:
        if (c == quote_) st_ = St::tag;
        break;
      case St::end_name:
        if (c == '>') {
          close();
          st_ = St::text;
        } else if (space(c)) {
          st_ = St::end_rest;
        } else {
          name_.push_back(c);
        }
        break;
      case St::end_rest:
        if (c == '>') {
          close();
          st_ = St::text;
        }
        break;
      case St::pi:
        if (c == '>' && prev_ == '?') st_ = St::text;
        prev_ = c;
        break;
      case St::bang:
        bang_.push_back(c);
        if (bang_ == "--") {
          st_ = St::comment;
          prev_ = prev2_ = 0;
        } else if (bang_ == "[CDATA[") {
          st_ = St::cdata;
          prev_ = prev2_ = 0;
        } else if (bang_.size() >= 7) {
          st_ = St::text;  // cannot happen after the hardened parser; the self-check decides
        }
        break;
      case St::comment:
      case St::cdata: {
        const char closer = st_ == St::comment ? '-' : ']';
        if (c == '>' && prev_ == closer && prev2_ == closer) st_ = St::text;
        prev2_ = prev_;
        prev_ = c;
        break;
      }
    }
  }

  static constexpr std::array<std::string_view, 3> kPath{"edXML", "edXMLEnvelope", "edXMLHeader"};
  St st_ = St::text;
  std::string name_;
  std::string bang_;
  char quote_ = 0, prev_ = 0, prev2_ = 0;
  bool slash_ = false;
  size_t depth_ = 0;
  std::array<bool, 3> path_ok_{};
  uint64_t lt_ = 0;
  std::optional<uint64_t> found_;
};

// The serialized element, as it will sit in the signed file.
Result<std::string> serialize(xmlDoc* doc, xmlNode* element) {
  struct BufferFree {
    void operator()(xmlBuffer* b) const { xmlBufferFree(b); }
  };
  std::unique_ptr<xmlBuffer, BufferFree> buf(xmlBufferCreate());
  if (!buf || xmlNodeDump(buf.get(), doc, element, 0, 0) < 0) {
    return make_error(ErrorKind::internal, "sign.serialize", "the signature element could not be serialized");
  }
  return std::string(reinterpret_cast<const char*>(xmlBufferContent(buf.get())),
                     static_cast<size_t>(xmlBufferLength(buf.get())));
}

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fs::file_error(errno, "io.write", "cannot write " + path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// `source` with `insert` placed just before the edXMLHeader end tag, into
// `target`; reads and writes up to 1 MiB at a time.
Status copy_inserting(const std::string& source, const std::string& target, std::string_view insert) {
  fs::UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return fs::file_error(errno, "io.read", "cannot open " + source);
  fs::UniqueFd out(::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out.valid()) return fs::file_error(errno, "io.write", "cannot create " + target);
  ReadBuffer buf(in.get(), 1 << 20);
  HeaderEndFinder finder;
  uint64_t pos = 0;
  bool inserted = false;
  for (;;) {
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fs::file_error(errno, "io.read", "cannot read " + source);
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    if (!inserted && finder.feed(chunk, pos)) {
      const size_t head = static_cast<size_t>(*finder.offset() - pos);
      EDX_TRY(write_all(out.get(), chunk.substr(0, head), target));
      EDX_TRY(write_all(out.get(), insert, target));
      chunk.remove_prefix(head);
      inserted = true;
    }
    EDX_TRY(write_all(out.get(), chunk, target));
    pos += static_cast<uint64_t>(n);
  }
  if (!inserted) {
    return make_error(ErrorKind::invalid, "sign.envelope", "the envelope's edXMLHeader end tag was not found");
  }
  if (::close(out.release()) != 0) return fs::file_error(errno, "io.write", "cannot write " + target);
  return {};
}

}  // namespace

Result<PreparedSignature> prepare_file(const std::string& envelope_file, const edxml::Limits& limits,
                                       const Certificate& cert, std::span<const Certificate> chain,
                                       const SignOptions& options) {
  dsig::ReferenceMethod method;
  method.c14n = dsig::find_c14n(dsig::kExcC14n);
  method.digest = &dsig::digest_method(digest_of(options.algorithm));
  ReferenceDigest digest(method);
  auto skeleton = edxml::parse_xml_file_observed(envelope_file, limits, digest);
  if (!skeleton.ok()) return skeleton.error();
  // Checked after the pass: the skeleton is what tells (an already signed
  // file made a digest that leaves its signature out, and is refused here).
  EDX_TRY(detail::check_unsigned(skeleton->get(), cert, options));
  if (digest.failure()) return *digest.failure();
  if (!digest.digest()) return make_error(ErrorKind::internal, "c14n.failed", "the streaming pass made no digest");

  PreparedSignature p;
  xmlNode* header = dsig::find_edxml_header(skeleton->get());
  p.value_node_ = detail::insert_skeleton(header, *digest.digest(), options, cert, chain);
  auto bytes = dsig::c14n_subtree(skeleton->get(), p.value_node_->prev, *dsig::find_c14n(dsig::kExcC14n));
  if (!bytes.ok()) return bytes.error();
  p.signed_info_.assign(bytes->begin(), bytes->end());
  p.algorithm_ = options.algorithm;
  p.cert_ = cert;
  p.doc_ = std::move(*skeleton);
  p.source_file_ = envelope_file;
  return p;
}

Status complete_file(PreparedSignature prepared, std::span<const uint8_t> signature_value,
                     const std::string& signed_file, const Verifier& verifier, const edxml::Limits& limits,
                     Verification* report) {
  if (prepared.source_file_.empty()) {
    return make_error(ErrorKind::internal, "sign.envelope", "complete_file needs a signature from prepare_file");
  }
  auto b64 = detail::checked_value({prepared.signed_info_, prepared.algorithm_, prepared.cert_}, signature_value);
  if (!b64.ok()) return b64.error();
  xmlNodeSetContent(prepared.value_node_, xml_chars(b64->c_str()));
  auto element = serialize(prepared.doc_.get(), prepared.value_node_->parent);
  if (!element.ok()) return element.error();
  EDX_TRY(copy_inserting(prepared.source_file_, signed_file, *element));
  Verification v = verifier.verify_file(signed_file, limits);
  if (report) *report = v;
  if (!v.valid) {
    ::unlink(signed_file.c_str());
    return make_error(ErrorKind::invalid, "sign.self_check",
                      "the signed document fails our own verification: " + v.code + ": " + v.message);
  }
  return {};
}

Status sign_file(const std::string& envelope_file, const std::string& signed_file, Signer& signer,
                 const Certificate& cert, std::span<const Certificate> chain, const SignOptions& options,
                 const Verifier& verifier, const edxml::Limits& limits, Verification* report) {
  auto prepared = prepare_file(envelope_file, limits, cert, chain, options);
  if (!prepared.ok()) return prepared.error();
  auto value = signer.sign(prepared->bytes_to_sign(), prepared->algorithm());
  if (!value.ok()) return value.error();
  return complete_file(std::move(prepared.value()), *value, signed_file, verifier, limits, report);
}

}  // namespace edxgate::crypto
