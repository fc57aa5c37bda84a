// libpq loaded on first use (issue 15: a lean daemon). libpq drags in
// Kerberos, LDAP, SASL and GnuTLS (whose constructor runs at load): about
// 3 MB of resident memory in a daemon whose store is SQLite and that never
// talks to PostgreSQL. The store is therefore not linked against libpq:
// libpq_lazy.cc defines the libpq functions the PostgreSQL engine calls
// (pg.cc), each forwarding to libpq.so.5 opened with dlopen the first time.
// A libpq function newly used in store/src must get its forwarder there
// (the link fails with an undefined PQ... symbol until it has one).
#pragma once

#include "edxgate/base/result.h"

namespace edxgate::store {

// Loads libpq.so.5 once per process (later calls answer the first result).
// The PostgreSQL engine calls it before any libpq function, so that a
// missing library is an error value (store.libpq), not an abort.
Status load_libpq();

}  // namespace edxgate::store
