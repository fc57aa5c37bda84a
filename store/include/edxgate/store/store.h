// store: the durable SQLite store (placeholder until the store issue lands).
#pragma once
