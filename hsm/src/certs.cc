// Certificates on the token: import next to a key, listing, description.
#include <openssl/pem.h>

#include <ctime>

#include "p11.h"

namespace edxgate::hsm {
namespace {

constexpr size_t kMaxCertBytes = 1 << 20;

Result<ossl::X509Ptr> parse_certificate(std::string_view bytes) {
  if (bytes.size() > kMaxCertBytes)
    return make_error(ErrorKind::too_large, "cert.parse", "the certificate is too large");
  ossl::X509Ptr cert;
  if (bytes.find("-----BEGIN") != std::string_view::npos) {
    ossl::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
    cert.reset(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
    if (cert && p != reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size()) {
      cert.reset();
    }
  }
  if (!cert) {
    return make_error(ErrorKind::invalid, "cert.parse",
                      "not an X.509 certificate in PEM or DER (" + ossl::last_error() + ")");
  }
  return cert;
}

std::string name_text(const X509_NAME* name) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string iso_time(const ASN1_TIME* t, std::time_t* out) {
  std::tm tm{};
  if (!ASN1_TIME_to_tm(t, &tm)) return "";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (out) *out = timegm(&tm);
  return buf;
}

std::vector<std::string> key_usage_names(X509* cert) {
  static constexpr std::pair<uint32_t, const char*> kBits[] = {
      {KU_DIGITAL_SIGNATURE, "digitalSignature"},
      {KU_NON_REPUDIATION, "nonRepudiation"},
      {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
      {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
      {KU_KEY_AGREEMENT, "keyAgreement"},
      {KU_KEY_CERT_SIGN, "keyCertSign"},
      {KU_CRL_SIGN, "cRLSign"},
      {KU_ENCIPHER_ONLY, "encipherOnly"},
      {KU_DECIPHER_ONLY, "decipherOnly"},
  };
  std::vector<std::string> out;
  uint32_t ku = X509_get_key_usage(cert);
  if (ku == UINT32_MAX) return out;  // no keyUsage extension
  for (const auto& [bit, name] : kBits) {
    if (ku & bit) out.emplace_back(name);
  }
  return out;
}

CertInfo describe(X509* cert) {
  CertInfo c;
  c.subject = name_text(X509_get_subject_name(cert));
  c.issuer = name_text(X509_get_issuer_name(cert));
  ossl::BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (serial) {
    ossl::OpensslStringPtr hex(BN_bn2hex(serial.get()));
    if (hex) c.serial = hex.get();
  }
  c.not_before = iso_time(X509_get0_notBefore(cert), nullptr);
  c.not_after = iso_time(X509_get0_notAfter(cert), &c.not_after_time);
  // Whole days left, rounded down (-1 from the first second after expiry).
  const long long left = static_cast<long long>(c.not_after_time) - std::time(nullptr);
  c.days_to_expiry = static_cast<long>(left >= 0 ? left / 86400 : -((-left + 86399) / 86400));
  c.key_usage = key_usage_names(cert);
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert)) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    c.pem.assign(data, static_cast<size_t>(len));
  }
  return c;
}

std::vector<uint8_t> der_of_name(const X509_NAME* name) {
  unsigned char* der = nullptr;
  int len = i2d_X509_NAME(name, &der);
  ossl::OpensslBytesPtr owned(der);
  std::vector<uint8_t> out;
  if (len > 0) out.assign(der, der + len);
  return out;
}

}  // namespace

Result<CertInfo> describe_certificate(std::string_view cert_bytes) {
  auto cert = parse_certificate(cert_bytes);
  if (!cert.ok()) return cert.error();
  return describe(cert->get());
}

Result<CertInfo> TokenSession::import_certificate(const Pkcs11Uri& key_uri, std::string_view cert_bytes, bool replace) {
  const Pkcs11Api& api = module_->api();
  auto cert = parse_certificate(cert_bytes);
  if (!cert.ok()) return cert.error();
  auto h = p11::find_private_key(api, session_, key_uri);
  if (!h.ok()) return h.error();
  auto key = p11::describe_key(api, session_, *h, token_);
  if (!key.ok()) return key.error();
  std::string uri = p11::object_uri(token_, key->label, key->id, "cert");
  auto token_pub = p11::public_key(api, session_, key->id, *h);
  if (!token_pub.ok()) return token_pub.error();
  EVP_PKEY* cert_pub = X509_get0_pubkey(cert->get());
  if (!cert_pub || EVP_PKEY_eq(cert_pub, token_pub->get()) != 1) {
    EDX_TRY(audit("cert.import", uri, "failed", "cert.key_mismatch"));
    return make_error(ErrorKind::invalid, "cert.key_mismatch",
                      "the certificate's public key does not match the key " + key->uri);
  }
  static const CK_OBJECT_CLASS cert_cls = CKO_CERTIFICATE;
  Pkcs11Uri by_id;
  by_id.id = key->id;
  auto existing = p11::find(api, session_, p11::object_template(&cert_cls, by_id), 16);
  if (!existing.ok()) return existing.error();
  if (!existing->empty() && !replace) {
    return make_error(ErrorKind::conflict, "cert.exists",
                      "the key already has a certificate; pass --replace to swap it");
  }
  unsigned char* der = nullptr;
  int der_len = i2d_X509(cert->get(), &der);
  ossl::OpensslBytesPtr der_owned(der);
  if (der_len <= 0) return make_error(ErrorKind::internal, "cert.parse", "cannot encode the certificate");
  std::vector<uint8_t> value(der, der + der_len);
  std::vector<uint8_t> subject = der_of_name(X509_get_subject_name(cert->get()));
  std::vector<uint8_t> issuer = der_of_name(X509_get_issuer_name(cert->get()));
  unsigned char* serial_der = nullptr;
  int serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert->get()), &serial_der);
  ossl::OpensslBytesPtr serial_owned(serial_der);
  std::vector<uint8_t> serial(serial_der, serial_der + std::max(serial_len, 0));

  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE ctype = CKC_X_509;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  std::vector<CK_ATTRIBUTE> tmpl = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_CERTIFICATE_TYPE, &ctype, sizeof ctype},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &no, sizeof no},
      {CKA_ID, key->id.data(), key->id.size()},
      {CKA_LABEL, key->label.data(), key->label.size()},
      {CKA_SUBJECT, subject.data(), subject.size()},
      {CKA_ISSUER, issuer.data(), issuer.size()},
      {CKA_SERIAL_NUMBER, serial.data(), serial.size()},
      {CKA_VALUE, value.data(), value.size()},
  };
  CK_OBJECT_HANDLE created = CK_INVALID_HANDLE;
  CK_RV rv = api->C_CreateObject(session_, tmpl.data(), tmpl.size(), &created);
  if (rv != CKR_OK) {
    Error e = p11::ckr_error(rv, "storing the certificate");
    (void)audit("cert.import", uri, "failed", e.code);
    return e;
  }
  for (CK_OBJECT_HANDLE old : *existing) api->C_DestroyObject(session_, old);
  CertInfo info = describe(cert->get());
  info.label = key->label;
  info.id = key->id;
  info.has_private_key = true;
  info.uri = uri;
  EDX_TRY(audit("cert.import", uri, "ok", "serial " + info.serial + " subject " + info.subject));
  return info;
}

