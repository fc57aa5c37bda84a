// The console and the API routes it needs, in process: a real store and
// engine (software keys of the crypto test PKI, no axis), the real Router
// with the API and console routes, called as each role would be by the
// server. The browser drives the same pages over TLS in
// console_browser_test.cc.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "../../gateway/src/console_page.h"
#include "../../gateway/src/console_text.h"
#include "../support/temp_dir.h"
#include "../support/workflow_doubles.h"
#include "edxgate/base/digest.h"
#include "edxgate/base/json.h"
#include "edxgate/gateway/api.h"
#include "edxgate/gateway/console.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"

namespace edxgate::gateway {
namespace {

namespace bj = json::bj;
using config::Role;
using crypto::test::Pki;
using test::TempDir;
using workflow::Engine;
using workflow::EngineOptions;
using workflow::IncomingDelivery;
using workflow::Submission;

constexpr const char* kUs = "000.00.00.G06";
constexpr const char* kThem = "000.00.00.G07";
const std::string kScript = "<script>alert(1)</script>";
const std::string kBreakout = "\"><img src=x onerror=alert(2)>";

Caller caller(const std::string& name, std::optional<Role> role) {
  Caller c;
  c.name = name;
  c.role = role;
  if (role == Role::system) c.organ_ids = {kUs};
  if (role) c.fingerprint = "sha256:" + std::string(64, 'a');
  return c;
}

class ConsoleTest : public ::testing::Test {
 protected:
  ConsoleTest() {
    std::filesystem::create_directories(dir / "spool");
    store::StoreOptions so;
    so.state_dir = dir / "state";
    auto s = store::open_store(so);
    if (!s.ok()) throw std::runtime_error(s.error().message);
    db = std::move(*s);
    crypto::VerifyPolicy policy;
    policy.chain.revocation = crypto::RevocationMode::hard;
    auto verifier = std::make_shared<crypto::Verifier>(Pki::get().trust(true), policy);
    EngineOptions eo;
    eo.organ_id = kUs;
    eo.organ_name = "Bộ Thử nghiệm";
    eo.work_dir = dir / "work";
    engine = std::make_unique<Engine>(eo, *db, verifier, &keys, nullptr, metrics);
    readiness.add("store", [] { return Status{}; });
    readiness.add("axis", [] {
      return Status(make_error(ErrorKind::unavailable, "ready.axis", "the last axis call failed (test)"));
    });
    std::vector<WatchedCertificate> certs{{"signing", "pkcs11:object=sign", Pki::get().cert("good")},
                                          {"trust_anchor", "root.pem", Pki::get().cert("root")},
                                          {"intermediate", "expired.pem", Pki::get().cert("expired")}};
    summary = std::make_shared<OperatorSummary>(*db, &readiness, certs);
    add_api_routes(router, *engine, *db, ApiOptions{dir / "spool", 1 << 20, {}, 7, ""}, summary);
    add_console_routes(router);
  }

  // What the server does with a request: match (roles), then the handler.
  Response call(const Caller& c, const std::string& method, const std::string& target, const std::string& body = "",
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    Request req;
    req.method = method;
    req.target = target;
    const size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    for (const auto& [k, v] : headers) req.headers.add(k, v);
    if (!body.empty()) {
      EXPECT_TRUE(req.body.append(body.data(), body.size(), 1 << 20, dir / "spool").ok());
    }
    req.body.finish();
    RouteMatch m = router.match(method, req.path, c);
    if (m.status != 0) return Response::problem(m.status, "http.denied", "denied by the route table");
    return m.route->handler(req, c, m.params);
  }
  bj::value json_of(const Response& r) {
    auto v = json::parse(r.body, 64);
    return v.ok() ? *v : bj::value();
  }

