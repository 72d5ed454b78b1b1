using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using HttpCache.Engine.Http;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HttpCache.Engine.Storage.Sqlite;

/// <summary>
/// The default store: one SQLite file in WAL mode, shared safely by many threads and by several processes.
/// A lock held by someone else is waited on for at most the busy timeout, then reported as a
/// <see cref="CacheStoreException"/>.
/// </summary>
/// <remarks>
/// <para>
/// Microsoft.Data.Sqlite does its I/O synchronously even behind its async methods, so this store runs each
/// call on the caller's thread and returns a completed task: a thread hop would cost more than the query.
/// The price: a call that meets another writer's lock blocks its thread for up to the busy timeout.
/// </para>
/// <para>
/// With <see cref="StoreLimits"/>, a write, the check of the running total (kept by the writer and the update and delete triggers) and any
/// evictions happen in one <c>BEGIN IMMEDIATE</c> transaction, so concurrent writers, in this process or
/// others, never leave the file over its bounds. Without limits a write is the row and the running total, also in one such transaction. The entry
/// just written is never the one evicted for it: the write is its most recent use.
/// </para>
/// <para>
/// Streamed bodies (<see cref="IStreamingCacheStore"/>, schema 7): a body of any size goes into a file of its own
/// beside the database as it arrives (<see cref="SqliteBodyFiles"/>: <c>&lt;database&gt;.bodies/&lt;write id&gt;.body</c>),
/// and the commit points the entry row at it (<c>body_streamed</c> = 2, <c>write_id</c>) in one transaction with the
/// limits. Such an entry's row holds an empty body; <see cref="GetAsync"/>, <see cref="GetVariantsAsync"/> and listings
/// never open its file, and <see cref="OpenBodyAsync"/> streams it. Its size (metadata and body) counts toward the
/// limits and the running total like any other entry's. Entries streamed by schema 3 to 6 as rows of 1 MiB chunks
/// (<c>body_streamed</c> = 1) are still read. See <see cref="SqliteBodyWrites"/> for how files stay tied to rows and
/// how writes a crash abandoned are cleaned up. Listings leave <see cref="CacheRecordInfo.BodyStreamed"/> unset: the
/// column lies past the body blobs, which a listing never walks.
/// </para>
/// </remarks>
public sealed class SqliteCacheStore : IStreamingCacheStore, IUriIndexedStore, IHostIndexedStore
{
    /// <summary>How long a call waits for another connection's lock when no busy timeout is given.</summary>
    public static TimeSpan DefaultBusyTimeout { get; } = TimeSpan.FromSeconds(5);

    private const int ListPageSize = 512;

    private const string InfoColumns =
        "key, primary_key, method, uri, status, created_at, expires_at, keep_until, size, hit_count, last_accessed_at";

    // body_streamed comes after the blobs (schema 3 added it), where reading it costs nothing: a streamed entry's
    // body is empty, and a normal one's is read anyway. A streamed entry's chunks are never read here.
    private const string GetVariantsSql = $"SELECT {InfoColumns}, metadata, body, body_streamed FROM entries WHERE {PrimaryKeyIs}";

    // Schema 4 indexes a primary key only where it differs from the key: the first branch finds the usual entry
    // through the key's index, the second the other variants through ix_entries_variants (its WHERE is repeated
    // here so SQLite can use that partial index).
    private const string PrimaryKeyIs =
        "((key = $primaryKey AND primary_key = $primaryKey) OR (primary_key = $primaryKey AND primary_key <> key))";
    private const string GetSql = $"SELECT {InfoColumns}, metadata, body, body_streamed FROM entries WHERE key = $key";

    // A new row: no update trigger hangs on this statement (see SqliteSchema, version 4), and the writer adds
    // it to the running total itself (AddToTotalsSql). DO NOTHING, not REPLACE: a REPLACE deletes the old row
    // and fires the delete triggers.
    private const string InsertSql = $"""
        INSERT INTO entries ({InfoColumns}, metadata, body, body_streamed, write_id, host)
        VALUES ($key, $primaryKey, $method, $uri, $status, $createdAt, $expiresAt, $keepUntil, $size, $hitCount,
                $lastAccessedAt, $metadata, $body, $bodyStreamed, $writeId, $host)
        ON CONFLICT (key) DO NOTHING
        """;

    // An existing row: its update triggers keep the running total and delete the chunks of a streamed entry it replaces.
    private const string ReplaceSql = """
        UPDATE entries SET
            primary_key = $primaryKey, method = $method, uri = $uri, status = $status, created_at = $createdAt,
            expires_at = $expiresAt, keep_until = $keepUntil, size = $size, hit_count = $hitCount,
            last_accessed_at = $lastAccessedAt, metadata = $metadata, body = $body, body_streamed = $bodyStreamed,
            write_id = $writeId, host = $host
        WHERE key = $key
        """;

    private const string AddToTotalsSql = "UPDATE totals SET entries = entries + 1, bytes = bytes + $size WHERE id = 1";

    private const string AddToHostSql = """
        INSERT INTO hosts (host, entries, bytes, hits) VALUES ($host, 1, $size, $hitCount)
        ON CONFLICT (host) DO UPDATE SET entries = entries + 1, bytes = bytes + excluded.bytes, hits = hits + excluded.hits
        """;

