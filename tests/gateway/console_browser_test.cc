// The console in a real browser: headless Chromium (cdp_browser.h) with the
// client certificate of one caller each, against edxgated of the end-to-end
// world (e2e_support.h: the axis simulator and two gateways on loopback, real
// TLS, SoftHSM2 tokens). At ministry A:
//   - a leader sees the documents awaiting a signature with their files and
//     SHA-256, downloads one, signs one with the PIN typed into the page (the
//     document reaches queued; the field is empty afterwards), and a wrong PIN
//     is refused on the page;
//   - an officer loads the dashboard (states, outbox, checks, certificates,
//     audit chain), which agrees with GET /v1/summary, and opens documents;
//   - a system's certificate gets 403 for the pages and the assets;
//   - at ministry B, which received the signed document, a copy with its
//     subject changed (injected at the axis with A's credentials) is shown to
//     B's officer among the quarantined documents with its reason code;
//   - subjects written to break out of the markup are shown as text, and no
//     page triggers a Content-Security-Policy violation.
// Screenshots are kept in <build>/test-artifacts/console/.
#include <gtest/gtest.h>

#include "cdp_browser.h"
#include "e2e_support.h"
#include "edxgate/gateway/axis.h"
#include "edxgate/gateway/console.h"
#include "edxgate/gateway/vdxp.h"

namespace edxgate::e2e {
namespace {

using testing::Browser;

const std::string kPlain = "V/v triển khai chữ ký số trong công tác văn thư năm 2027";
const std::string kScript = "<script>window.__pwned = 1</script>V/v thử nghiệm";
const std::string kBreakout = "\"><img src=x onerror=\"window.__pwned = 2\">Báo cáo quý IV";
// Written (escaped) into the Subject of a signed envelope: markup-looking text.
const std::string kForged = "V/v triển khai <b class=\"forged\">khẩn</b> chữ ký số";

std::string js_string(const std::string& s) { return bj::serialize(bj::value(s)); }

class ConsoleBrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!Browser::available()) {
      setup_error_ = "chromium or certutil is missing: run scripts/install-deps";
      return;
    }
    try {
      world_ = new World();
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(world_, nullptr) << setup_error_; }
  void TearDown() override {
    if (HasFailure() && world_) {
      const std::string log = world_->a().proc.log();
      std::printf("---- edxgated A log (tail) ----\n%s\n",
                  log.substr(log.size() > 6000 ? log.size() - 6000 : 0).c_str());
    }
  }

  World& w() { return *world_; }
  std::string origin() { return "https://127.0.0.1:" + std::to_string(w().a().internal_port); }
  std::string artifacts() { return std::string(EDXGATE_BINARY_DIR) + "/test-artifacts/console"; }

  std::unique_ptr<Browser> browser(const std::string& who, const Gateway* g = nullptr) {
    if (!g) g = &w().a();
    Browser::Options o;
    static int n = 0;
    o.dir = w().path("browser-" + who + "-" + std::to_string(++n));
    o.origin = "https://127.0.0.1:" + std::to_string(g->internal_port);
    o.ca_pem = w().tls().cert("ca");
    o.client_cert = w().tls().cert(who);
    o.client_key = w().tls().key(who);
    o.issuer_cn = "Test Root";
    return std::make_unique<Browser>(o);
  }

  // Submits a document as A's system with one attachment; returns its id.
  std::string submit(const std::string& code, const std::string& subject, const std::string& file) {
    Form f = make_form(w().path("form-" + code.substr(0, 2)), metadata_json(code, subject), {{"Tờ trình.txt", file}});
    Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
    EXPECT_EQ(r.status, 202u) << r.error << r.body;
    return str(r.json(), "id");
  }

  // The page's CSP violations so far (none expected anywhere).
  static std::string violations(Browser& b) { return b.eval_string("JSON.stringify(window.__csp || ['no listener'])"); }

  void leader_signs(const std::string& id, const std::string& wrong_id, const std::string& file);
  void officer_reads(const std::string& signed_id, const std::string& hostile_id);
  void system_is_refused(const std::string& id);
  void quarantine_at_b(const std::string& id);

  static World* world_;
  static std::string setup_error_;
};

World* ConsoleBrowser::world_ = nullptr;
std::string ConsoleBrowser::setup_error_;

