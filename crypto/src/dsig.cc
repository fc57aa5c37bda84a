#include "dsig.h"

#include <libxml/xmlIO.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include <cstring>

namespace edxgate::crypto::dsig {

namespace {

constexpr C14nMethod kC14n[] = {
    {"http://www.w3.org/2001/10/xml-exc-c14n#", XML_C14N_EXCLUSIVE_1_0, false},
    {"http://www.w3.org/2001/10/xml-exc-c14n#WithComments", XML_C14N_EXCLUSIVE_1_0, true},
    {"http://www.w3.org/TR/2001/REC-xml-c14n-20010315", XML_C14N_1_0, false},
    {"http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments", XML_C14N_1_0, true},
    {"http://www.w3.org/2006/12/xml-c14n11", XML_C14N_1_1, false},
    {"http://www.w3.org/2006/12/xml-c14n11#WithComments", XML_C14N_1_1, true},
};

constexpr DigestMethod kDigests[] = {
    {"http://www.w3.org/2001/04/xmlenc#sha256", "sha256", EVP_sha256, false},
    {"http://www.w3.org/2001/04/xmldsig-more#sha384", "sha384", EVP_sha384, false},
    {"http://www.w3.org/2001/04/xmlenc#sha512", "sha512", EVP_sha512, false},
    {"http://www.w3.org/2000/09/xmldsig#sha1", "sha1", EVP_sha1, true},
};

constexpr SignatureMethod kSignatures[] = {
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "rsa-sha256", false, EVP_sha256, false},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "rsa-sha384", false, EVP_sha384, false},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", "rsa-sha512", false, EVP_sha512, false},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "ecdsa-sha256", true, EVP_sha256, false},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", "ecdsa-sha384", true, EVP_sha384, false},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", "ecdsa-sha512", true, EVP_sha512, false},
    {"http://www.w3.org/2000/09/xmldsig#rsa-sha1", "rsa-sha1", false, EVP_sha1, true},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1", "ecdsa-sha1", true, EVP_sha1, true},
};

std::string_view sv(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

// Sink for libxml2's output buffer: hashes, or appends to a string.
struct C14nSink {
  EVP_MD_CTX* md = nullptr;
  std::string* out = nullptr;
  bool failed = false;
};

int sink_write(void* ctx, const char* buf, int len) {
  auto* s = static_cast<C14nSink*>(ctx);
  if (s->md) {
    if (EVP_DigestUpdate(s->md, buf, static_cast<size_t>(len)) != 1) s->failed = true;
  } else {
    s->out->append(buf, static_cast<size_t>(len));
  }
  return len;
}
int sink_close(void*) { return 0; }

int visible_in_subtree(void* user, xmlNodePtr node, xmlNodePtr parent) {
  const auto* root = static_cast<const xmlNode*>(user);
  const xmlNode* n = node->type == XML_NAMESPACE_DECL ? parent : node;
  for (; n; n = n->parent) {
    if (n == root) return 1;
  }
  return 0;
}

Status run_c14n(xmlDoc* doc, const xmlNode* subtree, const C14nMethod& m, const std::vector<std::string>& prefixes,
                C14nSink& sink) {
  std::vector<xmlChar*> pfx;
  pfx.reserve(prefixes.size() + 1);
  for (const auto& p : prefixes) pfx.push_back(const_cast<xmlChar*>(reinterpret_cast<const xmlChar*>(p.c_str())));
  pfx.push_back(nullptr);
  // Closed (and freed) right after the run, whose result needs the close's.
  xmlOutputBufferPtr buf = xmlOutputBufferCreateIO(sink_write, sink_close, &sink, nullptr);
  if (!buf) return make_error(ErrorKind::internal, "c14n.failed", "cannot create the canonicalization buffer");
  int rc = xmlC14NExecute(doc, subtree ? visible_in_subtree : nullptr, const_cast<xmlNode*>(subtree), m.mode,
                          prefixes.empty() ? nullptr : pfx.data(), m.with_comments ? 1 : 0, buf);
  int close_rc = xmlOutputBufferClose(buf);
  if (rc < 0 || close_rc < 0 || sink.failed) {
    return make_error(ErrorKind::invalid, "c14n.failed", "the document could not be canonicalized");
  }
  return {};
}

}  // namespace