  // Submits an outgoing document as our system; returns its id.
  std::string submit(const std::string& subject, const std::string& attachment = "Nội dung công văn") {
    bj::object message{{"from", bj::object{{"organ_id", kUs}, {"organ_name", "Bộ Thử nghiệm"}}},
                       {"to", bj::array{bj::object{{"organ_id", kThem}, {"organ_name", "Bộ Nhận"}}}},
                       {"code", std::to_string(++count) + "/BTN-VP"},
                       {"promulgation_date", "2026/11/23"},
                       {"subject", subject}};
    Submission s;
    s.header = bj::object{{"message", std::move(message)}};
    const std::string file = dir / ("upload-" + std::to_string(count));
    std::ofstream(file, std::ios::binary) << attachment;
    s.files = {file};
    s.names = {"Phụ lục " + std::to_string(count) + ".txt"};
    s.submitter = "eoffice";
    s.allowed_senders = {kUs};
    auto r = engine->submit(std::move(s));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::to_string(r->id) : "";
  }
  // Delivers, as the axis would, an envelope shaped as the public SDKs write
  // one (default and prefixed namespace, header fields in their order, the
  // attachment's children in the order seen in real files) but with no
  // signature: it is kept in quarantine (sig.*). `subject_xml` is XML text.
  // (Two real-file variants, DocumentId right after the last To and the
  // axis' TraceHeader with only a Timestamp, are left out: the reader refuses
  // them today, and this test is about what the console shows.)
  std::string deliver_unsigned(const std::string& subject_xml) {
    const std::string n = std::to_string(++count);
    const std::string xml =
        R"(<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
<edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>
<edXML:From><edXML:OrganId>)" +
        std::string(kThem) + R"(</edXML:OrganId><edXML:OrganName>Bộ Nhận</edXML:OrganName></edXML:From>
<edXML:To><edXML:OrganId>)" +
        std::string(kUs) + R"(</edXML:OrganId><edXML:OrganName>Bộ Thử nghiệm</edXML:OrganName></edXML:To>
<edXML:Code><edXML:CodeNumber>)" +
        n + R"(</edXML:CodeNumber><edXML:CodeNotation>BN-VP</edXML:CodeNotation></edXML:Code>
<edXML:PromulgationInfo><edXML:Place>Hà Nội</edXML:Place><edXML:PromulgationDate>2026/11/23</edXML:PromulgationDate></edXML:PromulgationInfo>
<edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>
<edXML:Subject>)" +
        subject_xml + R"(</edXML:Subject>
<edXML:Content>Nội dung</edXML:Content>
<edXML:DocumentId>)" +
        std::string(kThem) + ",2026/11/23," + n + R"(/BN-VP</edXML:DocumentId>
</edXML:MessageHeader>
<edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>)" +
        std::string(kThem) +
        R"(</edXML:OrganId><edXML:Timestamp>2026/11/23 09:00:00</edXML:Timestamp></edXML:TraceHeader>
</edXML:TraceHeaderList>
</edXML:edXMLHeader>
<edXML:edXMLBody><edXML:edXMLManifest version="1.0"><edXML:Reference><edXML:ContentId>cid:1</edXML:ContentId>
<edXML:AttachmentName>cv.txt</edXML:AttachmentName><edXML:ContentType>text/plain</edXML:ContentType></edXML:Reference></edXML:edXMLManifest></edXML:edXMLBody>
</edXML:edXMLEnvelope>
<edXML:AttachmentEncoded><edXML:Attachment><edXML:ContentType>text/plain</edXML:ContentType><edXML:ContentId>1</edXML:ContentId>
<edXML:ContentTransferEncoded>Q8O0bmcgdsSDbg==</edXML:ContentTransferEncoded><edXML:AttachmentName>cv.txt</edXML:AttachmentName></edXML:Attachment></edXML:AttachmentEncoded>
</edXML>
)";
    const std::string file = dir / ("delivery-" + std::to_string(count));
    std::ofstream(file, std::ios::binary) << xml;
    IncomingDelivery d;
    d.file = file;
    d.size = xml.size();
    d.from = kThem;
    d.message_type = "edoc";
    auto r = engine->accept(d);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::to_string(r->document) : "";
  }
  std::string sign(const std::string& id, const std::string& pin = "1234") {
    Response r = call(leader, "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":")" + pin + "\"}");
    return std::to_string(r.status) + " " +
           (r.status == 200 ? std::string(json_of(r).as_object().at("state").as_string()) : r.body);
  }

  TempDir dir;
  test::SoftwareKeys keys{"good", false};
  MetricsRegistry metrics;
  Readiness readiness;
  std::unique_ptr<store::Store> db;
  std::unique_ptr<Engine> engine;
  std::shared_ptr<OperatorSummary> summary;
  Router router;
  int count = 0;
  const Caller officer = caller("officer-1", Role::officer);
  const Caller leader = caller("leader-1", Role::leader);
  const Caller system = caller("eoffice", Role::system);
  const Caller axis = caller("axis", Role::axis);
  const Caller anonymous = caller("", std::nullopt);
};

