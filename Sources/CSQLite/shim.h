// CSQLite: the SQLite C API for Swift. Re-exports what Swift cannot import from <sqlite3.h>:
// SQLITE_TRANSIENT / SQLITE_STATIC are casts of integers to function pointers.
#ifndef EDGEAGENT_CSQLITE_SHIM_H
#define EDGEAGENT_CSQLITE_SHIM_H

#include <sqlite3.h>

/// Tells sqlite3_bind_text/blob to copy the buffer before returning.
static inline sqlite3_destructor_type CSQLite_TRANSIENT(void) { return SQLITE_TRANSIENT; }
/// Tells sqlite3_bind_text/blob that the buffer outlives the statement's use of it.
static inline sqlite3_destructor_type CSQLite_STATIC(void) { return SQLITE_STATIC; }

/// Extended result codes are `#define`d as expressions; these are their values for Swift.
static const int CSQLite_IOERR_ACCESS = SQLITE_IOERR_ACCESS;
static const int CSQLite_IOERR_WRITE = SQLITE_IOERR_WRITE;
static const int CSQLite_IOERR_FSYNC = SQLITE_IOERR_FSYNC;
static const int CSQLite_READONLY_DBMOVED = SQLITE_READONLY_DBMOVED;

#endif
