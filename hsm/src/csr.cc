// PKCS#10 requests signed by a token key, with UTF-8 distinguished names.
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <algorithm>

#include "edxgate/base/hex.h"
#include "p11.h"

namespace edxgate::hsm {
namespace {

struct Ava {
  int nid;
  std::string value;
};
using Rdn = std::vector<Ava>;

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ' && !(s.size() >= 2 && s[s.size() - 2] == '\\')) {
    s.remove_suffix(1);
  }
  return s;
}

Error subject_error(std::string what) {
  return make_error(ErrorKind::invalid, "csr.subject", "the subject is not a valid DN: " + std::move(what));
}

// Splits on `sep` not preceded by a backslash escape.
std::vector<std::string_view> split_unescaped(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

Result<std::string> unescape(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f) return subject_error("control character in a value");
    if (c != '\\') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (i + 1 >= v.size()) return subject_error("a value ends with a lone backslash");
    if (auto byte = from_hex(v.substr(i + 1, 2)); byte && byte->size() == 1) {  // \XX
      out.push_back(static_cast<char>(byte->front()));
      i += 2;
    } else {
      out.push_back(v[++i]);
    }
  }
  return out;
}

Result<Ava> parse_ava(std::string_view text) {
  text = trim(text);
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) return subject_error("'" + std::string(text) + "' has no '='");
  std::string type(trim(text.substr(0, eq)));
  std::string_view raw = trim(text.substr(eq + 1));
  if (type == "STREET") type = "street";
  if (type == "E" || type == "EMAILADDRESS") type = "emailAddress";
  if (type == "SERIALNUMBER") type = "serialNumber";
  int nid = OBJ_txt2nid(type.c_str());
  if (nid == NID_undef) return subject_error("unknown attribute type '" + type + "'");
  if (!raw.empty() && raw.front() == '#') {
    return subject_error("hex-encoded (#...) values are not accepted");
  }
  auto value = unescape(raw);
  if (!value.ok()) return value.error();
  if (value->empty()) return subject_error("attribute '" + type + "' has an empty value");
  return Ava{nid, std::move(value.value())};
}

// RFC 4514 strings list RDNs last-first; the slash form lists them in order.
Result<std::vector<Rdn>> parse_rdns(std::string_view dn) {
  dn = trim(dn);
  if (dn.empty()) return subject_error("it is empty");
  if (dn.size() > 4096) return subject_error("it is too long");
  bool slash = dn.front() == '/';
  if (slash) dn.remove_prefix(1);
  std::vector<Rdn> rdns;
  for (std::string_view part : split_unescaped(dn, slash ? '/' : ',')) {
    Rdn rdn;
    for (std::string_view ava_text : split_unescaped(part, '+')) {
      auto ava = parse_ava(ava_text);
      if (!ava.ok()) return ava.error();
      rdn.push_back(std::move(ava.value()));
    }
    rdns.push_back(std::move(rdn));
  }
  if (!slash) std::reverse(rdns.begin(), rdns.end());
  return rdns;
}

bool valid_email(std::string_view e) {
  size_t at = e.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= e.size() || e.size() > 254 ||
      e.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return std::all_of(e.begin(), e.end(),
                     [](char c) { return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != ',' && c != ';'; });
}

Status add_email_san(X509_REQ* req, std::string_view email) {
  if (!valid_email(email)) {
    return make_error(ErrorKind::invalid, "csr.email", "the email '" + std::string(email) + "' is not a valid address");
  }
  ossl::GeneralNamesPtr names(GENERAL_NAMES_new());
  ossl::GeneralNamePtr gn(GENERAL_NAME_new());
  ossl::Ia5StringPtr ia5(ASN1_IA5STRING_new());
  if (!names || !gn || !ia5 || !ASN1_STRING_set(ia5.get(), email.data(), static_cast<int>(email.size()))) {
    return make_error(ErrorKind::internal, "csr.email", "cannot encode the email: " + ossl::last_error());
  }
  GENERAL_NAME_set0_value(gn.get(), GEN_EMAIL, ia5.release());  // gn owns it
  if (!sk_GENERAL_NAME_push(names.get(), gn.get())) {
    return make_error(ErrorKind::internal, "csr.email", "cannot encode the email: " + ossl::last_error());
  }
  gn.release();  // names owns it
  ossl::ExtensionsPtr exts(sk_X509_EXTENSION_new_null());
  ossl::X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
  if (!exts || !ext || !sk_X509_EXTENSION_push(exts.get(), ext.get())) {
    return make_error(ErrorKind::internal, "csr.email", "cannot encode subjectAltName: " + ossl::last_error());
  }
  ext.release();  // exts owns it
  if (!X509_REQ_add_extensions(req, exts.get())) {
    return make_error(ErrorKind::internal, "csr.email", "cannot add subjectAltName: " + ossl::last_error());
  }
  return {};
}

}  // namespace