    // Per host (schema 6): the running totals, then each figure they cannot keep from an index that the host leads: both
    // ends of its creation times and the latest access (a few page reads each), and the expired count, a range of
    // (host, expires_at) counted without reading a row. A host whose entries all went keeps a row of zeros, skipped here.
    internal const string HostInventorySql = """
        SELECT h.host, h.entries, h.bytes, h.hits,
               (SELECT COUNT(*) FROM entries e WHERE e.host = h.host AND e.expires_at <= $now),
               (SELECT MIN(e.created_at) FROM entries e WHERE e.host = h.host),
               (SELECT MAX(e.created_at) FROM entries e WHERE e.host = h.host),
               (SELECT MAX(e.last_accessed_at) FROM entries e WHERE e.host = h.host AND e.last_accessed_at IS NOT NULL)
        FROM hosts h
        WHERE h.entries > 0
        """;

    private const string DeleteKeySql = "DELETE FROM entries WHERE key = $key";

    private const string TotalsSql = "SELECT entries, bytes FROM totals WHERE id = 1";

    // The expression matches ix_entries_lru exactly, so SQLite walks that index from its oldest end and stops
    // as soon as the store reads enough victims.
    internal const string LruSql =
        "SELECT key, size FROM entries WHERE key <> $key ORDER BY COALESCE(last_accessed_at, created_at), key";

    private const string UpdateExpirationSql = "UPDATE entries SET expires_at = $expiresAt, keep_until = $keepUntil WHERE key = $key";

    // The running totals, and each end of the created_at index: a few page reads at any size, where
    // COUNT(*) and SUM(size) read every row (143-282 ms at 100,000 entries).
    internal const string InventorySql = """
        SELECT entries, bytes, (SELECT MIN(created_at) FROM entries), (SELECT MAX(created_at) FROM entries)
        FROM totals WHERE id = 1
        """;

    private const string AddCounterSql = """
        INSERT INTO counters (name, value) VALUES ($name, $delta)
        ON CONFLICT (name) DO UPDATE SET value = value + excluded.value
        """;

    private const string RecordAccessSql = """
        UPDATE entries
        SET hit_count = hit_count + $hits,
            last_accessed_at = MAX(COALESCE(last_accessed_at, $accessedAt), $accessedAt)
        WHERE key = $key
        """;

    private const string OpenBodySql = "SELECT body_streamed, write_id, size - length(metadata), body FROM entries WHERE key = $key";
    private const string WriteIdSql = "SELECT write_id FROM entries WHERE key = $key";

    // How often a reader looks again for a body whose entry was replaced between its row and its file.
    private const int MaxOpenAttempts = 8;

    // A streamed body's kind (body_streamed): chunk rows (schema 3 to 6) or a file (schema 7).
    private const long StreamedAsChunks = 1;
    private const long StreamedAsFile = 2;

    private readonly SqliteConnectionPool _pool;
    private readonly SqliteBodyFiles _bodyFiles;

    // The file as opened, held so that a file replaced, deleted or emptied under the store is noticed (CheckFile).
    private readonly object _fileGate = new();
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _opened;
    private long _lastFileCheck = long.MinValue / 2;
    private string? _fileProblem;
    private bool _replaced;

    /// <summary>How often a call checks that the path still names the opened file (a second; tests set zero).</summary>
    internal int FileCheckIntervalMs { get; set; } = 1000;
    private readonly TimeSpan _busyTimeout;
    private readonly StoreLimits? _limits;
    private volatile bool _disposed;

    /// <summary>
    /// Opens the cache file at <paramref name="path"/>, creating its folder, the file and the tables when
    /// missing. Fails now, rather than on first use, when the location cannot hold a cache.
    /// </summary>
    /// <param name="path">The database file. A relative path is taken from the process's current directory.</param>
    /// <param name="busyTimeout">
    /// How long one call waits for a lock another connection or process holds before it fails
    /// (default <see cref="DefaultBusyTimeout"/>). Below one second, Microsoft.Data.Sqlite's own retry loop,
    /// which counts whole seconds, stretches the wait to a little over one second.
    /// </param>
    /// <param name="limits">Bounds the file keeps to by evicting least-recently-used entries after a write;
    /// null or <see cref="StoreLimits.None"/>: unbounded. Each store applies its own limits to its own writes.</param>
    /// <exception cref="CacheStoreException">The folder or file cannot be created or opened
    /// (<see cref="CacheStoreFailure.Unwritable"/>), the file is not a cache database
    /// (<see cref="CacheStoreFailure.Corrupt"/>), was written by a newer schema, or stayed locked past the busy
    /// timeout (<see cref="CacheStoreFailure.Locked"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The busy timeout is not positive, or a bound is below one.</exception>
    public SqliteCacheStore(string path, TimeSpan? busyTimeout = null, StoreLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _busyTimeout = busyTimeout ?? DefaultBusyTimeout;
        if (_busyTimeout <= TimeSpan.Zero || _busyTimeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(busyTimeout), _busyTimeout, "The busy timeout must be positive and under 24 days.");
        }

        _limits = StoreLimitsRules.Normalize(limits, nameof(limits));

