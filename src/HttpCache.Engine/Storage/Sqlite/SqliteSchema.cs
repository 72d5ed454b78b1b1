namespace HttpCache.Engine.Storage.Sqlite;

/// <summary>
/// The tables of a cache file and their version (<c>PRAGMA user_version</c>), so a later release can
/// migrate a file this one wrote. Times are UTC ticks: exact, and compared as plain integers.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>The schema this code reads and writes.</summary>
    public const int Version = 7;

    // The blobs come last: SQLite walks a row's columns in order, so a listing that stops before them
    // never touches their overflow pages.
    private const string CreateVersion1 = """
        CREATE TABLE IF NOT EXISTS entries (
            key              TEXT    NOT NULL PRIMARY KEY,
            primary_key      TEXT    NOT NULL,
            method           TEXT    NOT NULL,
            uri              TEXT    NOT NULL,
            status           INTEGER NOT NULL,
            created_at       INTEGER NOT NULL,
            expires_at       INTEGER,
            keep_until       INTEGER,
            size             INTEGER NOT NULL,
            hit_count        INTEGER NOT NULL DEFAULT 0,
            last_accessed_at INTEGER,
            metadata         BLOB    NOT NULL,
            body             BLOB    NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_entries_primary_key ON entries (primary_key);
        CREATE INDEX IF NOT EXISTS ix_entries_expires_at ON entries (expires_at);
        CREATE INDEX IF NOT EXISTS ix_entries_created_at ON entries (created_at, key);
        CREATE TABLE IF NOT EXISTS counters (
            name  TEXT    NOT NULL PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        PRAGMA user_version = 1;
        """;

    // Version 2, for StoreLimits: a running total kept by triggers in the writing transaction itself (so it is
    // exact for every writer, limited or not, in any process), the least-recently-used order as an index
    // (evictions read it from the oldest end), and keep_until indexed for the periodic purge. The partial
    // index costs nothing on the many entries without a kept-until time. Writers upsert rather than
    // INSERT OR REPLACE: a REPLACE deletes without firing delete triggers unless recursive_triggers is on.
    private const string MigrateVersion1To2 = """
        CREATE TABLE IF NOT EXISTS totals (
            id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            entries INTEGER NOT NULL,
            bytes   INTEGER NOT NULL
        );
        INSERT OR REPLACE INTO totals (id, entries, bytes) SELECT 1, COUNT(*), COALESCE(SUM(size), 0) FROM entries;
        CREATE TRIGGER IF NOT EXISTS tr_entries_insert AFTER INSERT ON entries BEGIN
            UPDATE totals SET entries = entries + 1, bytes = bytes + new.size WHERE id = 1;
        END;
        CREATE TRIGGER IF NOT EXISTS tr_entries_delete AFTER DELETE ON entries BEGIN
            UPDATE totals SET entries = entries - 1, bytes = bytes - old.size WHERE id = 1;
        END;
        CREATE TRIGGER IF NOT EXISTS tr_entries_size AFTER UPDATE OF size ON entries BEGIN
            UPDATE totals SET bytes = bytes - old.size + new.size WHERE id = 1;
        END;
        CREATE INDEX IF NOT EXISTS ix_entries_lru ON entries (COALESCE(last_accessed_at, created_at), key);
        CREATE INDEX IF NOT EXISTS ix_entries_keep_until ON entries (keep_until) WHERE keep_until IS NOT NULL;
        PRAGMA user_version = 2;
        """;

    // Version 3, for bodies streamed in and out (IStreamingCacheStore): a body too large for one blob (SQLite's
    // limit is 1e9 bytes) or of unknown length is stored as numbered chunks of a write id, written in short
    // transactions while it arrives and invisible until the commit points an entry row at that write id.
    //  - pending_writes: one row per write in progress, so a write abandoned by a crash can be told apart from one
    //    still running (its owner is named, its start time kept) and its chunks deleted. AUTOINCREMENT: a write
    //    id is never reused, so an entry's chunks can never mix with a later write's.
    //  - body_chunks: a rowid table (chunks of 1 MiB overflow into their own pages; a WITHOUT ROWID table is
    //    for small rows), read with incremental blob I/O by rowid.
    //  - entries gains body_streamed and write_id. ADD COLUMN puts them after the blobs, which costs nothing:
    //    listings never read them, and a streamed entry's body column is empty.
    //  - Triggers delete an entry's chunks whenever the entry goes (removal, eviction, a REPLACE) or stops
    //    pointing at them (replaced by a normal entry or by another streamed write), in the same transaction.
    private const string MigrateVersion2To3 = """
        ALTER TABLE entries ADD COLUMN body_streamed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE entries ADD COLUMN write_id INTEGER;
        CREATE INDEX IF NOT EXISTS ix_entries_write_id ON entries (write_id) WHERE write_id IS NOT NULL;
        CREATE TABLE IF NOT EXISTS pending_writes (
            id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
            key        TEXT    NOT NULL,
            owner      TEXT    NOT NULL,
            started_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS body_chunks (
            write_id INTEGER NOT NULL,
            seq      INTEGER NOT NULL,
            data     BLOB    NOT NULL,
            PRIMARY KEY (write_id, seq)
        );
        CREATE TRIGGER IF NOT EXISTS tr_entries_chunks_delete AFTER DELETE ON entries
        WHEN old.write_id IS NOT NULL BEGIN
            DELETE FROM body_chunks WHERE write_id = old.write_id;
        END;
        CREATE TRIGGER IF NOT EXISTS tr_entries_chunks_replace AFTER UPDATE OF write_id ON entries
        WHEN old.write_id IS NOT NULL AND old.write_id IS NOT new.write_id BEGIN
            DELETE FROM body_chunks WHERE write_id = old.write_id;
        END;
        PRAGMA user_version = 3;
        """;

    // Version 4, for the cost of a write (a miss writes a row; on a 2-core machine that row's CPU time is taken
    // from the requests). Measured on 1 KiB bodies in batches: 20 µs a row before, 11 after.
    //  - Entries that vary on nothing (nearly all) have key = primary_key, and the key's own index finds them; the
    //    primary_key index now holds only the variants whose key differs. Lookups by primary key ask both.
    //  - The insert trigger goes: the writer adds to the running total itself, in the same transaction (Upsert).
    //    A trigger's mere presence on the inserting statement costs a few µs a row, even one that never fires,
    //    so a new row is inserted by a statement no update trigger hangs on, and an existing one updated by
    //    another (where tr_entries_size and tr_entries_chunks_replace still keep the total and the chunks right).
    private const string MigrateVersion3To4 = """
        DROP TRIGGER IF EXISTS tr_entries_insert;
        DROP INDEX IF EXISTS ix_entries_primary_key;
        CREATE INDEX IF NOT EXISTS ix_entries_variants ON entries (primary_key) WHERE primary_key <> key;
        PRAGMA user_version = 4;
        """;

    // Version 5, for Get-HttpCacheEntry -Uri at scale: the URI indexed as the filter compares it (NOCASE), so an
    // exact URI is a point lookup and a literal prefix (before a pattern's first wildcard) a range scan.
    private const string MigrateVersion4To5 = """
        CREATE INDEX IF NOT EXISTS ix_entries_uri ON entries (uri COLLATE NOCASE);
        PRAGMA user_version = 5;
        """;

    // Version 6, for Get-HttpCacheStats -GroupBy Host at scale (it listed every entry: 4.3 s at a million):
    //  - entries gains host (EntryHost.Of of the URI, computed by the writer: SQL cannot parse a URI as .NET does, so a
    //    migrated file's rows get theirs from a function this migration registers on its own connection).
    //  - hosts: running totals per host (entries, bytes, hits), kept like `totals` in the writing transactions: the
    //    writer adds a new row's (no trigger may hang on the insert, see version 4), the triggers do the rest.
    //  - indexes by host for what totals cannot keep: the oldest and newest creation time and the latest access (both
    //    ends move when an entry goes), and the expired count, which depends on the time asked about. The host leads each,
    //    so a new row lands at the end of its host's range (times grow): few pages per batch, not one at random. The
    //    access index is partial: entries never served cost it nothing.
    // Migrating rewrites every row once (the new column), which takes a while on a large file.
    private const string MigrateVersion5To6 = """
        ALTER TABLE entries ADD COLUMN host TEXT NOT NULL DEFAULT '';
        UPDATE entries SET host = httpcache_host(uri);
        CREATE TABLE IF NOT EXISTS hosts (
            host    TEXT    NOT NULL PRIMARY KEY,
            entries INTEGER NOT NULL,
            bytes   INTEGER NOT NULL,
            hits    INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO hosts (host, entries, bytes, hits) SELECT host, COUNT(*), SUM(size), SUM(hit_count) FROM entries GROUP BY host;
        CREATE INDEX IF NOT EXISTS ix_entries_host_created ON entries (host, created_at);
        CREATE INDEX IF NOT EXISTS ix_entries_host_expires ON entries (host, expires_at) WHERE expires_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_entries_host_accessed ON entries (host, last_accessed_at) WHERE last_accessed_at IS NOT NULL;
        DROP TRIGGER IF EXISTS tr_entries_delete;
        CREATE TRIGGER tr_entries_delete AFTER DELETE ON entries BEGIN
            UPDATE totals SET entries = entries - 1, bytes = bytes - old.size WHERE id = 1;
            UPDATE hosts SET entries = entries - 1, bytes = bytes - old.size, hits = hits - old.hit_count WHERE host = old.host;
        END;
        CREATE TRIGGER IF NOT EXISTS tr_entries_host_same AFTER UPDATE OF host, size, hit_count ON entries
        WHEN old.host = new.host BEGIN
            UPDATE hosts SET bytes = bytes - old.size + new.size, hits = hits - old.hit_count + new.hit_count WHERE host = new.host;
        END;
        CREATE TRIGGER IF NOT EXISTS tr_entries_host_moved AFTER UPDATE OF host, size, hit_count ON entries
        WHEN old.host <> new.host BEGIN
            UPDATE hosts SET entries = entries - 1, bytes = bytes - old.size, hits = hits - old.hit_count WHERE host = old.host;
            INSERT INTO hosts (host, entries, bytes, hits) VALUES (new.host, 1, new.size, new.hit_count)
            ON CONFLICT (host) DO UPDATE SET entries = entries + 1, bytes = bytes + excluded.bytes, hits = hits + excluded.hits;
        END;
        PRAGMA user_version = 6;
        """;

    // Version 7, for large bodies (a 1 GiB miss took 5.7x the uncached download, the bytes going through the WAL and
    // then the file): a streamed body is written as a file of its own beside the database (SqliteBodyFiles), marked by
    // body_streamed = 2 with write_id naming the file. Entries streamed as chunks before (body_streamed = 1) keep them
    // and are read as before; only new writes go to files.
    //  - dead_bodies: the write ids of body files no entry points at any more, recorded by triggers in the transaction
    //    that removed or replaced the entry (any statement: removal by query, eviction, a replacing write), and taken
    //    by the store in that same transaction, which deletes the files once it commits. A trigger cannot delete a file.
    //  - The chunk triggers now fire for chunked entries only, so removing a file-backed entry costs no chunk lookup.
    private const string MigrateVersion6To7 = """
        CREATE TABLE IF NOT EXISTS dead_bodies (
            write_id INTEGER NOT NULL PRIMARY KEY
        );
        CREATE TRIGGER IF NOT EXISTS tr_entries_file_delete AFTER DELETE ON entries
        WHEN old.body_streamed = 2 BEGIN
            INSERT OR IGNORE INTO dead_bodies (write_id) VALUES (old.write_id);
        END;
        CREATE TRIGGER IF NOT EXISTS tr_entries_file_replace AFTER UPDATE OF write_id ON entries
        WHEN old.body_streamed = 2 AND old.write_id IS NOT new.write_id BEGIN
            INSERT OR IGNORE INTO dead_bodies (write_id) VALUES (old.write_id);
        END;
        DROP TRIGGER IF EXISTS tr_entries_chunks_delete;
        CREATE TRIGGER tr_entries_chunks_delete AFTER DELETE ON entries
        WHEN old.body_streamed = 1 BEGIN
            DELETE FROM body_chunks WHERE write_id = old.write_id;
        END;
        DROP TRIGGER IF EXISTS tr_entries_chunks_replace;
        CREATE TRIGGER tr_entries_chunks_replace AFTER UPDATE OF write_id ON entries
        WHEN old.body_streamed = 1 AND old.write_id IS NOT new.write_id BEGIN
            DELETE FROM body_chunks WHERE write_id = old.write_id;
        END;
        PRAGMA user_version = 7;
        """;

    /// <summary>
    /// Turns WAL on, creates the tables when the file is new and migrates a file an earlier version wrote.
    /// Several processes may do this at once on one file: the version is read again under the write lock
    /// before anything changes. A new file goes through every migration, so it ends up exactly like a migrated one.
    /// </summary>
    /// <exception cref="CacheStoreException">The file is a database of another program (<see cref="CacheStoreFailure.Corrupt"/>;
    /// nothing was written to it), or a newer HttpCache wrote it.</exception>
    public static void Ensure(PooledConnection connection, string location)
    {
        // Before anything is written (even WAL mode, which changes the file's header): a file is ours, or new.
        RefuseForeign(connection, location, CheckedVersion(connection, location));

        // WAL is a property of the file, so once is enough; readers then block neither the writer nor each other.
        connection.Command("PRAGMA journal_mode = WAL").ExecuteScalar();

        if (CheckedVersion(connection, location) == Version)
        {
            return;
        }

        connection.InWriteTransaction(location, static (c, path) =>
        {
            var version = CheckedVersion(c, path);
            RefuseForeign(c, path, version);
            if (version == 0)
            {
                c.Execute(CreateVersion1);
                version = 1;
            }

            if (version == 1)
            {
                c.Execute(MigrateVersion1To2);
                version = 2;
            }

            if (version == 2)
            {
                c.Execute(MigrateVersion2To3);
                version = 3;
            }

            if (version == 3)
            {
                c.Execute(MigrateVersion3To4);
                version = 4;
            }

            if (version == 4)
            {
                c.Execute(MigrateVersion4To5);
                version = 5;
            }

            if (version == 5)
            {
                c.Connection.CreateFunction("httpcache_host", static (string uri) => EntryHost.Of(uri), isDeterministic: true);
                c.Execute(MigrateVersion5To6);
                version = 6;
            }

            if (version == 6)
            {
                c.Execute(MigrateVersion6To7);
            }

            return 0;
        });
    }

    /// <summary>
    /// A cache file is new (version 0 and empty) or has our tables; anything else (another program's database, whose
    /// user_version is often 0) is refused untouched, rather than getting our tables added to it.
    /// </summary>
    private static void RefuseForeign(PooledConnection connection, string location, long version)
    {
        var command = connection.Command("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name");
        var names = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }

        var ours = version == 0 ? names.Count == 0 : names.Contains("entries") && names.Contains("counters");
        if (!ours)
        {
            throw new CacheStoreException(
                $"The file '{location}' is an SQLite database of another program (tables: {string.Join(", ", names.Take(5))}" +
                $"{(names.Count > 5 ? ", …" : string.Empty)}; user_version {version}), not an HTTP cache. HttpCache wrote nothing to it; give another path.",
                failure: CacheStoreFailure.Corrupt);
        }
    }

    private static long CheckedVersion(PooledConnection connection, string location)
    {
        var version = (long)connection.Command("PRAGMA user_version").ExecuteScalar()!;
        if (version > Version)
        {
            throw new CacheStoreException(
                $"The HTTP cache database '{location}' was written by a newer version of HttpCache " +
                $"(schema {version}; this version reads schema {Version}). Use a newer HttpCache or another cache path.",
                failure: CacheStoreFailure.Other);
        }

        return version;
    }
}