TEST_F(ConsoleTest, PagesAndAssetsAreForOfficersAndLeadersOnly) {
  const std::string out = submit("V/v kế hoạch công tác năm 2027");
  const std::string in = deliver_unsigned("Văn bản chưa ký");
  const std::vector<std::string> everyone = {"/console",
                                             "/console/",
                                             "/console/outgoing/" + out,
                                             "/console/assets/console.js",
                                             "/console/assets/console.css",
                                             "/console/assets/icon.svg"};
  const std::vector<std::string> officers_only = {"/console/outgoing", "/console/incoming", "/console/incoming/" + in,
                                                  "/console/reports", "/console/reports?kind=outgoing"};
  for (const auto& path : everyone) {
    EXPECT_EQ(call(officer, "GET", path).status, path == "/console" ? 308u : 200u) << path;
    EXPECT_EQ(call(leader, "GET", path).status, path == "/console" ? 308u : 200u) << path;
  }
  for (const auto& path : officers_only) {
    EXPECT_EQ(call(officer, "GET", path).status, 200u) << path;
    EXPECT_EQ(call(leader, "GET", path).status, 403u) << path;
  }
  for (const auto& path : everyone) {
    for (const Caller* c : {&system, &axis, &anonymous}) {
      EXPECT_EQ(call(*c, "GET", path).status, 403u) << c->name << " " << path;
    }
  }
  for (const auto& path : officers_only) {
    for (const Caller* c : {&system, &axis, &anonymous}) EXPECT_EQ(call(*c, "GET", path).status, 403u) << path;
  }
  EXPECT_EQ(call(officer, "GET", "/console/assets/nope.js").status, 404u);
  EXPECT_EQ(call(officer, "GET", "/console/outgoing/99999").status, 404u);
  EXPECT_EQ(call(officer, "GET", "/console/outgoing/x1").status, 404u);
  EXPECT_EQ(call(officer, "GET", "/console").headers.get("Location").value_or(""), "/console/");
}

