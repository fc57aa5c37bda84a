#include "structure.h"

#include "edxgate/base/base64.h"

namespace edxgate::crypto::dsig {

namespace {

// Every structure error refuses the signature as it stands.
Error err(const char* code, std::string message) { return make_error(ErrorKind::invalid, code, std::move(message)); }

// The text of an element that may hold only text (base64 values).
std::optional<std::string> text_only(const xmlNode* n) {
  std::string out;
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type != XML_TEXT_NODE) return std::nullopt;
    if (c->content) out += reinterpret_cast<const char*>(c->content);
  }
  return out;
}

std::optional<std::vector<uint8_t>> base64_of(const xmlNode* n) {
  auto text = text_only(n);
  std::string bytes;
  if (!text || !base64::decode(*text, bytes)) return std::nullopt;
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

bool is_ds(const xmlNode* n, std::string_view name) { return is_element(n, kDsigNs, name); }

std::string local_name(const xmlNode* n) { return n && n->name ? reinterpret_cast<const char*>(n->name) : ""; }

// Children of an element that must hold nothing but whitespace-separated elements.
Result<std::vector<xmlNode*>> strict_children(xmlNode* n) {
  bool ok = true;
  auto kids = element_children(n, ok);
  if (!ok) {
    return err("sig.structure",
               "the signature's " + local_name(n) + " element holds text, a comment or a processing instruction");
  }
  return kids;
}

// An exclusive C14N method may carry one ec:InclusiveNamespaces; nothing else
// may have children.
Status check_method_children(xmlNode* n, const C14nMethod* m, const char* code) {
  auto kids = strict_children(n);
  if (!kids.ok()) return kids.error();
  for (xmlNode* k : *kids) {
    if (m && m->exclusive() && is_element(k, kExcC14nNs, "InclusiveNamespaces") && kids->size() == 1) {
      continue;
    }
    return err(code, "the " + local_name(n) + " element has an unexpected child " + local_name(k));
  }
  return {};
}

Result<const C14nMethod*> read_c14n(xmlNode* n, const char* code) {
  std::string alg = attr(n, "Algorithm");
  const C14nMethod* m = find_c14n(alg);
  if (!m) return err(code, "canonicalization '" + alg + "' is not allowed (C14N 1.0/1.1, exclusive or not)");
  EDX_TRY(check_method_children(n, m, code));
  return m;
}

// The PrefixList of a C14N method element that passed check_method_children
// (xmlSecTransformC14NNodeRead; libxml2 takes "" and "#default" alike).
PrefixList read_prefix_list(const xmlNode* method) {
  PrefixList out;
  const xmlNode* inclusive = nullptr;
  for (const xmlNode* c = method->children; c && !inclusive; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) inclusive = c;
  }
  if (!inclusive) return out;
  const xmlAttr* list = nullptr;
  for (const xmlAttr* a = inclusive->properties; a && !list; a = a->next) {
    if (a->name && std::string_view(reinterpret_cast<const char*>(a->name)) == "PrefixList") list = a;
  }
  if (!list) {
    out.unreadable = true;
    return out;
  }
  edxml::XmlCharPtr v(xmlNodeListGetString(inclusive->doc, list->children, 1));
  std::string value = v ? reinterpret_cast<const char*>(v.get()) : "";
  for (size_t p = 0; p < value.size();) {
    size_t n = value.find(' ', p);
    if (n == std::string::npos) {
      out.prefixes.push_back(value.substr(p));
      break;
    }
    out.prefixes.push_back(value.substr(p, n - p));
    p = n + 1;
  }
  return out;
}

Status check_transforms(xmlNode* transforms, ReferenceMethod& out) {
  auto kids = strict_children(transforms);
  if (!kids.ok()) return kids.error();
  if (kids->empty() || kids->size() > 2) {
    return err("sig.transform",
               "the Reference must have the enveloped-signature transform, "
               "optionally followed by one C14N transform, and nothing else");
  }
  for (size_t i = 0; i < kids->size(); ++i) {
    xmlNode* t = (*kids)[i];
    if (!is_ds(t, "Transform")) return err("sig.structure", "unexpected element in Transforms");
    std::string alg = attr(t, "Algorithm");
    if (i == 0) {
      if (alg != kEnveloped) {
        return err("sig.transform", "the first transform must be enveloped-signature, not '" + alg + "'");
      }
      EDX_TRY(check_method_children(t, nullptr, "sig.transform"));
    } else {
      auto m = read_c14n(t, "sig.transform");
      if (!m.ok()) {
        return err("sig.transform", "transform '" + alg + "' is not allowed after enveloped-signature");
      }
      out.c14n = *m;
      if ((*m)->exclusive()) out.prefixes = read_prefix_list(t);
    }
  }
  return {};
}

