// Plain HTTP message values (http.h) and the route table (router.h).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "edxgate/gateway/http.h"
#include "edxgate/gateway/router.h"

namespace edxgate::gateway {

unsigned http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid:
      return 422;
    case ErrorKind::malformed:
    case ErrorKind::usage:
      return 400;
    case ErrorKind::not_found:
      return 404;
    case ErrorKind::conflict:
      return 409;
    case ErrorKind::too_large:
      return 413;
    case ErrorKind::unauthorized:
      return 401;
    case ErrorKind::forbidden:
      return 403;
    case ErrorKind::unavailable:
      return 503;
    case ErrorKind::io:
    case ErrorKind::internal:
      return 500;
  }
  return 500;
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool match_pattern(std::string_view pattern, std::string_view path, PathParams& params) {
  auto ps = segments(pattern);
  auto xs = segments(path);
  if (ps.size() != xs.size()) return false;
  if ((pattern.size() > 1 && pattern.back() == '/') != (path.size() > 1 && path.back() == '/')) return false;
  PathParams got;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].size() > 2 && ps[i].front() == '{' && ps[i].back() == '}') {
      got[std::string(ps[i].substr(1, ps[i].size() - 2))] = std::string(xs[i]);
    } else if (ps[i] != xs[i]) {
      return false;
    }
  }
  params = std::move(got);
  return true;
}

bool allowed(const Access& a, const Caller& c) {
  if (a.anonymous) return true;
  if (!c.role) return false;
  return std::find(a.roles.begin(), a.roles.end(), *c.role) != a.roles.end();
}

}  // namespace

std::optional<std::string> Headers::get(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [k, v] : fields_) {
    if (!iequals(k, name)) continue;
    if (out) return std::nullopt;
    out = v;
  }
  return out;
}

size_t Headers::count(std::string_view name) const {
  return static_cast<size_t>(
      std::count_if(fields_.begin(), fields_.end(), [&](const auto& f) { return iequals(f.first, name); }));
}

Body::~Body() { reset(); }

Body::Body(Body&& o) noexcept : memory_(std::move(o.memory_)), path_(std::move(o.path_)), fd_(o.fd_), size_(o.size_) {
  o.fd_ = -1;
  o.path_.clear();
  o.size_ = 0;
}

Body& Body::operator=(Body&& o) noexcept {
  if (this != &o) {
    reset();
    memory_ = std::move(o.memory_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    size_ = o.size_;
    o.fd_ = -1;
    o.path_.clear();
    o.size_ = 0;
  }
  return *this;
}

void Body::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  memory_.clear();
  size_ = 0;
}

Status Body::append(const char* data, size_t n, uint64_t memory_limit, const std::string& spool_dir) {
  if (path_.empty() && memory_.size() + n <= memory_limit) {
    memory_.append(data, n);
    size_ += n;
    return {};
  }
  auto write_all = [&](const char* p, size_t len) -> Status {
    while (len > 0) {
      ssize_t w = ::write(fd_, p, len);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return make_error(ErrorKind::io, "io.spool", "cannot write a request body to the spool directory");
      p += w;
      len -= static_cast<size_t>(w);
    }
    return {};
  };
  if (path_.empty()) {
    std::string tmpl = spool_dir + "/body-XXXXXX";
    int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return make_error(ErrorKind::io, "io.spool", "cannot create a spool file for a request body");
    fd_ = fd;
    path_ = tmpl;
    EDX_TRY(write_all(memory_.data(), memory_.size()));
    memory_.clear();
    memory_.shrink_to_fit();
  }
  EDX_TRY(write_all(data, n));
  size_ += n;
  return {};
}

void Body::finish() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Result<std::string> Body::read_all(uint64_t max_bytes) const {
  if (size_ > max_bytes)
    return make_error(ErrorKind::too_large, "http.too_large", "the request body is larger than this route accepts");
  if (path_.empty()) return memory_;
  std::string out;
  out.resize(size_);
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorKind::io, "io.spool", "cannot reopen a spooled request body");
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::read(fd, out.data() + got, out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  if (got != out.size()) return make_error(ErrorKind::io, "io.spool", "a spooled request body was cut short");
  return out;
}

std::string Body::take_file() {
  finish();
  std::string p = std::move(path_);
  path_.clear();
  return p;
}

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

Response Response::json(unsigned status, const json::bj::value& v) {
  Response r;
  r.status = status;
  r.body = json::bj::serialize(v);
  r.body += '\n';
  return r;
}

Response Response::text(unsigned status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::problem(unsigned status, std::string_view code, std::string_view detail) {
  json::bj::object o;
  o["type"] = "urn:edxgate:problem:" + std::string(code);
  o["title"] = std::string(reason_phrase(status));
  o["status"] = status;
  o["detail"] = std::string(detail);
  Response r = json(status, o);
  r.content_type = "application/problem+json";
  return r;
}

Router& Router::add(Route route) {
  routes_.push_back(std::move(route));
  return *this;
}

RouteMatch Router::match(std::string_view method, std::string_view path, const Caller& caller) const {
  RouteMatch m;
  m.label = "unmatched";
  bool path_known = false;
  for (const auto& r : routes_) {
    PathParams params;
    if (!match_pattern(r.pattern, path, params)) continue;
    path_known = true;
    m.label = r.pattern;
    if (r.method != method) continue;
    if (!allowed(r.access, caller)) {
      m.status = 403;
      return m;
    }
    m.route = &r;
    m.params = std::move(params);
    m.status = 0;
    return m;
  }
  // Without a role nothing is revealed about which paths exist.
  if (!caller.role && !path_known) {
    m.status = 403;
    return m;
  }
  if (!caller.role) {
    m.status = 403;
    return m;
  }
  m.status = path_known ? 405 : 404;
  return m;
}

}  // namespace edxgate::gateway