Result<ossl::X509NamePtr> parse_subject(std::string_view dn) {
  auto rdns = parse_rdns(dn);
  if (!rdns.ok()) return rdns.error();
  ossl::X509NamePtr name(X509_NAME_new());
  for (const Rdn& rdn : *rdns) {
    int set = 0;  // the first AVA opens a new RDN, the others join it
    for (const Ava& ava : rdn) {
      if (!X509_NAME_add_entry_by_NID(name.get(), ava.nid, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(ava.value.data()),
                                      static_cast<int>(ava.value.size()), -1, set)) {
        return subject_error(std::string(OBJ_nid2sn(ava.nid)) + " value is refused (" + ossl::last_error() + ")");
      }
      set = -1;
    }
  }
  return name;
}

Result<std::string> TokenSession::make_csr(const Pkcs11Uri& key_uri, std::string_view subject, std::string_view email) {
  const Pkcs11Api& api = module_->api();
  auto name = parse_subject(subject);
  if (!name.ok()) return name.error();
  auto h = p11::find_private_key(api, session_, key_uri);
  if (!h.ok()) return h.error();
  auto key = p11::describe_key(api, session_, *h, token_);
  if (!key.ok()) return key.error();
  auto pub = p11::public_key(api, session_, key->id, *h);
  if (!pub.ok()) return pub.error();

  ossl::X509ReqPtr req(X509_REQ_new());
  if (!req || !X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) ||
      !X509_REQ_set_subject_name(req.get(), name->get()) || !X509_REQ_set_pubkey(req.get(), pub->get())) {
    return make_error(ErrorKind::internal, "csr.build", "cannot build the request: " + ossl::last_error());
  }
  if (!email.empty()) EDX_TRY(add_email_san(req.get(), email));

  const bool rsa = key->spec.type == KeyType::rsa;
  const int md_nid = !rsa && key->spec.bits > 256 ? NID_sha384 : NID_sha256;
  const int sig_nid =
      rsa ? NID_sha256WithRSAEncryption : (md_nid == NID_sha384 ? NID_ecdsa_with_SHA384 : NID_ecdsa_with_SHA256);
  ossl::X509AlgorPtr alg(X509_ALGOR_new());
  if (!alg || !X509_ALGOR_set0(alg.get(), OBJ_nid2obj(sig_nid), rsa ? V_ASN1_NULL : V_ASN1_UNDEF, nullptr) ||
      !X509_REQ_set1_signature_algo(req.get(), alg.get())) {
    return make_error(ErrorKind::internal, "csr.build", "cannot set the signature algorithm: " + ossl::last_error());
  }
  unsigned char* tbs_der = nullptr;
  int tbs_len = i2d_re_X509_REQ_tbs(req.get(), &tbs_der);
  ossl::OpensslBytesPtr tbs(tbs_der);
  if (tbs_len <= 0)
    return make_error(ErrorKind::internal, "csr.build", "cannot encode the request: " + ossl::last_error());
  std::vector<uint8_t> digest(EVP_MAX_MD_SIZE);
  unsigned int dlen = 0;
  int ok =
      EVP_Digest(tbs.get(), static_cast<size_t>(tbs_len), digest.data(), &dlen, EVP_get_digestbynid(md_nid), nullptr);
  if (!ok) return make_error(ErrorKind::internal, "csr.build", "cannot hash the request: " + ossl::last_error());
  digest.resize(dlen);
  auto sig = p11::sign_digest(api, session_, *h, key->spec.type, digest, md_nid);
  if (!sig.ok()) return sig.error();
  std::vector<uint8_t> sig_der = std::move(sig.value());
  if (!rsa) {  // r||s -> ECDSA-Sig-Value
    size_t half = sig_der.size() / 2;
    ossl::EcdsaSigPtr es(ECDSA_SIG_new());
    ossl::BignumPtr r(BN_bin2bn(sig_der.data(), static_cast<int>(half), nullptr));
    ossl::BignumPtr s(BN_bin2bn(sig_der.data() + half, static_cast<int>(half), nullptr));
    if (!es || !r || !s || !ECDSA_SIG_set0(es.get(), r.get(), s.get())) {
      return make_error(ErrorKind::internal, "csr.build", "cannot encode the ECDSA signature");
    }
    r.release();  // es owns both now
    s.release();
    unsigned char* der = nullptr;
    int der_len = i2d_ECDSA_SIG(es.get(), &der);
    ossl::OpensslBytesPtr owned(der);
    if (der_len <= 0) return make_error(ErrorKind::internal, "csr.build", "cannot encode the ECDSA signature");
    sig_der.assign(der, der + der_len);
  }
  ossl::BitStringPtr bits(ASN1_BIT_STRING_new());
  if (!bits || !ASN1_BIT_STRING_set(bits.get(), sig_der.data(), static_cast<int>(sig_der.size()))) {
    return make_error(ErrorKind::internal, "csr.build", "cannot store the signature");
  }
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  X509_REQ_set0_signature(req.get(), bits.release());  // req owns it
  // The token's signature must verify under the key we put in the request.
  if (X509_REQ_verify(req.get(), pub->get()) != 1) {
    return make_error(ErrorKind::internal, "csr.verify",
                      "the token's signature on the request does not verify: " + ossl::last_error());
  }
  ossl::BioPtr mem(BIO_new(BIO_s_mem()));
  if (!mem || !PEM_write_bio_X509_REQ(mem.get(), req.get())) {
    return make_error(ErrorKind::internal, "csr.build", "cannot write the request: " + ossl::last_error());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(mem.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace edxgate::hsm