const C14nMethod* find_c14n(std::string_view uri) {
  for (const auto& m : kC14n) {
    if (m.uri == uri) return &m;
  }
  return nullptr;
}

const DigestMethod* find_digest(std::string_view uri) {
  for (const auto& m : kDigests) {
    if (m.uri == uri) return &m;
  }
  return nullptr;
}

const DigestMethod& digest_method(DigestAlgorithm alg) {
  switch (alg) {
    case DigestAlgorithm::sha384:
      return kDigests[1];
    case DigestAlgorithm::sha512:
      return kDigests[2];
    default:
      return kDigests[0];
  }
}

const SignatureMethod* find_signature_method(std::string_view uri) {
  for (const auto& m : kSignatures) {
    if (m.uri == uri) return &m;
  }
  return nullptr;
}

bool is_element(const xmlNode* n, std::string_view ns, std::string_view name) {
  return n && n->type == XML_ELEMENT_NODE && n->ns && sv(n->ns->href) == ns && sv(n->name) == name;
}

std::string attr(const xmlNode* n, const char* name, bool* present) {
  xmlAttr* a = xmlHasNsProp(const_cast<xmlNode*>(n), reinterpret_cast<const xmlChar*>(name), nullptr);
  if (present) *present = a != nullptr;
  if (!a) return "";
  edxml::XmlCharPtr v(xmlNodeListGetString(n->doc, a->children, 1));
  return std::string(sv(v.get()));
}

std::string text_of(const xmlNode* n) {
  edxml::XmlCharPtr v(xmlNodeGetContent(n));
  return std::string(sv(v.get()));
}

std::vector<xmlNode*> element_children(xmlNode* n, bool& ok) {
  std::vector<xmlNode*> out;
  ok = true;
  for (xmlNode* c = n->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      out.push_back(c);
    } else if (c->type == XML_TEXT_NODE) {
      for (const xmlChar* p = c->content; p && *p; ++p) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') ok = false;
      }
    } else {
      ok = false;
    }
  }
  return out;
}

xmlNode* find_edxml_header(xmlDoc* doc) {
  xmlNode* root = xmlDocGetRootElement(doc);
  if (!is_element(root, kEdxmlNs, "edXML")) return nullptr;
  for (xmlNode* env = root->children; env; env = env->next) {
    if (!is_element(env, kEdxmlNs, "edXMLEnvelope")) continue;
    for (xmlNode* h = env->children; h; h = h->next) {
      if (is_element(h, kEdxmlNs, "edXMLHeader")) return h;
    }
  }
  return nullptr;
}

namespace {
template <class F>
void walk(xmlNode* n, F&& f) {  // iterative pre-order over the whole tree
  while (n) {
    f(n);
    if (n->children && n->type != XML_ENTITY_REF_NODE) {
      n = n->children;
      continue;
    }
    while (n && !n->next) n = n->parent;
    if (n) n = n->next;
  }
}
}  // namespace

std::vector<xmlNode*> find_signatures(xmlDoc* doc) {
  std::vector<xmlNode*> out;
  walk(doc->children, [&](xmlNode* n) {
    if (is_element(n, kDsigNs, "Signature")) out.push_back(n);
  });
  return out;
}

bool has_comments(xmlDoc* doc) {
  bool found = false;
  walk(doc->children, [&](xmlNode* n) { found = found || n->type == XML_COMMENT_NODE; });
  return found;
}

Result<std::vector<uint8_t>> c14n_digest(xmlDoc* doc, const xmlNode* subtree, const C14nMethod& m, const EVP_MD* md) {
  ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    return make_error(ErrorKind::internal, "c14n.failed", "cannot start the digest");
  }
  C14nSink sink{ctx.get(), nullptr, false};
  EDX_TRY(run_c14n(doc, subtree, m, {}, sink));
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), out.data(), &n);
  out.resize(n);
  return out;
}