void ConsoleBrowser::leader_signs(const std::string& id, const std::string& wrong_id, const std::string& file) {
  auto b = browser("leader-a");
  std::printf("browser: %s\n", b->version().c_str());
  ASSERT_EQ(b->navigate(origin() + "/console/"), 200u) << b->log();
  ASSERT_TRUE(b->wait_for("document.querySelector('main#page[data-page=signing]')"));
  EXPECT_EQ(b->header("content-security-policy"), gateway::kConsoleCsp);
  EXPECT_EQ(b->header("x-frame-options"), "DENY");
  EXPECT_EQ(b->header("cache-control"), "no-store");
  const std::string card = "document.querySelector('article.to-sign[data-id=\"" + id + "\"]')";
  ASSERT_TRUE(b->wait_for(card)) << b->eval_string("document.body.innerText");
  // The files with their SHA-256, and the download gives those bytes.
  const std::string sha = sha256_hex_of_file(file);
  EXPECT_EQ(b->eval_string(card + ".querySelector('code.sha256').textContent"), sha);
  EXPECT_EQ(b->eval_string(card + ".querySelector('a.download').textContent"), "Tờ trình.txt");
  EXPECT_EQ(b->eval_string("fetch(" + card +
                           ".querySelector('a.download').href)"
                           ".then(r => r.arrayBuffer()).then(b => crypto.subtle.digest('SHA-256', b))"
                           ".then(h => Array.from(new Uint8Array(h), x => x.toString(16).padStart(2, '0')).join(''))"),
            sha);
  EXPECT_EQ(b->eval_string(card + ".querySelector('input[type=password]').autocomplete"), "off");

  // A wrong PIN: refused on the page, the field emptied, nothing signed.
  const std::string other = "document.querySelector('form.sign[data-id=\"" + wrong_id + "\"]')";
  b->eval(other + ".querySelector('input').focus()");
  b->type("9999");
  b->eval(other + ".querySelector('button').click()");
  ASSERT_TRUE(b->wait_for(other + ".querySelector('output').textContent.startsWith('Không ký được')"))
      << b->eval_string(other + ".querySelector('output').textContent");
  EXPECT_EQ(b->eval_string(other + ".querySelector('input').value"), "");
  EXPECT_EQ(str(w().call(w().a(), "officer-a", "GET", "/v1/outgoing/" + wrong_id).json(), "state"),
            "pending_signature");

  // The right PIN, typed as a person would.
  const std::string form = "document.querySelector('form.sign[data-id=\"" + id + "\"]')";
  b->eval(form + ".querySelector('input').focus()");
  b->type(kPin);
  EXPECT_EQ(b->eval_string(form + ".querySelector('input').value.length"), "4");
  b->eval(form + ".querySelector('button').click()");
  ASSERT_TRUE(b->wait_for(form + ".dataset.state === 'queued'", std::chrono::seconds(120)))
      << b->eval_string(form + ".querySelector('output').textContent");
  EXPECT_EQ(b->eval_string(form + ".querySelector('input').value"), "");
  EXPECT_EQ(b->eval_string(form + ".querySelector('output').textContent"), "Đã ký số. Trạng thái: Chờ gửi");
  b->screenshot(artifacts() + "/leader-signed.png");
  EXPECT_EQ(violations(*b), "[]");

  // The gateway agrees: signed by the leader, queued (and on its way).
  const bj::value doc = w().call(w().a(), "officer-a", "GET", "/v1/outgoing/" + id).json();
  std::vector<std::string> states;
  std::string signer;
  for (const auto& h : doc.at("history").as_array()) {
    states.emplace_back(h.at("state").as_string());
    if (states.back() == "queued") signer = std::string(h.at("by").as_string());
  }
  EXPECT_NE(std::find(states.begin(), states.end(), "queued"), states.end()) << bj::serialize(doc);
  EXPECT_EQ(signer, "leader-a");
  // A leader reads only what awaits a signature: the signed one is gone.
  EXPECT_EQ(b->navigate(origin() + "/console/outgoing/" + id), 404u);
  EXPECT_EQ(b->navigate(origin() + "/console/incoming"), 403u);
}