Status check_reference(xmlNode* ref, SignatureParts& out) {
  bool has_uri = false;
  std::string uri = attr(ref, "URI", &has_uri);
  if (!has_uri || !uri.empty()) {
    return err("sig.reference",
               "the Reference must have URI=\"\" (the whole document); URI '" + uri + "' allows signature wrapping");
  }
  auto kids = strict_children(ref);
  if (!kids.ok()) return kids.error();
  if (kids->size() != 3 || !is_ds((*kids)[0], "Transforms")) {
    return err("sig.transform", "the Reference must have Transforms (enveloped-signature)");
  }
  if (!is_ds((*kids)[1], "DigestMethod") || !is_ds((*kids)[2], "DigestValue")) {
    return err("sig.structure", "the Reference must hold Transforms, DigestMethod, DigestValue");
  }
  EDX_TRY(check_transforms((*kids)[0], out.reference));
  std::string alg = attr((*kids)[1], "Algorithm");
  const DigestMethod* d = find_digest(alg);
  if (!d) return err("sig.algorithm", "digest method '" + alg + "' is not allowed (SHA-256/384/512)");
  EDX_TRY(check_method_children((*kids)[1], nullptr, "sig.algorithm"));
  auto value = base64_of((*kids)[2]);
  if (!value || value->size() != static_cast<size_t>(EVP_MD_get_size(d->md()))) {
    return err("sig.structure", "the DigestValue is not a base64 " + std::string(d->name) + " digest");
  }
  out.digest = d;
  out.reference.digest = d;
  out.digest_value = std::move(*value);
  return {};
}

Result<const SignatureMethod*> read_signature_method(xmlNode* n) {
  std::string alg = attr(n, "Algorithm");
  const SignatureMethod* m = find_signature_method(alg);
  if (!m) {
    bool hmac = alg.find("hmac") != std::string::npos;
    return err("sig.algorithm", hmac ? "HMAC signatures are refused (a shared key proves no signer)"
                                     : "signature method '" + alg + "' is not allowed");
  }
  EDX_TRY(check_method_children(n, nullptr, "sig.algorithm"));  // e.g. HMACOutputLength
  return m;
}

// Picks the one included certificate that issues none of the others.
Status read_certificates(xmlNode* key_info, SignatureParts& out) {
  auto kids = strict_children(key_info);
  if (!kids.ok()) return kids.error();
  xmlNode* x509_data = nullptr;
  for (xmlNode* k : *kids) {
    if (is_ds(k, "X509Data") && !x509_data) {
      x509_data = k;
    } else if (is_ds(k, "KeyName")) {
      continue;  // a label; the key always comes from the certificate
    } else {
      return err("sig.keyinfo", "KeyInfo may hold one X509Data (and a KeyName), not " + local_name(k));
    }
  }
  if (!x509_data) return err("sig.keyinfo", "KeyInfo has no X509Data certificate; a bare key proves no signer");
  auto items = strict_children(x509_data);
  if (!items.ok()) return items.error();
  std::vector<Certificate> certs;
  for (xmlNode* item : *items) {
    if (is_ds(item, "X509IssuerSerial") || is_ds(item, "X509SubjectName") || is_ds(item, "X509SKI")) continue;
    if (!is_ds(item, "X509Certificate")) {
      return err("sig.keyinfo", "X509Data may not hold " + local_name(item));
    }
    auto der = base64_of(item);
    if (!der || der->empty()) return err("sig.keyinfo", "an X509Certificate is not valid base64");
    auto cert = Certificate::from_der(*der);
    if (!cert.ok()) return err("sig.keyinfo", "an X509Certificate is not a valid DER certificate");
    certs.push_back(std::move(cert.value()));
  }
  if (certs.empty()) return err("sig.keyinfo", "X509Data holds no X509Certificate");
  std::vector<size_t> leaves;
  for (size_t i = 0; i < certs.size(); ++i) {
    bool issues_another = false;
    for (size_t j = 0; j < certs.size(); ++j) {
      if (i != j && X509_check_issued(certs[i].get(), certs[j].get()) == X509_V_OK) issues_another = true;
    }
    if (!issues_another) leaves.push_back(i);
  }
  if (leaves.size() != 1) {
    return err("sig.keyinfo",
               "the certificates in KeyInfo do not name one signer (" + std::to_string(leaves.size()) + " candidates)");
  }
  for (size_t i = 0; i < certs.size(); ++i) {
    if (i == leaves[0]) {
      out.leaf = certs[i];
    } else {
      out.others.push_back(certs[i]);
    }
  }
  return {};
}