Result<std::string> c14n_subtree(xmlDoc* doc, const xmlNode* subtree, const C14nMethod& m,
                                 const std::vector<std::string>& inclusive_prefixes) {
  std::string out;
  C14nSink sink{nullptr, &out, false};
  EDX_TRY(run_c14n(doc, subtree, m, inclusive_prefixes, sink));
  return out;
}

std::optional<std::vector<uint8_t>> ecdsa_raw_to_der(std::span<const uint8_t> raw) {
  if (raw.empty() || raw.size() % 2 != 0) return std::nullopt;
  size_t half = raw.size() / 2;
  ossl::EcdsaSigPtr sig(ECDSA_SIG_new());
  ossl::BignumPtr r(BN_bin2bn(raw.data(), static_cast<int>(half), nullptr));
  ossl::BignumPtr s(BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release();  // the signature owns both now
  (void)s.release();
  int n = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (n <= 0) return std::nullopt;
  std::vector<uint8_t> der(static_cast<size_t>(n));
  unsigned char* p = der.data();
  i2d_ECDSA_SIG(sig.get(), &p);
  return der;
}

std::optional<std::vector<uint8_t>> ecdsa_der_to_raw(std::span<const uint8_t> der, size_t width) {
  const unsigned char* p = der.data();
  ossl::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) return std::nullopt;
  std::vector<uint8_t> raw(width * 2);
  const int w = static_cast<int>(width);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), w) != w ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + width, w) != w) {
    return std::nullopt;
  }
  return raw;
}

bool verify_raw(EVP_PKEY* key, const SignatureMethod& m, std::span<const uint8_t> data,
                std::span<const uint8_t> signature) {
  std::vector<uint8_t> der;
  std::span<const uint8_t> sig = signature;
  if (m.ecdsa) {
    // r||s must be exactly twice the order size of the key's curve.
    size_t order_bytes = static_cast<size_t>((EVP_PKEY_get_bits(key) + 7) / 8);
    if (signature.size() != 2 * order_bytes) return false;
    auto d = ecdsa_raw_to_der(signature);
    if (!d) return false;
    der = std::move(*d);
    sig = der;
  }
  ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, m.md(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data.data(), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

bool verify_signature_value(EVP_PKEY* key, const SignatureMethod& m, std::span<const uint8_t> data,
                            std::span<const uint8_t> value) {
  std::vector<uint8_t> der;
  std::span<const uint8_t> sig = value;
  if (m.ecdsa) {
    const size_t full = 2 * static_cast<size_t>((EVP_PKEY_get_bits(key) + 7) / 8);
    if (value.size() != full && (value.size() > full || value.size() % 2 != 0)) return false;
    auto d = ecdsa_raw_to_der(value);  // splits at the middle
    if (!d) return false;
    der = std::move(*d);
    sig = der;
  }
  ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, m.md(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data.data(), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

Status check_key(EVP_PKEY* key, const SignatureMethod& m) {
  int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_RSA) {
    if (m.ecdsa)
      return make_error(ErrorKind::invalid, "sig.algorithm",
                        "the signature method is ECDSA but the certificate holds an RSA key");
    int bits = EVP_PKEY_get_bits(key);
    if (bits < 2048) {
      return make_error(ErrorKind::invalid, "sig.key_size",
                        "the signer's RSA key has " + std::to_string(bits) + " bits; at least 2048 are required");
    }
    return {};
  }
  if (type == EVP_PKEY_EC) {
    if (!m.ecdsa)
      return make_error(ErrorKind::invalid, "sig.algorithm",
                        "the signature method is RSA but the certificate holds an EC key");
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) {
      ERR_clear_error();
      return make_error(ErrorKind::invalid, "sig.key_size", "the signer's EC key uses an unnamed curve");
    }
    std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256" || g == "secp384r1" || g == "P-384" || g == "secp521r1" || g == "P-521") {
      return {};
    }
    return make_error(ErrorKind::invalid, "sig.key_size",
                      "the signer's EC key is on curve " + std::string(g) + "; P-256, P-384 or P-521 is required");
  }
  return make_error(ErrorKind::invalid, "sig.algorithm", "the signer certificate holds neither an RSA nor an EC key");
}

}  // namespace edxgate::crypto::dsig