void ConsoleBrowser::officer_reads(const std::string& signed_id, const std::string& hostile_id) {
  auto b = browser("officer-a");
  ASSERT_EQ(b->navigate(origin() + "/console/"), 200u) << b->log();
  ASSERT_TRUE(b->wait_for("document.querySelector('main#page[data-page=dashboard] #audit')"));
  EXPECT_EQ(b->header("content-security-policy"), gateway::kConsoleCsp);
  EXPECT_EQ(b->header("cache-control"), "no-store");
  EXPECT_EQ(b->eval_string("document.documentElement.lang"), "vi");
  EXPECT_EQ(b->eval_string("document.querySelector('h1').textContent"), "Tổng quan");
  // The dashboard shows what GET /v1/summary says.
  const bj::value s = w().call(w().a(), "officer-a", "GET", "/v1/summary").json();
  ASSERT_TRUE(s.is_object());
  for (const auto& [state, n] : s.at("documents").at("outgoing").as_object()) {
    EXPECT_EQ(b->eval_string("document.querySelector('table[data-direction=outgoing] td.n[data-state=" +
                             std::string(state) + "]').textContent"),
              std::to_string(n.to_number<int64_t>()))
        << state;
  }
  for (const char* check : {"state_dir", "store", "token"}) {
    EXPECT_EQ(b->eval_string(std::string("document.querySelector('#checks li[data-check=") + check + "]').className"),
              "ok")
        << check;
  }
  EXPECT_TRUE(b->eval("!!document.querySelector('#checks li[data-check=axis]')").as_bool());
  const std::string days =
      b->eval_string("document.querySelector('#certificates tr[data-role=signing] td.days').dataset.days");
  EXPECT_GT(std::stoi(days), 25);  // the test CA issues for 30 days
  EXPECT_TRUE(b->eval("!!document.querySelector('#certificates tr[data-role=trust_anchor]')").as_bool());
  EXPECT_EQ(b->eval_string("document.querySelector('#audit p.chain').dataset.ok"), "true");
  EXPECT_GT(b->eval("document.querySelectorAll('#audit tbody tr').length").to_number<int64_t>(), 0);
  EXPECT_EQ(violations(*b), "[]");
  b->screenshot(artifacts() + "/dashboard.png");

  // The reports page, from the navigation: the table says what
  // GET /v1/reports/outgoing says, and the chart draws it.
  b->forget_events();
  b->eval("document.querySelector('header nav a[href=\"/console/reports\"]').click()");
  ASSERT_EQ(b->wait_for_load(), 200u);
  ASSERT_TRUE(b->wait_for("document.querySelector('main#page[data-page=reports]')"));
  EXPECT_EQ(b->eval_string("document.querySelector('h1').textContent"), "Báo cáo văn bản đến");
  b->forget_events();
  b->eval("document.querySelector('nav.tabs a[href*=\"kind=outgoing\"]').click()");
  ASSERT_EQ(b->wait_for_load(), 200u);
  ASSERT_TRUE(b->wait_for("document.querySelector('#report-table')"));
  EXPECT_EQ(b->eval_string("document.querySelector('h1').textContent"), "Báo cáo văn bản đi");
  const bj::value rep = w().call(w().a(), "officer-a", "GET", "/v1/reports/outgoing").json();
  ASSERT_TRUE(rep.is_object());
  EXPECT_EQ(b->eval_string("document.querySelector('#report-table tfoot td[data-count=sent]').textContent"),
            std::to_string(rep.at("total").at("sent").to_number<int64_t>()));
  EXPECT_GT(b->eval("document.querySelectorAll('#report-chart g.bar rect').length").to_number<int64_t>(), 0);
  EXPECT_GT(b->eval("document.querySelector('#report-chart').getBoundingClientRect().width").to_number<double>(), 100);
  EXPECT_EQ(violations(*b), "[]");
  b->screenshot(artifacts() + "/reports.png");

  // From the list to a document, by a click.
  ASSERT_EQ(b->navigate(origin() + "/console/outgoing"), 200u);
  const std::string link =
      "[...document.querySelectorAll('a.subject')].find(a => a.closest('tr').dataset.id === " + js_string(signed_id) +
      ")";
  ASSERT_TRUE(b->wait_for(link));
  b->forget_events();
  b->eval(link + ".click()");
  ASSERT_EQ(b->wait_for_load(), 200u);
  ASSERT_TRUE(b->wait_for("document.querySelector('article.document[data-id=" + js_string(signed_id) + "]')"));
  EXPECT_EQ(b->eval_string("document.querySelector('h1').textContent"), kPlain);
  EXPECT_TRUE(b->eval("[...document.querySelectorAll('#history span.state')].some(s => s.dataset.state === 'queued')")
                  .as_bool());
  EXPECT_FALSE(b->eval("!!document.querySelector('form.sign')").as_bool());  // officers do not sign here
  b->screenshot(artifacts() + "/document.png");

  // A hostile subject, as text.
  ASSERT_EQ(b->navigate(origin() + "/console/outgoing/" + hostile_id), 200u);
  EXPECT_EQ(b->eval_string("document.querySelector('h1').textContent"), kBreakout);
  EXPECT_EQ(b->eval_string("document.title"), kBreakout + " · edxgate");
  EXPECT_EQ(b->eval("document.querySelectorAll('img[src=x], main img').length").to_number<int64_t>(), 0);
  EXPECT_EQ(b->eval_string("String(window.__pwned)"), "undefined");
  EXPECT_EQ(violations(*b), "[]");
}

