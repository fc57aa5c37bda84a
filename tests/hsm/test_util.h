// Helpers shared by the hsm tests: files, OpenSSL CLI cross-checks, a test CA.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "edxgate/base/audit.h"
#include "edxgate/base/secret.h"
#include "softhsm_fixture.h"

namespace edxgate::hsm::test {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

inline void spit(const std::string& path, const std::vector<uint8_t>& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// A self-signed test CA in <dir>/ca.key, <dir>/ca.pem (made with the openssl CLI).
inline void make_test_ca(const testing::SoftHsmToken& t) {
  std::string out;
  int rc = t.run(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 "
      "-subj '/C=VN/O=Test CA/CN=Test Root' -keyout " +
          t.dir() + "/ca.key -out " + t.dir() + "/ca.pem",
      &out);
  ASSERT_EQ(rc, 0) << out;
}

// Issues a certificate for the CSR at `csr_path` into `cert_path`, valid `days`.
inline void issue(const testing::SoftHsmToken& t, const std::string& csr_path, const std::string& cert_path,
                  int days = 365) {
  std::string ext = t.dir() + "/ext.cnf";
  spit(ext, std::string("keyUsage=critical,digitalSignature,nonRepudiation\n"));
  std::string out;
  int rc =
      t.run("openssl x509 -req -in " + csr_path + " -CA " + t.dir() + "/ca.pem -CAkey " + t.dir() +
                "/ca.key -CAcreateserial -days " + std::to_string(days) + " -extfile " + ext + " -out " + cert_path,
            &out);
  ASSERT_EQ(rc, 0) << out;
}

inline SecretString pin_of(const testing::SoftHsmToken& t) { return SecretString(t.pin()); }

}  // namespace edxgate::hsm::test
