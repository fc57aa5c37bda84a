// The streaming verifier: one pass over an envelope file (verifier.h), and
// the dual verification beside the DOM verifier.
#include <sys/stat.h>

#include "dsig.h"
#include "edxgate/base/log.h"
#include "edxgate/crypto/verifier.h"
#include "edxgate/edxml/xml_observer.h"
#include "reference_digest.h"
#include "verify_steps.h"

namespace edxgate::crypto {

namespace detail {

namespace {

Error cannot_process(const std::string& why) {
  return make_error(ErrorKind::invalid, "sig.value", "the signature could not be processed for verification: " + why);
}

}  // namespace

Verification verify_streamed(xmlDoc* skeleton, const ReferenceDigest& pass, const SecondPass& second_pass,
                             const Checker& c) {
  Verification v;
  auto parts = check_policy(skeleton, c, v);
  if (!parts) return v;
  // xmlsec1 reads both C14N methods before it digests anything.
  if (parts->signed_info_prefixes.unreadable || parts->reference.prefixes.unreadable) {
    return reject(v, cannot_process("an InclusiveNamespaces element has no PrefixList"));
  }
  std::vector<uint8_t> digest;
  if (pass.failure()) {
    return reject(v, cannot_process(pass.failure()->message));
  } else if (pass.digest()) {
    digest = *pass.digest();
  } else if (pass.second_pass_needed()) {
    auto again = second_pass(parts->reference);
    if (!again.ok()) return reject(v, cannot_process(again.error().message));
    digest = std::move(again.value());
  } else {
    return reject(v, cannot_process("the reference was not digested"));
  }
  if (digest != parts->digest_value) {
    return reject(v, make_error(ErrorKind::invalid, "sig.digest",
                                "the document's digest does not match: it was changed after signing"));
  }
  auto signed_info =
      dsig::c14n_subtree(skeleton, parts->signed_info, *parts->c14n, parts->signed_info_prefixes.prefixes);
  if (!signed_info.ok()) return reject(v, cannot_process("SignedInfo cannot be canonicalized"));
  const auto* bytes = reinterpret_cast<const uint8_t*>(signed_info->data());
  if (!dsig::verify_signature_value(X509_get0_pubkey(parts->leaf.get()), *parts->method, {bytes, signed_info->size()},
                                    parts->signature_value)) {
    return reject(v, make_error(ErrorKind::invalid, "sig.value",
                                "the signature value does not match the signer certificate's key"));
  }
  accept(skeleton, v);
  return v;
}

Verification combine_dual(Verification streamed, const Verification& dom, const std::string& file) {
  streamed.dual_checked = true;
  if (streamed.valid == dom.valid && streamed.code == dom.code) return streamed;
  log::error("the streaming and the DOM verifier disagree (a bug in edxgate)",
             {{"file", file}, {"streaming", streamed.code}, {"dom", dom.code}});
  streamed.valid = false;
  streamed.message = "the streaming verifier says " + streamed.code + " and the DOM verifier (xmlsec1) says " +
                     dom.code + "; this is a bug in edxgate, please report it";
  streamed.code = "sig.disagreement";
  streamed.kind = ErrorKind::internal;
  return streamed;
}

}  // namespace detail

namespace {

// One pass: the digest while the parser streams, the verdict when the
// skeleton is complete (before the document is handed on or freed).
struct StreamingPass {
  const detail::Checker& checker;
  const std::string& path;
  const edxml::Limits& limits;
  ReferenceDigest digest;
  std::optional<Verification> verdict;

  StreamingPass(const detail::Checker& c, const std::string& p, const edxml::Limits& l)
      : checker(c), path(p), limits(l) {
    digest.on_document([this](xmlDoc* doc) {
      verdict = detail::verify_streamed(
          doc, digest, [this](const dsig::ReferenceMethod& m) { return again(m); }, checker);
    });
  }

  // Attachment content came before the signature: read the file again with
  // the method known from the start.
  Result<std::vector<uint8_t>> again(const dsig::ReferenceMethod& method) {
    ReferenceDigest second(method);
    auto doc = edxml::parse_xml_file_observed(path, limits, second);
    if (!doc.ok()) return doc.error();
    if (second.failure()) return *second.failure();
    if (!second.digest()) return make_error(ErrorKind::internal, "c14n.failed", "the second pass made no digest");
    return *second.digest();
  }

  // The verdict, or the reason the file could not be parsed.
  Verification result(const Error* parse_error) const {
    if (verdict) return *verdict;
    Verification v;
    v.code = parse_error ? parse_error->code : "xml.malformed";
    v.kind = parse_error ? parse_error->kind : ErrorKind::invalid;
    v.message = parse_error ? parse_error->to_string() : "the document could not be parsed";
    return v;
  }
};

bool dual_applies(const std::string& path, const VerifyPolicy& policy) {
  struct stat st {};
  return policy.max_dual_bytes > 0 && ::stat(path.c_str(), &st) == 0 &&
         static_cast<uint64_t>(st.st_size) <= policy.max_dual_bytes;
}

Verification dual(Verification streamed, const std::string& path, const edxml::Limits& limits,
                  const detail::Checker& c) {
  auto doc = edxml::parse_xml_file(path, limits);
  Verification dom;
  if (doc.ok()) {
    dom = detail::verify_dom(doc->get(), c);
  } else {
    dom.code = doc.error().code;
    dom.kind = doc.error().kind;
  }
  return detail::combine_dual(std::move(streamed), dom, path);
}

}  // namespace

Verification Verifier::verify_file(const std::string& path, const edxml::Limits& limits) const {
  const detail::Checker checker{trust_, policy_, online_.get()};
  StreamingPass pass(checker, path, limits);
  auto doc = edxml::parse_xml_file_observed(path, limits, pass.digest);
  if (!doc.ok()) return pass.result(&doc.error());
  Verification v = pass.result(nullptr);
  if (dual_applies(path, policy_)) v = dual(std::move(v), path, limits, checker);
  return v;
}

VerifiedEnvelope Verifier::read_and_verify(const std::string& path, const edxml::ReadOptions& options) const {
  const detail::Checker checker{trust_, policy_, online_.get()};
  StreamingPass pass(checker, path, options.limits);
  edxml::ReadOptions read = options;
  read.observer = &pass.digest;
  VerifiedEnvelope out;
  out.envelope = edxml::read_envelope_file_with_doc(path, read);
  out.verification = pass.result(out.envelope.ok() ? nullptr : &out.envelope.error());
  if (pass.verdict && dual_applies(path, policy_)) {
    out.verification = dual(std::move(out.verification), path, options.limits, checker);
  }
  return out;
}

}  // namespace edxgate::crypto
