#include "edxgate/edxml/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dom_reader.h"
#include "hardened_parser.h"

namespace edxgate::edxml {
namespace {

bool is_dir(const std::string& path, struct stat& st) { return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode); }

fs::Durability durability(const ReadOptions& options) {
  return options.sync_attachments ? fs::Durability::synced : fs::Durability::unsynced;
}

Status check_dir(const ReadOptions& options) {
  struct stat att {
  }, unz{};
  if (!options.attachment_dir.empty() && !is_dir(options.attachment_dir, att)) {
    return make_error(ErrorKind::io, "io.write",
                      "The attachment directory " + options.attachment_dir + " does not exist.");
  }
  if (options.unzip_dir.empty()) return {};
  if (options.attachment_dir.empty()) {
    return make_error(ErrorKind::usage, "usage.unzip_dir", "Unzipping attachments needs an attachment directory.");
  }
  // A directory not there yet is made when the first zipped attachment needs it.
  if (!is_dir(options.unzip_dir, unz)) return {};
  if (unz.st_dev == att.st_dev && unz.st_ino == att.st_ino) {
    return make_error(ErrorKind::usage, "usage.unzip_dir",
                      "The unzip directory must not be the attachment directory: "
                      "the bytes as received are kept beside the unzipped file.");
  }
  return {};
}

// Streams `feed_all` through the hardened parser with attachment content
// going to `files`, then maps the DOM.
template <class FeedAll>
Result<StreamedEnvelope> stream(const ReadOptions& options, FeedAll&& feed_all) {
  EDX_TRY(check_dir(options));
  detail::AttachmentFiles files(options.attachment_dir, options.limits, options.reserved_names, durability(options),
                                options.temp_names);
  detail::HardenedParser parser(options.limits, &files, options.observer);
  EDX_TRY(feed_all(parser));
  auto doc = parser.finish();
  if (!doc.ok()) return doc.error();
  detail::DomReader reader(options, files);
  auto env = reader.read(doc->get());
  if (!env.ok()) return env.error();
  return StreamedEnvelope{std::move(env.value()), std::move(doc.value())};
}

}  // namespace

Result<StreamedEnvelope> read_envelope_file_with_doc(const std::string& path, const ReadOptions& options) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return make_error(ErrorKind::io, "io.read", "Cannot open " + path + ": " + std::strerror(errno) + ".");
  }
  return stream(options, [&](detail::HardenedParser& parser) -> Status {
    std::string buf(256 * 1024, '\0');
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return make_error(ErrorKind::io, "io.read", "Cannot read " + path + ": " + std::strerror(errno) + ".");
      }
      if (n == 0) return {};
      EDX_TRY(parser.feed({buf.data(), static_cast<size_t>(n)}));
    }
  });
}

Result<Envelope> read_envelope_file(const std::string& path, const ReadOptions& options) {
  auto r = read_envelope_file_with_doc(path, options);
  if (!r.ok()) return r.error();
  return std::move(r->envelope);
}

Result<StreamedEnvelope> read_envelope_with_doc(std::string_view bytes, const ReadOptions& options) {
  return stream(options, [&](detail::HardenedParser& parser) { return parser.feed(bytes); });
}

Result<Envelope> read_envelope(std::string_view bytes, const ReadOptions& options) {
  auto r = read_envelope_with_doc(bytes, options);
  if (!r.ok()) return r.error();
  return std::move(r->envelope);
}

Result<Envelope> envelope_from_doc(const xmlDoc* doc, const ReadOptions& options) {
  EDX_TRY(check_dir(options));
  detail::AttachmentFiles files(options.attachment_dir, options.limits, options.reserved_names, durability(options),
                                options.temp_names);
  detail::DomReader reader(options, files);
  return reader.read(doc);
}

}  // namespace edxgate::edxml