void ConsoleBrowser::system_is_refused(const std::string& id) {
  auto b = browser("sys-a");
  const std::vector<std::string> paths = {"/console/", "/console/outgoing/" + id, "/console/assets/console.js",
                                          "/console/assets/console.css", "/console/assets/icon.svg"};
  for (const std::string& path : paths) {
    EXPECT_EQ(b->navigate(origin() + path), 403u) << path;
    EXPECT_NE(b->eval_string("document.body.innerText").find("Forbidden"), std::string::npos) << path;
  }
  // The same certificate still reaches the API routes it is allowed.
  EXPECT_EQ(b->navigate(origin() + "/v1/outgoing/" + id), 200u);
}

void ConsoleBrowser::quarantine_at_b(const std::string& id) {
  const std::string document_id =
      str(w().call(w().a(), "officer-a", "GET", "/v1/outgoing/" + id).json(), "document_id");
  ASSERT_FALSE(document_id.empty());
  auto at_b = [&] {
    std::vector<bj::value> out;
    bj::value v = w().call(w().b(), "officer-b", "GET", "/v1/incoming?limit=100").json();
    if (!v.is_object()) return out;
    for (const auto& d : v.at("documents").as_array())
      if (str(d, "document_id") == document_id) out.push_back(d);
    return out;
  };
  ASSERT_TRUE(wait_until([&] { return at_b().size() == 1; }, std::chrono::seconds(90)));
  const std::string genuine = str(at_b()[0], "id");
  const std::string env_file = w().path("genuine.xml");
  ASSERT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + genuine + "/envelope", "", "", "", env_file).status,
            200u);
  std::string xml = read_text(env_file);
  const auto at = xml.find(kPlain);
  ASSERT_NE(at, std::string::npos);
  std::string escaped;
  for (char c : kForged) escaped += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  xml.replace(at, kPlain.size(), escaped);
  write_text(w().path("forged.xml"), xml);
  gateway::VdxpOptions vo;
  vo.endpoint = w().sim_url();
  vo.organ_id = kOrganA;
  vo.system_id = "SYS-A";
  std::string secret = read_text(w().a().dir + "/axis.secret");
  while (!secret.empty() && secret.back() == '\n') secret.pop_back();
  vo.secret = std::make_shared<SecretString>(secret);
  vo.client.ca_file = w().tls().cert("ca");
  vo.spool_dir = w().dir();
  auto axis = gateway::make_vdxp_transport(vo);
  ASSERT_TRUE(axis.ok()) << axis.error().message;
  ASSERT_TRUE((*axis)->send_envelope(w().path("forged.xml"), {kOrganB}, gateway::AxisMessageType::edoc).ok());
  ASSERT_TRUE(wait_until([&] { return at_b().size() == 2; }, std::chrono::seconds(90)));
  std::string forged;
  for (const auto& d : at_b())
    if (str(d, "id") != genuine) forged = str(d, "id");

  auto b = browser("officer-b", &w().b());
  const std::string origin_b = "https://127.0.0.1:" + std::to_string(w().b().internal_port);
  ASSERT_EQ(b->navigate(origin_b + "/console/"), 200u);
  const std::string row = "document.querySelector('#quarantine tr[data-id=\"" + forged + "\"]')";
  ASSERT_TRUE(b->wait_for(row)) << b->eval_string("document.body.innerText");
  EXPECT_EQ(b->eval_string(row + ".querySelector('code.reason-code').textContent"), "sig.digest");
  EXPECT_EQ(b->eval_string(row + ".querySelector('a.subject').textContent"), kForged);
  EXPECT_EQ(b->eval_string(
                "document.querySelector('table[data-direction=incoming] td.n[data-state=quarantined]').textContent"),
            "1");
  EXPECT_EQ(b->eval("document.querySelectorAll('main b.forged').length").to_number<int64_t>(), 0);
  EXPECT_EQ(violations(*b), "[]");
  b->screenshot(artifacts() + "/dashboard-b.png");
  // The README's picture (docs/console-dashboard.png): down to the certificates.
  b->screenshot(artifacts() + "/dashboard-b-top.png",
                static_cast<int>(b->eval("document.querySelector('#certificates').getBoundingClientRect().bottom + "
                                         "window.scrollY + 16")
                                     .to_number<double>()));
  // Its page: the reason in full, the history.
  b->forget_events();
  b->eval(row + ".querySelector('a.subject').click()");
  ASSERT_EQ(b->wait_for_load(), 200u);
  ASSERT_TRUE(b->wait_for("document.querySelector('article.document[data-state=quarantined]')"));
  EXPECT_EQ(b->eval_string("document.querySelector('h1').textContent"), kForged);
  EXPECT_NE(b->eval_string("document.querySelector('dd.signer').textContent").find("sig.digest"), std::string::npos);
  b->screenshot(artifacts() + "/quarantined.png");
}

