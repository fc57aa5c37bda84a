// The agency directory in the daemon: a background refresher (at start and
// every [axis] directory_refresh_h) and the routes GET /v1/agencies (search)
// and POST /v1/agencies/sync (fetch now). See workflow/directory.h.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "edxgate/gateway/router.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/directory.h"

namespace edxgate::gateway {

// Synchronises the directory from the axis on demand and, once started, at
// start and then every `refresh` (0 = only at start). One sync at a time:
// a sync asked for while one runs waits for it. Thread-safe.
class DirectorySync {
 public:
  DirectorySync(workflow::AxisTransport* axis, store::Store& store, workflow::AxisDirectoryLimits limits,
                std::chrono::hours refresh);
  ~DirectorySync();
  DirectorySync(const DirectorySync&) = delete;
  DirectorySync& operator=(const DirectorySync&) = delete;

  // Fetches and stores the directory now; axis.unsupported when the gateway
  // has no axis.
  Result<uint64_t> sync_now(const std::string& actor);
  void start();
  void stop();

 private:
  void loop();

  workflow::AxisTransport* axis_;  // not owned; may be null (no axis configured)
  store::Store& store_;
  workflow::AxisDirectoryLimits limits_;
  std::chrono::hours refresh_;
  std::mutex sync_mu_;  // one sync at a time
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread worker_;
};

// GET /v1/agencies?q=&limit= (system, officer, leader) and
// POST /v1/agencies/sync (officer). `sync` must outlive the router.
void add_directory_routes(Router& router, store::Store& store, const std::shared_ptr<DirectorySync>& sync);

}  // namespace edxgate::gateway