Result<std::vector<CertInfo>> TokenSession::certificates() {
  const Pkcs11Api& api = module_->api();
  static const CK_OBJECT_CLASS cert_cls = CKO_CERTIFICATE;
  static const CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY;
  auto found = p11::find(api, session_, p11::object_template(&cert_cls, Pkcs11Uri{}));
  if (!found.ok()) return found.error();
  std::vector<CertInfo> out;
  for (CK_OBJECT_HANDLE h : *found) {
    auto value = p11::get_bytes(api, session_, h, CKA_VALUE);
    if (!value.ok()) continue;
    auto cert = parse_certificate(std::string_view(reinterpret_cast<const char*>(value->data()), value->size()));
    if (!cert.ok()) continue;  // not X.509: not ours to describe
    CertInfo c = describe(cert->get());
    auto label = p11::get_bytes(api, session_, h, CKA_LABEL);
    if (label.ok()) c.label.assign(label->begin(), label->end());
    auto id = p11::get_bytes(api, session_, h, CKA_ID);
    if (id.ok()) c.id = std::move(id.value());
    c.uri = p11::object_uri(token_, c.label, c.id, "cert");
    Pkcs11Uri by_id;
    by_id.id = c.id;
    auto keys = p11::find(api, session_, p11::object_template(&priv_cls, by_id), 1);
    c.has_private_key = !c.id.empty() && keys.ok() && !keys->empty();
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace edxgate::hsm