Status check_placement(xmlDoc* doc, xmlNode* sig) {
  xmlNode* header = find_edxml_header(doc);
  if (!header || sig->parent != header) {
    return err("sig.placement", "the signature must be a child of edXML/edXMLEnvelope/edXMLHeader");
  }
  return {};
}

Status check_signed_info(xmlNode* si, SignatureParts& out) {
  auto kids = strict_children(si);
  if (!kids.ok()) return kids.error();
  if (kids->size() < 3 || !is_ds((*kids)[0], "CanonicalizationMethod") || !is_ds((*kids)[1], "SignatureMethod")) {
    return err("sig.structure", "SignedInfo must hold CanonicalizationMethod, SignatureMethod, Reference");
  }
  auto c14n = read_c14n((*kids)[0], "sig.c14n");
  if (!c14n.ok()) return c14n.error();
  out.c14n = *c14n;
  if (out.c14n->exclusive()) out.signed_info_prefixes = read_prefix_list((*kids)[0]);
  auto method = read_signature_method((*kids)[1]);
  if (!method.ok()) return method.error();
  out.method = *method;
  for (size_t i = 2; i < kids->size(); ++i) {
    if (!is_ds((*kids)[i], "Reference")) return err("sig.structure", "unexpected element in SignedInfo");
  }
  if (kids->size() != 3) {
    return err("sig.reference",
               "the signature must have exactly one Reference (it has " + std::to_string(kids->size() - 2) + ")");
  }
  return check_reference((*kids)[2], out);
}

}  // namespace

Result<SignatureParts> parse_signature(xmlDoc* doc) {
  auto sigs = find_signatures(doc);
  if (sigs.empty()) return err("sig.missing", "the document has no XML-DSig signature");
  if (sigs.size() > 1) {
    return err("sig.count",
               "the document has " + std::to_string(sigs.size()) + " XML-DSig signatures; exactly one is allowed");
  }
  return parse_signature_element(doc, sigs[0]);
}

Result<SignatureParts> parse_signature_element(xmlDoc* doc, xmlNode* signature) {
  SignatureParts out;
  out.signature = signature;
  EDX_TRY(check_placement(doc, out.signature));
  auto kids = strict_children(out.signature);
  if (!kids.ok()) return kids.error();
  for (xmlNode* k : *kids) {
    if (is_ds(k, "Object")) return err("sig.structure", "ds:Object is not allowed in the signature");
  }
  if (kids->size() < 2 || !is_ds((*kids)[0], "SignedInfo") || !is_ds((*kids)[1], "SignatureValue")) {
    return err("sig.structure", "the signature must hold SignedInfo, SignatureValue, KeyInfo");
  }
  if (kids->size() < 3 || !is_ds((*kids)[2], "KeyInfo")) {
    return err("sig.keyinfo", "the signature has no KeyInfo with the signer certificate");
  }
  if (kids->size() > 3) return err("sig.structure", "unexpected element after KeyInfo in the signature");
  out.signed_info = (*kids)[0];
  EDX_TRY(check_signed_info(out.signed_info, out));
  auto value = base64_of((*kids)[1]);
  if (!value || value->empty()) {
    return err("sig.structure", "the SignatureValue is not base64");
  }
  out.signature_value = std::move(*value);
  EDX_TRY(read_certificates((*kids)[2], out));
  return out;
}

}  // namespace edxgate::crypto::dsig