        Location = Path.GetFullPath(path);
        _bodyFiles = new SqliteBodyFiles(Location);
        try
        {
            OwnerOnly.CreateDirectory(Path.GetDirectoryName(Location)!);

            // Made owner-only before SQLite opens it (SQLite would make it 0644); its -wal and -shm files take
            // the database file's mode. A file that exists keeps its own.
            OwnerOnly.CreateFile(Location);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CacheStoreException(
                $"The HTTP cache database '{Location}' or its folder cannot be created: {ex.Message}", ex, CacheStoreFailure.Unwritable);
        }

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Location,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // The store pools its own connections, with their prepared statements (see SqliteConnectionPool).
            Pooling = false,
            // Microsoft.Data.Sqlite retries a busy statement, after SQLite's own busy_timeout wait, until this many
            // whole seconds have passed (forever when 0). Rounded down, SQLite's wait alone already uses it up, so
            // the library adds no second wait; at least 1 keeps every wait bounded.
            DefaultTimeout = Math.Max(1, (int)_busyTimeout.TotalSeconds),
        }.ToString();

        _pool = new SqliteConnectionPool(connectionString, _busyTimeout);
        try
        {
            Execute(Location, static (connection, location) =>
            {
                SqliteSchema.Ensure(connection, location);
                return 0;
            });
        }
        catch
        {
            _pool.Dispose();
            throw;
        }

        // What crashed writers left behind goes now. Best effort: a file locked past the busy timeout (or failing
        // otherwise) still opens, and the next store to open it, or a day later the next streamed write, cleans up.
        try
        {
            Execute(_bodyFiles, static (connection, files) => SqliteBodyWrites.CleanUp(connection, files, DateTimeOffset.UtcNow, atOpen: true));
        }
        catch (CacheStoreException)
        {
            // Left for later, as above.
        }

        _opened = HoldFile();
    }

    /// <inheritdoc />
    public string BackendName => "Sqlite";

    /// <summary>The full path of the database file.</summary>
    public string Location { get; }

    /// <inheritdoc />
    public Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        return Run(primaryKey, static (connection, primaryKey) =>
        {
            var command = connection.Command(GetVariantsSql);
            command.Parameters.AddWithValue("$primaryKey", primaryKey);
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return (IReadOnlyList<CacheRecord>)[];
            }

            var variants = new List<CacheRecord>(1);
            do
            {
                variants.Add(ReadRecord(reader));
            }
            while (reader.Read());

            return variants;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<CacheRecord?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Run(key, static (connection, key) =>
        {
            var command = connection.Command(GetSql);
            command.Parameters.AddWithValue("$key", key);
            using var reader = command.ExecuteReader();
            return reader.Read() ? ReadRecord(reader) : null;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task SetAsync(CacheRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Run((record, limits: _limits, files: _bodyFiles), static (connection, state) =>
            SqliteBodyWrites.InWriteTransactionFreeingBodies(connection, state.files, state, static (c, state) =>
                state.limits is null ? Upsert(c, state.record) : SetWithinLimits(c, state.record, state.limits)), cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>One write transaction for them all: the commit, not the rows, is what a write costs.</remarks>
    public Task SetManyAsync(IReadOnlyList<CacheRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 1)
        {
            return SetAsync(records[0], cancellationToken);
        }

        return Run((records, limits: _limits, files: _bodyFiles), static (connection, state) =>
            SqliteBodyWrites.InWriteTransactionFreeingBodies(connection, state.files, state, static (c, state) =>
            {
                foreach (var record in state.records)
                {
                    BackgroundWork.GiveWay();
                    if (state.limits is null)
                    {
                        Upsert(c, record);
                    }
                    else
                    {
                        SetWithinLimits(c, record, state.limits);
                    }
                }

                return state.records.Count;
            }), cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> RemoveAsync(CacheQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Run((query, files: _bodyFiles), static (connection, state) =>
            SqliteBodyWrites.InWriteTransactionFreeingBodies(connection, state.files, state.query, static (c, query) =>
            {
                var command = c.Command("DELETE FROM entries" + Where(query, afterCursor: false));
                BindWhere(command, query);
                return command.ExecuteNonQuery();
            }), cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> UpdateExpirationAsync(string key, DateTimeOffset? expiresAt, DateTimeOffset? keepUntil, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Run((key, expiresAt, keepUntil), static (connection, update) =>
        {
            var command = connection.Command(UpdateExpirationSql);
            command.Parameters.AddWithValue("$key", update.key);
            command.Parameters.AddWithValue("$expiresAt", Ticks(update.expiresAt));
            command.Parameters.AddWithValue("$keepUntil", Ticks(update.keepUntil));
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Read in pages, each on a connection taken and given back, so a slow consumer holds no read
    /// transaction (which would keep the WAL from being checkpointed). Entries changed while the listing
    /// runs may or may not appear in it.
    /// </remarks>
    public async IAsyncEnumerable<CacheRecordInfo> ListAsync(
        CacheQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        CacheRecordInfo? last = null;
        while (true)
        {
            var page = await Run((query, last), static (connection, state) =>
            {
                var command = connection.Command(ListSql(state.query, state.last is not null));
                BindWhere(command, state.query);
                if (state.last is not null)
                {
                    command.Parameters.AddWithValue("$afterCreatedAt", state.last.CreatedAt.UtcTicks);
                    command.Parameters.AddWithValue("$afterKey", state.last.Key);
                }

                using var reader = command.ExecuteReader();
                var infos = new List<CacheRecordInfo>();
                while (reader.Read())
                {
                    infos.Add(ReadInfo(reader));
                }

                return infos;
            }, cancellationToken).ConfigureAwait(false);

            foreach (var info in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return info;
            }

            if (page.Count < ListPageSize)
            {
                yield break;
            }

            last = page[^1];
        }
    }

    /// <inheritdoc />
    public Task<StoreInventory> GetInventoryAsync(CancellationToken cancellationToken = default) =>
        Run(0, static (connection, _) =>
        {
            using var reader = connection.Command(InventorySql).ExecuteReader();
            reader.Read();
            return new StoreInventory(reader.GetInt64(0), reader.GetInt64(1), OptionalTime(reader, 2), OptionalTime(reader, 3));
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<HostInventory>> GetHostInventoryAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Run(now, static (connection, now) =>
        {
            var command = connection.Command(HostInventorySql);
            command.Parameters.AddWithValue("$now", now.UtcTicks);
            using var reader = command.ExecuteReader();
            var hosts = new List<HostInventory>();
            while (reader.Read())
            {
                hosts.Add(new HostInventory(
                    reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                    OptionalTime(reader, 5), OptionalTime(reader, 6), OptionalTime(reader, 7)));
            }

            return HostInventory.Sorted(hosts);
        }, cancellationToken);

    /// <inheritdoc />
    public Task AddCountersAsync(IReadOnlyDictionary<string, long> deltas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        if (deltas.Count == 0)
        {
            return Task.CompletedTask;
        }

        return Run(deltas, static (connection, deltas) => connection.InWriteTransaction(deltas, static (c, deltas) =>
        {
            foreach (var (name, delta) in deltas)
            {
                var command = c.Command(AddCounterSql);
                command.Parameters.AddWithValue("$name", name);
                command.Parameters.AddWithValue("$delta", delta);
                command.ExecuteNonQuery();
            }

            return 0;
        }), cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, long>> GetCountersAsync(CancellationToken cancellationToken = default) =>
        Run(0, static (connection, _) =>
        {
            using var reader = connection.Command("SELECT name, value FROM counters").ExecuteReader();
            var counters = new Dictionary<string, long>(StringComparer.Ordinal);
            while (reader.Read())
            {
                counters[reader.GetString(0)] = reader.GetInt64(1);
            }

            return (IReadOnlyDictionary<string, long>)counters;
        }, cancellationToken);

    /// <inheritdoc />
    public Task RecordAccessAsync(IReadOnlyCollection<EntryAccess> accesses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accesses);
        if (accesses.Count == 0)
        {
            return Task.CompletedTask;
        }

        return Run(accesses, static (connection, accesses) => connection.InWriteTransaction(accesses, static (c, accesses) =>
        {
            foreach (var access in accesses)
            {
                var command = c.Command(RecordAccessSql);
                command.Parameters.AddWithValue("$key", access.Key);
                command.Parameters.AddWithValue("$hits", access.Hits);
                command.Parameters.AddWithValue("$accessedAt", access.LastAccessedAt.UtcTicks);
                command.ExecuteNonQuery();
            }

            return 0;
        }), cancellationToken);
    }

    /// <inheritdoc />
    public Task ClearCountersAsync(CancellationToken cancellationToken = default) =>
        Run(0, static (connection, _) => connection.Execute("DELETE FROM counters"), cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// The body goes into its own file as it arrives, under its final name (no transaction is held while the caller
    /// reads the network); it stays invisible until <see cref="ICacheBodyWriter.CommitAsync"/>, which in one transaction
    /// points the entry row at it and applies the limits, then deletes the file of the entry it replaced. A write is
    /// registered in <c>pending_writes</c> before its file is created, so one a crash abandoned is cleaned up later
    /// (see <see cref="SqliteBodyWrites"/>).
    /// </remarks>
    public Task<ICacheBodyWriter> BeginWriteAsync(CacheRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Run(record, (connection, record) =>
        {
            var writeId = SqliteBodyWrites.Begin(connection, _bodyFiles, record.Key, DateTimeOffset.UtcNow);
            FileStream file;
            try
            {
                file = _bodyFiles.Create(writeId);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _bodyFiles.Delete(writeId);
                SqliteBodyWrites.Abandon(connection, writeId);
                throw new CacheStoreException(
                    $"The body file '{_bodyFiles.PathOf(writeId)}' of the HTTP cache database '{Location}' cannot be created: {ex.Message}", ex, CacheStoreFailure.Unwritable);
            }

            return (ICacheBodyWriter)new SqliteBodyWriter(this, _bodyFiles, record, writeId, file, _limits);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A streamed body's file is opened while a read transaction shows its row, and the transaction ends at once: the
    /// open file is the reader's hold on it, so the stream reads the body exactly as it was when opened even if the
    /// entry is replaced or removed meanwhile (its file is then deleted under the reader, which reads on). A file
    /// missing or of another length than the row says fails as <see cref="CacheStoreFailure.Corrupt"/>; an entry
    /// removed between its row and its file is null, as any entry gone. A body streamed as chunks (schema 3 to 6) is
    /// read chunk by chunk inside one read transaction, which holds the WAL's checkpoints back until it is disposed. A
    /// normal entry's body comes as a memory stream.
    /// </remarks>
    public Task<Stream?> OpenBodyAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<Stream?>(cancellationToken);
        }

        try
        {
            return Task.FromResult(OpenBody(key, attempt: 1));
        }
        catch (Exception ex)
        {
            return Task.FromException<Stream?>(ex);
        }
    }

    /// <summary>Closes every connection, so the file is no longer held open by this store.</summary>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        _pool.Dispose();
        lock (_fileGate)
        {
            _opened?.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private Microsoft.Win32.SafeHandles.SafeFileHandle HoldFile() =>
        File.OpenHandle(Location, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>
    /// At most once a second, before a call uses the file: is the path still the file this store opened? A file
    /// deleted under an open store would otherwise go on being read and written as a ghost that nobody else sees, and
    /// one emptied in place would fail every call: the store opens the path again, as a new store would, and this one
    /// call fails with a message that says what happened (the engine warns, the origin answers, caching goes on). A
    /// file replaced by another is not opened: every call fails with a message saying so, and the session answers
    /// from the origin until a new session opens the new file.
    /// </summary>
    private void CheckFile()
    {
        if (Environment.TickCount64 - Volatile.Read(ref _lastFileCheck) < FileCheckIntervalMs)
        {
            if (Volatile.Read(ref _fileProblem) is { } problem)
            {
                throw new CacheStoreException(problem, failure: CacheStoreFailure.Corrupt);
            }

            return;
        }

        lock (_fileGate)
        {
            var now = Environment.TickCount64;
            if (_replaced || now - _lastFileCheck < FileCheckIntervalMs)
            {
                if (_fileProblem is { } problem)
                {
                    throw new CacheStoreException(problem, failure: CacheStoreFailure.Corrupt);
                }

                return;
            }

            Volatile.Write(ref _lastFileCheck, now);
            var change = _fileProblem is not null ? "changed" : FileChange();
            if (change is null)
            {
                return;
            }

            if (change == "replaced")
            {
                // Another file now has the path. It is left alone: its -wal name is the one this store's connections
                // used, so SQLite could pair it with a stale log, and it may not even be a cache. The session goes on
                // without a store (the origin answers); a new session opens the new file, checked as any file is.
                _pool.Clear();
                _replaced = true;
                Volatile.Write(ref _fileProblem,
                    $"The HTTP cache database '{Location}' was replaced by another file while in use; this session no longer uses it, and wrote nothing to the new file. A new session opens it.");
                throw new CacheStoreException(_fileProblem!, failure: CacheStoreFailure.Corrupt);
            }

            _pool.Clear();
            try
            {
                ExecuteOnFile((Location, _bodyFiles), static (connection, state) =>
                {
                    SqliteSchema.Ensure(connection, state.Location);
                    // The body files of the database that went point nowhere now: garbage, as at any open.
                    return SqliteBodyWrites.CleanUp(connection, state._bodyFiles, DateTimeOffset.UtcNow, atOpen: true);
                });
                _opened?.Dispose();
                _opened = HoldFile();
            }
            catch (Exception ex) when (ex is CacheStoreException or IOException or UnauthorizedAccessException)
            {
                Volatile.Write(ref _fileProblem, $"The HTTP cache database '{Location}' was {change} while in use, and cannot be opened again: {ex.Message}");
                throw new CacheStoreException(_fileProblem!, ex, CacheStoreFailure.Corrupt);
            }

            Volatile.Write(ref _fileProblem, null);
            throw new CacheStoreException(
                $"The HTTP cache database '{Location}' was {change} while in use; it was opened again as it is now.", failure: CacheStoreFailure.Other);
        }
    }

    private string? FileChange()
    {
        if (_opened is null)
        {
            return null;
        }

        var now = new FileInfo(Location);
        if (!now.Exists)
        {
            return "deleted";
        }

        var length = RandomAccess.GetLength(_opened);
        if (length == 0)
        {
            return "emptied";
        }

        return now.Length != length || now.LastWriteTimeUtc != File.GetLastWriteTimeUtc(_opened) ? "replaced" : null;
    }

    // Errors travel in the returned task, as they would from an async method.
    private Task<TResult> Run<TState, TResult>(
        TState state, Func<PooledConnection, TState, TResult> work, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        try
        {
            return Task.FromResult(Execute(state, work));
        }
        catch (Exception ex)
        {
            return Task.FromException<TResult>(ex);
        }
    }

    internal TResult Execute<TState, TResult>(TState state, Func<PooledConnection, TState, TResult> work)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckFile();
        return ExecuteOnFile(state, work);
    }

    private TResult ExecuteOnFile<TState, TResult>(TState state, Func<PooledConnection, TState, TResult> work)
    {
        PooledConnection connection;
        try
        {
            connection = _pool.Rent();
        }
        catch (SqliteException ex)
        {
            throw Translate(ex);
        }

        TResult result;
        try
        {
            result = work(connection, state);
        }
        catch (Exception ex)
        {
            // A connection that failed may hold a half-done transaction or a lock: close it, never pool it.
            connection.Dispose();
            throw ex is SqliteException sqlite ? Translate(sqlite) : ex;
        }

        _pool.Return(connection);
        return result;
    }

    // A chunk stream keeps the connection's read transaction open inside it; on every other way out the connection is
    // given back (or closed, after a failure) before a body file is opened.
    private Stream? OpenBody(string key, int attempt)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckFile();
        PooledConnection connection;
        try
        {
            connection = _pool.Rent();
        }
        catch (SqliteException ex)
        {
            throw Translate(ex);
        }

        (long WriteId, long Length) file;
        try
        {
            connection.Execute("BEGIN");
            long kind, writeId, bodyLength;
            byte[]? body = null;
            var command = connection.Command(OpenBodySql);
            command.Parameters.AddWithValue("$key", key);
            using (var reader = command.ExecuteReader())
            {
                if (!reader.Read())
                {
                    reader.Dispose();
                    connection.Execute("COMMIT");
                    _pool.Return(connection);
                    return null;
                }

                kind = reader.GetInt64(0);
                writeId = reader.IsDBNull(1) ? 0 : reader.GetInt64(1);
                bodyLength = reader.GetInt64(2);
                if (kind == 0)
                {
                    body = Blob(reader, 3);
                }
            }

            if (kind != StreamedAsChunks)
            {
                connection.Execute("COMMIT");
                _pool.Return(connection);
                if (kind != StreamedAsFile)
                {
                    return new MemoryStream(body!, writable: false);
                }

                file = (writeId, bodyLength);
            }
            else
            {
                var chunks = SqliteBodyWrites.Chunks(connection, writeId);
                if (chunks.Sum(c => c.Length) != bodyLength)
                {
                    throw new CacheStoreException(
                        $"The streamed body of entry '{key}' in the HTTP cache database '{Location}' is incomplete: its chunks hold {chunks.Sum(c => c.Length)} of {bodyLength} bytes.",
                        failure: CacheStoreFailure.Corrupt);
                }

                return new SqliteChunkStream(this, connection, chunks, bodyLength);
            }
        }
        catch (Exception ex)
        {
            connection.Dispose();
            throw ex is SqliteException sqlite ? Translate(sqlite) : ex;
        }

        // The connection is back in the pool: what follows may fail without touching it.
        return OpenFile(key, file.WriteId, file.Length, attempt);
    }

    // The file a row named. Missing, it is damage (deleted by hand, a database restored without its folder) while the
    // entry still points at it. But the entry may have been replaced or removed since its row was read (its file is
    // deleted right after that commits): then the body is the new version's, read as if asked again, or none.
    private Stream? OpenFile(string key, long writeId, long bodyLength, int attempt)
    {
        FileStream? file;
        try
        {
            file = _bodyFiles.Open(writeId);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CacheStoreException(
                $"The body file '{_bodyFiles.PathOf(writeId)}' of entry '{key}' in the HTTP cache database '{Location}' cannot be opened: {ex.Message}", ex, CacheStoreFailure.Other);
        }

        if (file is null)
        {
            var now = Execute(key, static (connection, key) =>
            {
                var command = connection.Command(WriteIdSql);
                command.Parameters.AddWithValue("$key", key);
                return command.ExecuteScalar();
            });
            if (now is null)
            {
                return null;
            }

            if (now is long id && id == writeId)
            {
                throw new CacheStoreException(
                    $"The body file '{_bodyFiles.PathOf(writeId)}' of entry '{key}' in the HTTP cache database '{Location}' is missing.",
                    failure: CacheStoreFailure.Corrupt);
            }

            // Replaced each time between its row and its file: a writer this busy on one key is met as a failing store.
            return attempt < MaxOpenAttempts
                ? OpenBody(key, attempt + 1)
                : throw new CacheStoreException(
                    $"The body of entry '{key}' in the HTTP cache database '{Location}' was replaced {MaxOpenAttempts} times while it was being opened.",
                    failure: CacheStoreFailure.Other);
        }

        if (file.Length != bodyLength)
        {
            var length = file.Length;
            file.Dispose();
            throw new CacheStoreException(
                $"The body file '{_bodyFiles.PathOf(writeId)}' of entry '{key}' in the HTTP cache database '{Location}' holds {length} of its {bodyLength} bytes.",
                failure: CacheStoreFailure.Corrupt);
        }

        return new SqliteBodyFileStream(file, bodyLength);
    }

    /// <summary>A connection a chunk stream is done with: its read transaction ends and it goes back to the pool.</summary>
    internal void ReturnReader(PooledConnection connection)
    {
        try
        {
            connection.Execute("COMMIT");
        }
        catch (SqliteException)
        {
            connection.Dispose();
            return;
        }

        _pool.Return(connection);
    }

    internal CacheStoreException Translate(SqliteException ex) => (ex.SqliteErrorCode & 0xFF) switch
    {
        // The primary code (the low byte) is enough: every extended code of these families means the same here.
        raw.SQLITE_BUSY or raw.SQLITE_LOCKED => new CacheStoreException(
            string.Create(
                CultureInfo.InvariantCulture,
                $"The HTTP cache database '{Location}' stayed locked by another connection or process for longer than the busy timeout ({_busyTimeout.TotalSeconds:0.###} s)."),
            ex,
            CacheStoreFailure.Locked),
        raw.SQLITE_CANTOPEN or raw.SQLITE_READONLY or raw.SQLITE_PERM or raw.SQLITE_FULL or raw.SQLITE_AUTH => new CacheStoreException(
            $"The HTTP cache database '{Location}' cannot be opened or written (permissions, a read-only location, a full disk, or a folder in its place): {ex.Message}",
            ex,
            CacheStoreFailure.Unwritable),
        raw.SQLITE_NOTADB or raw.SQLITE_CORRUPT => new CacheStoreException(
            $"The file '{Location}' is not an HTTP cache database, or it is damaged: {ex.Message}", ex, CacheStoreFailure.Corrupt),
        _ => new CacheStoreException($"The HTTP cache database '{Location}' failed: {ex.Message}", ex, CacheStoreFailure.Other),
    };

    private static int Upsert(PooledConnection connection, CacheRecord record) => Upsert(connection, record, null, record.Body.Length);

    // writeId null: the body goes in the row. Otherwise the row points at that write's body file (an empty body
    // blob), and its size counts the streamed body's length. Runs inside the caller's write transaction: the
    // row and the running total change together.
    private static int Upsert(PooledConnection connection, CacheRecord record, long? writeId, long bodyLength)
    {
        var size = (long)record.Metadata.Length + bodyLength;
        var host = EntryHost.Of(record.Uri);
        if (Write(connection.Command(InsertSql), record, writeId, size, host) == 1)
        {
            var totals = connection.Command(AddToTotalsSql);
            totals.Parameters.AddWithValue("$size", size);
            totals.ExecuteNonQuery();
            var hosts = connection.Command(AddToHostSql);
            hosts.Parameters.AddWithValue("$host", host);
            hosts.Parameters.AddWithValue("$size", size);
            hosts.Parameters.AddWithValue("$hitCount", record.HitCount);
            hosts.ExecuteNonQuery();
            return 1;
        }

        return Write(connection.Command(ReplaceSql), record, writeId, size, host);
    }

    private static int Write(SqliteCommand command, CacheRecord record, long? writeId, long size, string host)
    {
        var parameters = command.Parameters;
        parameters.AddWithValue("$host", host);
        parameters.AddWithValue("$key", record.Key);
        parameters.AddWithValue("$primaryKey", record.PrimaryKey);
        parameters.AddWithValue("$method", record.Method);
        parameters.AddWithValue("$uri", record.Uri);
        parameters.AddWithValue("$status", record.StatusCode);
        parameters.AddWithValue("$createdAt", record.CreatedAt.UtcTicks);
        parameters.AddWithValue("$expiresAt", Ticks(record.ExpiresAt));
        parameters.AddWithValue("$keepUntil", Ticks(record.KeepUntil));
        parameters.AddWithValue("$size", size);
        parameters.AddWithValue("$hitCount", record.HitCount);
        parameters.AddWithValue("$lastAccessedAt", Ticks(record.LastAccessedAt));
        parameters.AddWithValue("$metadata", record.Metadata);
        parameters.AddWithValue("$body", writeId is null ? record.Body : []);
        parameters.AddWithValue("$bodyStreamed", writeId is null ? 0L : StreamedAsFile);
        parameters.AddWithValue("$writeId", writeId is { } id ? id : DBNull.Value);
        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// The commit of a streamed write, inside its own <c>BEGIN IMMEDIATE</c>: the write leaves
    /// <c>pending_writes</c> (it fails when a cleanup already took it for abandoned), the entry row points at its
    /// file, and the limits apply as to any write. The files of the entry it replaced and of any it evicted are
    /// deleted once it commits, and its own file too when it was too large to keep.
    /// </summary>
    internal static void CommitStreamed(PooledConnection connection, SqliteBodyFiles files, CacheRecord record, long writeId, long bodyLength, StoreLimits? limits)
    {
        var stored = SqliteBodyWrites.InWriteTransactionFreeingBodies(connection, files, (record, writeId, bodyLength, limits), static (c, s) =>
        {
            if (!SqliteBodyWrites.Finish(c, s.writeId))
            {
                throw new CacheStoreException(
                    $"The streamed write of entry '{s.record.Key}' was taken for abandoned (it was pending for over {SqliteBodyWrites.AbandonedAfter.TotalHours:0} hours, or its process looked dead) and cleaned up; it is not stored.",
                    failure: CacheStoreFailure.Other);
            }

            if (s.limits is not null && StoreLimitsRules.TooLargeAlone(s.limits, s.record.Metadata.Length + s.bodyLength))
            {
                // Not stored; an older version of the entry goes too, since the caller replaced it.
                var delete = c.Command(DeleteKeySql);
                delete.Parameters.AddWithValue("$key", s.record.Key);
                delete.ExecuteNonQuery();
                return false;
            }

            if (s.limits is null)
            {
                Upsert(c, s.record, s.writeId, s.bodyLength);
            }
            else
            {
                StoreWithinLimits(c, s.record, s.writeId, s.bodyLength, s.limits);
            }

            return true;
        });
        if (!stored)
        {
            files.Delete(writeId);
        }
    }

    // Runs inside BEGIN IMMEDIATE: no other writer, in any process, can slip between the write, the look at
    // the totals and the evictions, so the bounds hold once the transaction commits.
    private static int SetWithinLimits(PooledConnection connection, CacheRecord record, StoreLimits limits)
    {
        if (StoreLimitsRules.TooLargeAlone(limits, SizeOf(record)))
        {
            // Not stored; an older version of the entry goes too, since the caller replaced it.
            var delete = connection.Command(DeleteKeySql);
            delete.Parameters.AddWithValue("$key", record.Key);
            delete.ExecuteNonQuery();
            return 0;
        }

        return StoreWithinLimits(connection, record, null, record.Body.Length, limits);
    }

    // The write, then the look at the running total and any evictions, all in the caller's BEGIN IMMEDIATE.
    private static int StoreWithinLimits(PooledConnection connection, CacheRecord record, long? writeId, long bodyLength, StoreLimits limits)
    {
        Upsert(connection, record, writeId, bodyLength);

        long entries, bytes;
        using (var totals = connection.Command(TotalsSql).ExecuteReader())
        {
            totals.Read();
            entries = totals.GetInt64(0);
            bytes = totals.GetInt64(1);
        }

        if (!StoreLimitsRules.IsOver(limits, entries, bytes))
        {
            return 0;
        }

        // Victims are read first and deleted afterwards: changing a table while a statement still walks it is
        // undefined in SQLite. The entry just written is never its own victim: the write is its latest use.
        var victims = new List<string>();
        var lru = connection.Command(LruSql);
        lru.Parameters.AddWithValue("$key", record.Key);
        using (var reader = lru.ExecuteReader())
        {
            while (StoreLimitsRules.IsOver(limits, entries, bytes) && reader.Read())
            {
                victims.Add(reader.GetString(0));
                entries--;
                bytes -= reader.GetInt64(1);
            }
        }

        foreach (var key in victims)
        {
            var delete = connection.Command(DeleteKeySql);
            delete.Parameters.AddWithValue("$key", key);
            delete.ExecuteNonQuery();
        }

        var counter = connection.Command(AddCounterSql);
        counter.Parameters.AddWithValue("$name", StoreLimitsRules.EvictionsCounter);
        counter.Parameters.AddWithValue("$delta", (long)victims.Count);
        counter.ExecuteNonQuery();
        return victims.Count;
    }

    private static long SizeOf(CacheRecord record) => (long)record.Metadata.Length + record.Body.Length;

    /// <summary>One page of a listing (the tests read its query plan).</summary>
    internal static string ListSql(CacheQuery query, bool afterCursor) =>
        $"SELECT {InfoColumns} FROM entries{Where(query, afterCursor)} ORDER BY created_at, key LIMIT {ListPageSize}";

    // Which filters are present decides the SQL text, so each combination is prepared once per connection.
    private static string Where(CacheQuery query, bool afterCursor)
    {
        var where = new StringBuilder();
        void And(string condition) => where.Append(where.Length == 0 ? " WHERE " : " AND ").Append(condition);

        if (query.Key is not null)
        {
            And("key = $key");
        }

        if (query.PrimaryKey is not null)
        {
            And(PrimaryKeyIs);
        }

        if (query.ExpiredAsOf is not null)
        {
            And("expires_at <= $expiredAsOf");
        }

        if (query.CreatedBefore is not null)
        {
            And("created_at < $createdBefore");
        }

        if (query.CreatedAfter is not null)
        {
            And("created_at > $createdAfter");
        }

        if (query.KeepUntilAsOf is not null)
        {
            And("keep_until <= $keepUntilAsOf");
        }

        // Both through ix_entries_uri (NOCASE). The prefix is a range: every string that starts with it sorts
        // between it and it followed by the highest code point.
        if (query.Uri is not null)
        {
            And("uri = $uri COLLATE NOCASE");
        }

        if (query.UriPrefix is not null)
        {
            And("uri >= $uriPrefix COLLATE NOCASE AND uri < ($uriPrefix || char(1114111)) COLLATE NOCASE");
        }

        if (afterCursor)
        {
            And("(created_at > $afterCreatedAt OR (created_at = $afterCreatedAt AND key > $afterKey))");
        }

        return where.ToString();
    }

    internal static void BindWhere(SqliteCommand command, CacheQuery query)
    {
        var parameters = command.Parameters;
        if (query.Key is not null)
        {
            parameters.AddWithValue("$key", query.Key);
        }

        if (query.PrimaryKey is not null)
        {
            parameters.AddWithValue("$primaryKey", query.PrimaryKey);
        }

        if (query.ExpiredAsOf is { } expiredAsOf)
        {
            parameters.AddWithValue("$expiredAsOf", expiredAsOf.UtcTicks);
        }

        if (query.CreatedBefore is { } createdBefore)
        {
            parameters.AddWithValue("$createdBefore", createdBefore.UtcTicks);
        }

        if (query.CreatedAfter is { } createdAfter)
        {
            parameters.AddWithValue("$createdAfter", createdAfter.UtcTicks);
        }

        if (query.KeepUntilAsOf is { } keepUntilAsOf)
        {
            parameters.AddWithValue("$keepUntilAsOf", keepUntilAsOf.UtcTicks);
        }

        if (query.Uri is not null)
        {
            parameters.AddWithValue("$uri", query.Uri);
        }

        if (query.UriPrefix is not null)
        {
            parameters.AddWithValue("$uriPrefix", query.UriPrefix);
        }
    }

    private static CacheRecord ReadRecord(SqliteDataReader reader) => new()
    {
        Key = reader.GetString(0),
        PrimaryKey = reader.GetString(1),
        Method = reader.GetString(2),
        Uri = reader.GetString(3),
        StatusCode = reader.GetInt32(4),
        CreatedAt = Time(reader.GetInt64(5)),
        ExpiresAt = OptionalTime(reader, 6),
        KeepUntil = OptionalTime(reader, 7),
        Size = reader.GetInt64(8),
        HitCount = reader.GetInt64(9),
        LastAccessedAt = OptionalTime(reader, 10),
        Metadata = Blob(reader, 11),
        Body = Blob(reader, 12),
        BodyStreamed = reader.GetInt64(13) != 0,
    };

    private static CacheRecordInfo ReadInfo(SqliteDataReader reader) => new()
    {
        Key = reader.GetString(0),
        PrimaryKey = reader.GetString(1),
        Method = reader.GetString(2),
        Uri = reader.GetString(3),
        StatusCode = reader.GetInt32(4),
        CreatedAt = Time(reader.GetInt64(5)),
        ExpiresAt = OptionalTime(reader, 6),
        KeepUntil = OptionalTime(reader, 7),
        Size = reader.GetInt64(8),
        HitCount = reader.GetInt64(9),
        LastAccessedAt = OptionalTime(reader, 10),
    };

    private static object Ticks(DateTimeOffset? time) => time is { } t ? t.UtcTicks : DBNull.Value;

    private static DateTimeOffset Time(long utcTicks) => new(utcTicks, TimeSpan.Zero);

    private static DateTimeOffset? OptionalTime(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Time(reader.GetInt64(ordinal));

    private static byte[] Blob(SqliteDataReader reader, int ordinal) => reader.GetFieldValue<byte[]>(ordinal);
}