TEST_F(ConsoleBrowser, OfficersAndLeadersUseTheConsoleSystemsAreRefused) {
  const std::string f1 = w().path("to-trinh-1.txt"), f2 = w().path("to-trinh-2.txt"), f3 = w().path("to-trinh-3.txt");
  write_text(f1, "Kính gửi: Bộ Nhận. Nội dung tờ trình về chữ ký số.\n");
  write_text(f2, "Tệp thử nghiệm 2\n");
  write_text(f3, "Tệp thử nghiệm 3\n");
  const std::string plain = submit("31/BA-VP", kPlain, f1);
  const std::string script = submit("32/BA-VP", kScript, f2);
  const std::string breakout = submit("33/BA-VP", kBreakout, f3);
  ASSERT_FALSE(plain.empty() || script.empty() || breakout.empty());
  {
    SCOPED_TRACE("leader");
    leader_signs(plain, script, f1);
    // The hostile subjects on the leader's page, as text.
    auto b = browser("leader-a");
    ASSERT_EQ(b->navigate(origin() + "/console/"), 200u);
    const bj::value subjects =
        b->eval("[...document.querySelectorAll('article.to-sign h2 a.subject')].map(a => a.textContent)");
    std::vector<std::string> got;
    for (const auto& v : subjects.as_array()) got.emplace_back(v.as_string());
    EXPECT_NE(std::find(got.begin(), got.end(), kScript), got.end()) << bj::serialize(subjects);
    EXPECT_NE(std::find(got.begin(), got.end(), kBreakout), got.end()) << bj::serialize(subjects);
    EXPECT_EQ(std::find(got.begin(), got.end(), kPlain), got.end());  // signed: no longer awaiting
    EXPECT_EQ(b->eval("document.scripts.length").to_number<int64_t>(), 1);
    EXPECT_EQ(b->eval("document.querySelectorAll('img[src=x]').length").to_number<int64_t>(), 0);
    EXPECT_EQ(b->eval_string("String(window.__pwned)"), "undefined");
    EXPECT_EQ(violations(*b), "[]");
    b->screenshot(artifacts() + "/leader.png");
  }
  {
    SCOPED_TRACE("officer");
    officer_reads(plain, breakout);
  }
  {
    SCOPED_TRACE("system");
    system_is_refused(plain);
  }
  {
    SCOPED_TRACE("quarantine at B");
    quarantine_at_b(plain);
  }
}

}  // namespace
}  // namespace edxgate::e2e