TEST_F(ConsoleTest, EveryPageCarriesTheStrictHeadersAndNoInlineCode) {
  const std::string out = submit("V/v tổng kết năm");
  const std::string in = deliver_unsigned("Văn bản đến");
  for (const auto& [who, path] :
       std::vector<std::pair<const Caller*, std::string>>{{&officer, "/console/"},
                                                          {&officer, "/console/outgoing"},
                                                          {&officer, "/console/incoming?state=quarantined"},
                                                          {&officer, "/console/outgoing/" + out},
                                                          {&officer, "/console/incoming/" + in},
                                                          {&officer, "/console/reports"},
                                                          {&officer, "/console/reports?kind=outgoing"},
                                                          {&leader, "/console/"},
                                                          {&leader, "/console/outgoing/" + out},
                                                          {&officer, "/console/outgoing/424242"}}) {
    Response r = call(*who, "GET", path);
    SCOPED_TRACE(path);
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(r.headers.get("Content-Security-Policy").value_or(""), kConsoleCsp);
    EXPECT_EQ(r.headers.get("X-Frame-Options").value_or(""), "DENY");
    EXPECT_EQ(r.headers.get("Referrer-Policy").value_or(""), "no-referrer");
    EXPECT_EQ(r.body.rfind("<!DOCTYPE html>", 0), 0u);
    // The CSP allows no inline code: the pages must hold none.
    EXPECT_FALSE(std::regex_search(r.body, std::regex(R"(<script(?![^>]*\ssrc=))"))) << r.body;
    EXPECT_FALSE(std::regex_search(r.body, std::regex(R"(<[^>]*\s(on[a-z]+|style)=)"))) << r.body;
    EXPECT_EQ(r.body.find("<style"), std::string::npos);
    EXPECT_EQ(r.body.find("javascript:"), std::string::npos);
    EXPECT_TRUE(console::is_nfc(r.body));
  }
  Response js = call(leader, "GET", "/console/assets/console.js");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js.body.find("/sign"), std::string::npos);
  EXPECT_EQ(js.headers.get("Content-Security-Policy").value_or(""), kConsoleCsp);
  EXPECT_EQ(call(officer, "GET", "/console/assets/console.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(call(officer, "GET", "/console/assets/icon.svg").content_type, "image/svg+xml");
  // Our own script never builds markup from text.
  EXPECT_EQ(js.body.find("innerHTML"), std::string::npos);
}

TEST_F(ConsoleTest, HostileTextFromOutsideIsRenderedAsText) {
  const std::string a = submit(kScript);
  const std::string b = submit(kBreakout);
  const std::string q = deliver_unsigned("&lt;img src=x onerror=alert(3)&gt;&amp;\"quoted\"");
  ASSERT_EQ(db->get_document(std::stoll(q))->state, store::State::quarantined);
  const std::vector<std::pair<const Caller*, std::string>> pages = {{&officer, "/console/"},
                                                                    {&officer, "/console/outgoing"},
                                                                    {&officer, "/console/incoming"},
                                                                    {&officer, "/console/outgoing/" + a},
                                                                    {&officer, "/console/outgoing/" + b},
                                                                    {&officer, "/console/incoming/" + q},
                                                                    {&leader, "/console/"},
                                                                    {&leader, "/console/outgoing/" + a}};
  for (const auto& [who, path] : pages) {
    Response r = call(*who, "GET", path);
    SCOPED_TRACE(path);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.body.find("<script>alert"), std::string::npos);
    EXPECT_EQ(r.body.find("<img src=x"), std::string::npos);
    EXPECT_EQ(r.body.find("\"><img src=x"), std::string::npos);
  }
  EXPECT_NE(call(officer, "GET", "/console/outgoing/" + a).body.find("&lt;script&gt;alert(1)&lt;/script&gt;"),
            std::string::npos);
  EXPECT_NE(call(leader, "GET", "/console/").body.find("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
            std::string::npos);
  EXPECT_NE(call(officer, "GET", "/console/").body.find("&lt;img src=x onerror=alert(3)&gt;&amp;&quot;quoted&quot;"),
            std::string::npos);
}

TEST_F(ConsoleTest, TheReportsPageShowsTheReportAsATableAndABarChart) {
  store::NewDocument nd;
  nd.direction = store::Direction::incoming;
  nd.state = store::State::verified;
  nd.sender = "000.00.00.H41";
  nd.recipients = {kUs};
  nd.envelope_id = "000.00.00.H41,2026/11/02,9/UBND-VP";
  nd.subject = "Văn bản cần xử lý";
  nd.due_date = "2001-01-01";  // long past: overdue
  nd.actor = "axis";
  auto in = db->create_document(nd);
  ASSERT_TRUE(in.ok()) << in.error().message;
  store::TrackingUpdate u;
  u.unit = "Phòng <b>Tổng hợp</b>";
  ASSERT_TRUE(db->update_tracking(in->id, u).ok());
  Response r = call(officer, "GET", "/console/reports?kind=incoming&from=2000-01-01&to=2100-12-31");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("<svg id=\"report-chart\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<rect x=\"220\""), std::string::npos) << r.body;  // a segment of the first bar
  EXPECT_NE(r.body.find("data-key=\"Phòng &lt;b&gt;Tổng hợp&lt;/b&gt;\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("<b>Tổng hợp"), std::string::npos);
  EXPECT_NE(r.body.find("data-count=\"overdue\">1</td>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("Báo cáo văn bản đến"), std::string::npos);
  EXPECT_NE(r.body.find("value=\"2000-01-01\""), std::string::npos);
  // The API's answer to a bad period, on the page.
  Response bad = call(officer, "GET", "/console/reports?from=2026-11-30&to=2026-11-01");
  EXPECT_EQ(bad.status, 422u);
  EXPECT_NE(bad.body.find("id=\"error\""), std::string::npos);
  Response odd = call(officer, "GET", "/console/reports?from=%3Cx%3E");
  EXPECT_EQ(odd.status, 400u);
  Response out = call(officer, "GET", "/console/reports?kind=outgoing");
  ASSERT_EQ(out.status, 200u);
  EXPECT_NE(out.body.find("Báo cáo văn bản đi"), std::string::npos);
  EXPECT_NE(out.body.find("id=\"report-empty\""), std::string::npos);
}

TEST(ConsoleText, EscapesMarkupRepairsUtf8AndNormalisesToNfc) {
  EXPECT_EQ(console::escape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(console::escape(std::string("a\xff"
                                        "b\xc3",
                                        4)),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(console::escape(std::string("x\x01y\x7fz\ttab\nnl\r", 14)), "xyz\ttab\nnl");
  // "Nguyễn" written decomposed (e + circumflex + tilde) comes out precomposed.
  console::Html h;
  h.raw("<p>").text("Nguye\xCC\x82\xCC\x83n").raw("</p>");
  EXPECT_FALSE(console::is_nfc(h.str()));
  EXPECT_EQ(h.finish(), "<p>Nguy\xE1\xBB\x85n</p>");
  EXPECT_TRUE(console::is_nfc(h.finish()));
  EXPECT_EQ(console::state_label("pending_signature"), "Chờ ký số");
  EXPECT_EQ(console::state_label("failed"), "Gửi thất bại");  // issue 13: refused by the axis
  EXPECT_TRUE(console::is_nfc(console::state_label("quarantined")));
}

// The console's query values (the list filters, the paging cursor): decoded
// as a form would send them; a key without '=' is skipped, not taken as "".
TEST(ConsoleQuery, ValuesAreDecodedAndAKeyWithoutAValueIsSkipped) {
  EXPECT_EQ(console::query_value("state=pending_signature&cursor=a%2Bb+c", "cursor"), "a+b c");
  EXPECT_EQ(console::query_value("state=queued", "cursor"), "");
  EXPECT_EQ(console::query_value("states=x&state=queued", "state"), "queued");
  EXPECT_EQ(console::query_value("state&state=signed", "state"), "signed");
  EXPECT_EQ(console::query_value("state", "state"), "");
  EXPECT_EQ(console::query_value("state=a&state=b", "state"), "a");
  EXPECT_EQ(console::query_value("state=100%", "state"), "100%");
}

TEST_F(ConsoleTest, TheOutgoingListFiltersByStateAndLeadersSeeOnlyWhatAwaitsThem) {
  const std::string first = submit("V/v thứ nhất");
  const std::string second = submit("V/v thứ hai", "Tệp của văn bản thứ hai");
  ASSERT_EQ(sign(first), "200 queued");
  auto ids = [&](const Response& r) {
    std::vector<std::string> out;
    const bj::value v = json_of(r);
    for (const auto& d : v.at("documents").as_array()) out.emplace_back(d.at("id").as_string());
    return out;
  };
  EXPECT_EQ(ids(call(officer, "GET", "/v1/outgoing")), (std::vector<std::string>{second, first}));
  EXPECT_EQ(ids(call(officer, "GET", "/v1/outgoing?state=queued")), std::vector<std::string>{first});
  EXPECT_EQ(ids(call(officer, "GET", "/v1/outgoing?limit=1")), std::vector<std::string>{second});
  EXPECT_EQ(json_of(call(officer, "GET", "/v1/outgoing?limit=1")).at("next_cursor").as_string(), second);
  EXPECT_EQ(ids(call(officer, "GET", "/v1/outgoing?limit=1&cursor=" + second)), std::vector<std::string>{first});
  EXPECT_EQ(call(officer, "GET", "/v1/outgoing?state=verified").status, 400u);  // an incoming state
  // Leaders: only what awaits a signature, listed or read.
  EXPECT_EQ(ids(call(leader, "GET", "/v1/outgoing")), std::vector<std::string>{second});
  EXPECT_EQ(ids(call(leader, "GET", "/v1/outgoing?state=pending_signature")), std::vector<std::string>{second});
  EXPECT_EQ(call(leader, "GET", "/v1/outgoing?state=queued").status, 403u);
  EXPECT_EQ(call(leader, "GET", "/v1/outgoing/" + first).status, 404u);
  EXPECT_EQ(call(leader, "GET", "/v1/outgoing/" + second).status, 200u);
  EXPECT_EQ(call(leader, "GET", "/v1/outgoing/" + first + "/attachments/0").status, 404u);
  EXPECT_EQ(call(leader, "GET", "/console/outgoing/" + first).status, 404u);
  // Signing twice still says why (409), not "no such document".
  EXPECT_EQ(sign(first).substr(0, 3), "409");
  // Systems list nothing here (they read their own documents one by one).
  EXPECT_EQ(call(system, "GET", "/v1/outgoing").status, 403u);
  EXPECT_EQ(call(axis, "GET", "/v1/outgoing").status, 403u);
}

TEST_F(ConsoleTest, OutgoingAttachmentsAreServedWithTheirHash) {
  const std::string id = submit("V/v tệp đính kèm", "Nội dung tệp đính kèm: 1234567890");
  for (const Caller* c : {&leader, &officer, &system}) {
    Response r = call(*c, "GET", "/v1/outgoing/" + id + "/attachments/0");
    ASSERT_EQ(r.status, 200u) << c->name << r.body;
    ASSERT_FALSE(r.body_file.empty());
    std::ifstream f(r.body_file, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(ss.str(), "Nội dung tệp đính kèm: 1234567890");
    EXPECT_EQ(r.headers.get("X-Edxgate-SHA256").value_or(""), sha256_hex("Nội dung tệp đính kèm: 1234567890"));
    EXPECT_NE(r.headers.get("Content-Disposition").value_or("").find("filename*=UTF-8''Ph%E1%BB%A5"),
              std::string::npos);
  }
  EXPECT_EQ(call(officer, "GET", "/v1/outgoing/" + id + "/attachments/1").status, 404u);
  EXPECT_EQ(call(axis, "GET", "/v1/outgoing/" + id + "/attachments/0").status, 403u);
  // The leader's page shows every file with its SHA-256 and a link to it.
  Response page = call(leader, "GET", "/console/");
  EXPECT_NE(page.body.find(sha256_hex("Nội dung tệp đính kèm: 1234567890")), std::string::npos);
  EXPECT_NE(page.body.find("href=\"/v1/outgoing/" + id + "/attachments/0\""), std::string::npos);
  EXPECT_NE(page.body.find("<form class=\"sign\" data-id=\"" + id + "\""), std::string::npos);
  EXPECT_NE(page.body.find("autocomplete=\"off\""), std::string::npos);
  // The PIN field has no name: without the script nothing would carry it.
  EXPECT_FALSE(std::regex_search(page.body, std::regex(R"(<input[^>]*name=)")));
}

TEST_F(ConsoleTest, TheSummaryReportsQueuesQuarantineChecksCertificatesAndTheAuditChain) {
  const std::string a = submit("V/v một");
  submit("V/v hai");
  ASSERT_EQ(sign(a), "200 queued");
  const std::string q = deliver_unsigned("Văn bản giả mạo");
  EXPECT_EQ(call(leader, "GET", "/v1/summary").status, 403u);
  EXPECT_EQ(call(system, "GET", "/v1/summary").status, 403u);
  Response r = call(officer, "GET", "/v1/summary");
  ASSERT_EQ(r.status, 200u) << r.body;
  const bj::value s = json_of(r);
  EXPECT_EQ(s.at("documents").at("outgoing").at("pending_signature").to_number<int64_t>(), 1);
  EXPECT_EQ(s.at("documents").at("outgoing").at("queued").to_number<int64_t>(), 1);
  EXPECT_EQ(s.at("documents").at("incoming").at("quarantined").to_number<int64_t>(), 1);
  // No axis here: the signed document and the refusal (02) of the
  // quarantined one wait in the outbox, oldest first.
  EXPECT_EQ(s.at("outbox").at("pending").to_number<int64_t>(), 2);
  EXPECT_FALSE(s.at("outbox").at("oldest_created").as_string().empty());
  ASSERT_EQ(s.at("outbox").at("items").as_array().size(), 2u);
  EXPECT_EQ(s.at("outbox").at("items").at(0).at("document_id").as_string(), a);
  EXPECT_EQ(s.at("outbox").at("items").at(0).at("kind").as_string(), "edoc");
  EXPECT_EQ(s.at("outbox").at("items").at(1).at("document_id").as_string(), q);
  EXPECT_EQ(s.at("outbox").at("items").at(1).at("kind").as_string(), "status");
  // The quarantined document with its reason code.
  const auto& quarantined = s.at("quarantined").as_array();
  ASSERT_EQ(quarantined.size(), 1u);
  EXPECT_EQ(quarantined[0].at("id").as_string(), q);
  const std::string code(quarantined[0].at("reason_code").as_string());
  EXPECT_EQ(code.rfind("sig.", 0), 0u) << code;
  EXPECT_EQ(db->get_document(std::stoll(q))->signer_summary.find("quarantined: " + code + ": "), 0u);
  // The readiness checks, the failing one named.
  EXPECT_FALSE(s.at("checks").at("ready").as_bool());
  EXPECT_TRUE(s.at("checks").at("checks").at("store").at("ok").as_bool());
  EXPECT_EQ(s.at("checks").at("checks").at("axis").at("error").as_string(), "ready.axis");
  // Certificates, soonest expiry first; an expired one has negative days.
  const auto& certs = s.at("certificates").as_array();
  ASSERT_EQ(certs.size(), 3u);
  EXPECT_EQ(certs[0].at("role").as_string(), "intermediate");
  EXPECT_LT(certs[0].at("days_to_expiry").to_number<int64_t>(), 0);
  const time_t good_end = Pki::get().cert("good").not_after();
  for (const auto& c : certs) {
    if (c.at("role").as_string() != "signing") continue;
    EXPECT_EQ(c.at("days_to_expiry").to_number<int64_t>(), static_cast<int64_t>((good_end - ::time(nullptr)) / 86400));
  }
  // The audit chain: sound, with its last rows newest first.
  const auto& chain = s.at("audit").at("chain");
  EXPECT_TRUE(chain.at("ok").as_bool());
  const auto& recent = s.at("audit").at("recent").as_array();
  ASSERT_FALSE(recent.empty());
  EXPECT_LE(recent.size(), OperatorSummary::kAuditRows);
  EXPECT_EQ(recent[0].at("seq").to_number<int64_t>(), chain.at("rows").to_number<int64_t>());
  for (size_t i = 1; i < recent.size(); ++i)
    EXPECT_EQ(recent[i].at("seq").to_number<int64_t>(), recent[i - 1].at("seq").to_number<int64_t>() - 1);

  // The dashboard shows the same.
  Response page = call(officer, "GET", "/console/");
  EXPECT_NE(page.body.find("<code class=\"reason-code\">" + code + "</code>"), std::string::npos);
  EXPECT_NE(page.body.find("data-check=\"axis\""), std::string::npos);
  EXPECT_NE(page.body.find("Đã hết hạn"), std::string::npos);
  EXPECT_NE(page.body.find("data-ok=\"true\""), std::string::npos);

  // An altered audit row is reported once the chain is walked again.
  const std::string sql = "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = 'altered' WHERE seq = 2;";
  ASSERT_EQ(std::system(("sqlite3 '" + (dir / "state") + "/edxgate.db' \"" + sql + "\"").c_str()), 0);
  // Within the minute the last walk stands...
  EXPECT_TRUE(json_of(call(officer, "GET", "/v1/summary")).at("audit").at("chain").at("ok").as_bool());
  // ...a walk now finds the row.
  OperatorSummary fresh(*db, &readiness, {}, std::chrono::seconds(0));
  auto now = fresh.build();
  ASSERT_TRUE(now.ok()) << now.error().message;
  EXPECT_FALSE(now->at("audit").at("chain").at("ok").as_bool());
  EXPECT_EQ(now->at("audit").at("chain").at("first_bad_seq").to_number<int64_t>(), 2);
  EXPECT_FALSE(now->at("audit").at("recent").as_array().empty());
}

TEST_F(ConsoleTest, APostABrowserSendsForAnotherSitesPageIsRefused) {
  const std::string id = submit("V/v thử chống giả mạo yêu cầu");
  const std::string path = "/v1/outgoing/" + id + "/sign";
  const std::string body = R"({"pin":"1234"})";
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"Origin", "https://evil.example"}, {"Host", "127.0.0.1:8443"}},
           {{"Origin", "null"}, {"Host", "127.0.0.1:8443"}},
           {{"Sec-Fetch-Site", "cross-site"}},
           {{"Sec-Fetch-Site", "same-site"}, {"Origin", "https://127.0.0.1:8443"}, {"Host", "127.0.0.1:8443"}}}) {
    Response r = call(leader, "POST", path, body, headers);
    EXPECT_EQ(r.status, 403u);
    EXPECT_NE(r.body.find("api.cross_site"), std::string::npos) << r.body;
  }
  EXPECT_EQ(db->get_document(std::stoll(id))->state, store::State::pending_signature);
  // The console's own fetch (same origin) and curl (no such headers) act.
  Response wrong =
      call(leader, "POST", path, R"({"pin":"0000"})",
           {{"Origin", "https://127.0.0.1:8443"}, {"Host", "127.0.0.1:8443"}, {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_EQ(wrong.status, 403u);
  EXPECT_NE(wrong.body.find("pin.incorrect"), std::string::npos) << wrong.body;
  EXPECT_EQ(call(leader, "POST", path, body).status, 200u);
  // Reading is not refused (a page of another site cannot read the answer).
  EXPECT_EQ(call(officer, "GET", "/v1/outgoing/" + id, "", {{"Sec-Fetch-Site", "cross-site"}}).status, 200u);
}

}  // namespace
}  // namespace edxgate::gateway
