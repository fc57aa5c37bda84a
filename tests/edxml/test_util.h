// Helpers shared by the edxml tests: temp directories, files, a full sample.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "edxgate/edxml/model.h"

namespace edxgate::edxml::testing {

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = std::filesystem::temp_directory_path() /
            ("edxml-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string make_sub(const std::string& name) const {
    std::filesystem::create_directories(path_ / name);
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string fixture(const std::string& name) {
  return read_text(std::string(EDXML_TEST_DIR) + "/fixtures/" + name);
}

inline Organization org(const std::string& id, const std::string& name) {
  Organization o;
  o.organ_id = id;
  o.organization_in_charge = name;
  o.organ_name = name;
  o.organ_add = "Số 54 Hai Bà Trưng, Hoàn Kiếm, Hà Nội";
  o.email = "vanthu@moit.gov.vn";
  o.telephone = "024 2220 2222";
  o.fax = "024 2220 2525";
  o.website = "https://moit.gov.vn";
  return o;
}

// A document envelope with every field set; attachments are added by tests.
inline Envelope full_message() {
  Envelope env;
  MessageHeader& m = env.message.emplace();
  m.from = org("000.00.00.G06", "Bộ Công Thương");
  m.to = {org("000.00.00.H41", "Ủy ban nhân dân tỉnh Nghệ An"), org("000.00.00.G22", "Văn phòng Chính phủ"),
          org("000.00.00.H29", "Ủy ban nhân dân thành phố Hà Nội")};
  m.code = DocumentCode{"251", "TMĐT-TTTH"};
  m.promulgation_place = "Hà Nội";
  m.promulgation_date = Date{2024, 3, 15};
  m.type = "1";
  m.type_detail = "0";
  m.type_name = "Công văn";
  m.subject = "V/v triển khai thương mại điện tử & chuyển đổi số <năm 2024>";
  m.content = "Kính gửi: các đơn vị.\nĐề nghị các đơn vị thực hiện \"đúng hạn\".";
  m.signer_competence = "KT. BỘ TRƯỞNG";
  m.signer_position = "Thứ trưởng";
  m.signer_full_name = "Nguyễn Văn Đức";
  m.due_date = Date{2024, 4, 1};
  m.to_places = {"Như trên", "Lưu: VT, TMĐT"};
  m.priority = "1";
  m.sphere_of_promulgation = "Liên thông văn bản quốc gia";
  m.typer_notation = "NVĐ";
  m.promulgation_amount = "10";
  m.page_amount = "3";
  m.appendixes = {"Phụ lục I: Danh sách", "Phụ lục II: Biểu mẫu"};
  m.steering_type = "0";
  m.document_id = "000.00.00.G06,2024/03/15,251/TMĐT-TTTH";
  m.response_for = ResponseFor{"000.00.00.H41", "12/UBND-KT", Date{2024, 2, 1}, "000.00.00.H41,2024/02/01,12/UBND-KT"};
  env.trace.traces = {{"000.00.00.G06", DateTime{Date{2024, 3, 15}, 8, 30, 5}}};
  Business& b = env.trace.business.emplace();
  b.doc_type = BusinessDocType::replacement;
  b.reason = "Thay thế văn bản số 250/TMĐT-TTTH";
  b.document_id = "000.00.00.G06,2024/03/10,250/TMĐT-TTTH";
  b.document_info = "Văn bản thay thế";
  b.document_receiver = "Các đơn vị nhận";
  b.replacements = {{"000.00.00.G06,2024/03/10,250/TMĐT-TTTH", {"000.00.00.H41", "000.00.00.G22"}}};
  b.paper = true;
  b.staff = StaffInfo{"Vụ Thương mại điện tử", "Trần Thị Hoa", "0912345678", "hoatt@moit.gov.vn"};
  return env;
}

}  // namespace edxgate::edxml::testing
