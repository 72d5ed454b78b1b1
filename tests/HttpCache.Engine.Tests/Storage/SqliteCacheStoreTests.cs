using System.Text;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

public sealed partial class SqliteCacheStoreTests : StreamingStoreContractTests
{
    // Generous: only a hang (or a wait of the library's default 30 s) should ever reach it.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(20);

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", Guid.NewGuid().ToString("N"));
    private readonly List<ICacheStore> _extraStores = [];

    private string DatabasePath => Path.Combine(_folder, "cache", "http_cache.sqlite");

    // The file as schema 1 (the first release) created it, kept verbatim: a file that version wrote must open.
    private const string Version1Schema = """
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

    // Schema 2's migration from 1, kept verbatim: a file version 2 wrote must migrate to 3.
    private const string Version1To2Migration = """
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

    // Schema 3's own migration, as that release ran it.
    private const string Version2To3Migration = """
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

    protected override Task<ICacheStore> CreateStoreAsync() => Task.FromResult<ICacheStore>(new SqliteCacheStore(DatabasePath));

    protected override Task<ICacheStore> CreateLimitedStoreAsync(StoreLimits limits) =>
        Task.FromResult<ICacheStore>(new SqliteCacheStore(Path.Combine(_folder, "limited", Guid.NewGuid().ToString("N") + ".sqlite"), limits: limits));

    public override async Task DisposeAsync()
    {
        foreach (var store in _extraStores)
        {
            await store.DisposeAsync();
        }

        await base.DisposeAsync();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private SqliteCacheStore OpenAnother(string? path = null, TimeSpan? busyTimeout = null, StoreLimits? limits = null)
    {
        var store = new SqliteCacheStore(path ?? DatabasePath, busyTimeout, limits);
        _extraStores.Add(store);
        return store;
    }

    protected override ICacheStore OpenAnotherOnTheSameLocation() => OpenAnother();

    protected override Task<long> LeftoversAsync(ICacheStore store) => SqliteLeftovers.CountAsync(store.Location);

    protected override Task<long> BodyBytesAsync(ICacheStore store) => SqliteLeftovers.BodyBytesAsync(store.Location);

    // The library's pool would keep the file open after the test is done with it.
    private SqliteConnection OpenRaw(string? path = null) =>
        new(new SqliteConnectionStringBuilder { DataSource = path ?? DatabasePath, Pooling = false }.ToString());

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    /// <summary>A new file in WAL mode with an earlier release's schema: its scripts, run in order.</summary>
    private async Task<SqliteConnection> OpenWrittenByAsync(string path, params string[] schemaScripts)
    {
        Directory.CreateDirectory(_folder);
        var connection = OpenRaw(path);
        connection.Open();
        await ScalarAsync(connection, "PRAGMA journal_mode = WAL");
        foreach (var script in schemaScripts)
        {
            await ScalarAsync(connection, script);
        }

        return connection;
    }

    private async Task<(long Entries, long Bytes, long CountedEntries, long CountedBytes)> TotalsAsync(string? path = null)
    {
        using var connection = OpenRaw(path);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT entries, bytes, (SELECT COUNT(*) FROM entries), (SELECT COALESCE(SUM(size), 0) FROM entries) FROM totals";
        using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    [Fact]
    public void Is_the_Sqlite_backend_at_its_full_path_and_creates_folder_and_file()
    {
        Assert.Equal("Sqlite", Store.BackendName);
        Assert.Equal(DatabasePath, Store.Location);
        Assert.True(File.Exists(DatabasePath));
    }

    [Fact]
    public void A_relative_path_is_made_full()
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(_folder, "relative.sqlite"));

        var store = OpenAnother(relative);

        Assert.Equal(Path.Combine(_folder, "relative.sqlite"), store.Location);
        Assert.True(Path.IsPathFullyQualified(store.Location));
    }

    [Fact]
    public async Task The_file_is_in_WAL_mode_with_the_current_schema()
    {
        using var connection = OpenRaw();
        connection.Open();
        using var command = connection.CreateCommand();

        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
        command.CommandText = "PRAGMA user_version";
        Assert.Equal(7L, (long?)await command.ExecuteScalarAsync());
        Assert.Equal(7, SqliteSchema.Version);
    }

    [Fact]
    public async Task Disposing_closes_the_file()
    {
        await Store.SetAsync(Record("k1"));
        Assert.True(File.Exists(DatabasePath + "-wal"));

        await Store.DisposeAsync();

        // SQLite checkpoints and deletes the WAL file only when the last connection to the database closes.
        Assert.False(File.Exists(DatabasePath + "-wal"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Store.GetAsync("k1"));
    }

    [Fact]
    public void A_folder_that_cannot_be_created_fails_with_a_clear_error()
    {
        // A regular file in the way: unwritable even for root, unlike a permission bit.
        Directory.CreateDirectory(_folder);
        var blocker = Path.Combine(_folder, "not-a-folder");
        File.WriteAllText(blocker, "x");
        var path = Path.Combine(blocker, "sub", "cache.sqlite");

        var error = Assert.Throws<CacheStoreException>(() => new SqliteCacheStore(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Equal(CacheStoreFailure.Unwritable, error.Failure);
    }

    [Fact]
    public void A_path_that_is_a_folder_fails_with_a_clear_error()
    {
        var path = Path.Combine(_folder, "a-folder");
        Directory.CreateDirectory(path);

        var error = Assert.Throws<CacheStoreException>(() => new SqliteCacheStore(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Equal(CacheStoreFailure.Unwritable, error.Failure);
    }

    [Fact]
    public void A_file_that_is_not_a_database_fails_with_a_clear_error()
    {
        var path = Path.Combine(_folder, "garbage.sqlite");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat("this is not a database, just text. ", 200)));

        var error = Assert.Throws<CacheStoreException>(() => new SqliteCacheStore(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("not an HTTP cache database", error.Message, StringComparison.Ordinal);
        Assert.IsType<SqliteException>(error.InnerException);
        Assert.Equal(CacheStoreFailure.Corrupt, error.Failure);
    }

    [Fact]
    public async Task A_file_from_a_newer_schema_is_refused()
    {
        await Store.DisposeAsync();
        using (var connection = OpenRaw())
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 99";
            await command.ExecuteNonQueryAsync();
        }

        var error = Assert.Throws<CacheStoreException>(() => new SqliteCacheStore(DatabasePath));

        Assert.Contains("schema 99", error.Message, StringComparison.Ordinal);
        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
        Assert.Equal(CacheStoreFailure.Other, error.Failure);
    }

    [Fact]
    public async Task A_write_lock_held_elsewhere_fails_within_the_busy_timeout_while_reads_go_on()
    {
        var store = OpenAnother(busyTimeout: TimeSpan.FromMilliseconds(200));
        await store.SetAsync(Record("before-lock"));
        using var locker = OpenRaw();
        locker.Open();
        using var begin = locker.CreateCommand();
        begin.CommandText = "BEGIN EXCLUSIVE";
        await begin.ExecuteNonQueryAsync();

        // The store works synchronously: run it elsewhere so a hang fails the test instead of stalling it.
        var write = Task.Run(() => store.SetAsync(Record("during-lock")));
        var error = await Assert.ThrowsAsync<CacheStoreException>(() => write.WaitAsync(HangGuard));

        Assert.Contains("locked", error.Message, StringComparison.Ordinal);
        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
        Assert.Equal(CacheStoreFailure.Locked, error.Failure);
        // WAL: a writer holding the lock does not stop readers.
        Assert.NotNull(await Task.Run(() => store.GetAsync("before-lock")).WaitAsync(HangGuard));

        using var rollback = locker.CreateCommand();
        rollback.CommandText = "ROLLBACK";
        await rollback.ExecuteNonQueryAsync();
        await store.SetAsync(Record("after-lock"));
        Assert.NotNull(await store.GetAsync("after-lock"));
    }

    [Fact]
    public async Task A_lock_released_within_the_busy_timeout_is_waited_for()
    {
        var store = OpenAnother(busyTimeout: TimeSpan.FromSeconds(10));
        using var locker = OpenRaw();
        locker.Open();
        using var begin = locker.CreateCommand();
        begin.CommandText = "BEGIN EXCLUSIVE";
        await begin.ExecuteNonQueryAsync();

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var write = Task.Run(() =>
        {
            started.SetResult();
            return store.SetAsync(Record("waited"));
        });
        await started.Task.WaitAsync(HangGuard);
        // The store works synchronously, so the write is on its way to the lock now. Without the busy timeout it
        // would fail as Locked at once (see the test above); waiting, it is still running long after.
        await Task.Delay(500);
        Assert.False(write.IsCompleted, $"the write ended while the lock was held: {write.Status} {write.Exception?.InnerException?.Message}");
        // WAL: readers pass the lock, and do not see the waiting write.
        Assert.Null(await Task.Run(() => store.GetAsync("waited")).WaitAsync(HangGuard));

        using var commit = locker.CreateCommand();
        commit.CommandText = "COMMIT";
        await commit.ExecuteNonQueryAsync();

        await write.WaitAsync(HangGuard);
        Assert.NotNull(await store.GetAsync("waited"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_busy_timeout_must_be_positive(int milliseconds) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteCacheStore(DatabasePath, TimeSpan.FromMilliseconds(milliseconds)));

    [Fact]
    public async Task A_limited_write_that_meets_a_lock_fails_as_Locked()
    {
        var store = OpenAnother(busyTimeout: TimeSpan.FromMilliseconds(200), limits: new StoreLimits { MaxEntries = 10 });
        using var locker = OpenRaw();
        locker.Open();
        await ScalarAsync(locker, "BEGIN EXCLUSIVE");

        var write = Task.Run(() => store.SetAsync(Record("during-lock")));
        var error = await Assert.ThrowsAsync<CacheStoreException>(() => write.WaitAsync(HangGuard));

        Assert.Equal(CacheStoreFailure.Locked, error.Failure);
        await ScalarAsync(locker, "ROLLBACK");
        await store.SetAsync(Record("after-lock"));
        Assert.NotNull(await store.GetAsync("after-lock"));
    }

    [Fact]
    public async Task A_file_written_by_schema_1_is_migrated_and_keeps_everything()
    {
        var path = Path.Combine(_folder, "v1.sqlite");
        using (var connection = await OpenWrittenByAsync(path, Version1Schema))
        {
            for (var i = 0; i < 3; i++)
            {
                using var insert = connection.CreateCommand();
                // As schema 1's writer stored an entry.
                insert.CommandText = """
                    INSERT OR REPLACE INTO entries (key, primary_key, method, uri, status, created_at, expires_at, keep_until,
                                                    size, hit_count, last_accessed_at, metadata, body)
                    VALUES ($key, $key, 'GET', 'https://example.test/', 200, $createdAt, NULL, NULL, $size, 0, NULL, $metadata, $body)
                    """;
                insert.Parameters.AddWithValue("$key", $"old-{i}");
                insert.Parameters.AddWithValue("$createdAt", T0.AddSeconds(i).UtcTicks);
                insert.Parameters.AddWithValue("$size", 4L + 5);
                insert.Parameters.AddWithValue("$metadata", Encoding.UTF8.GetBytes("meta"));
                insert.Parameters.AddWithValue("$body", Encoding.UTF8.GetBytes($"body{i}"));
                await insert.ExecuteNonQueryAsync();
            }

            await ScalarAsync(connection, "INSERT INTO counters (name, value) VALUES ('hits', 7)");
        }

        var store = OpenAnother(path, limits: new StoreLimits { MaxEntries = 3 });

        using (var connection = OpenRaw(path))
        {
            connection.Open();
            // 1 -> 2 -> 3 -> 4 -> 5 -> 6, in one go.
            Assert.Equal(7L, (long?)await ScalarAsync(connection, "PRAGMA user_version"));
        }

        Assert.Equal("body1", Encoding.UTF8.GetString((await store.GetAsync("old-1"))!.Body));
        Assert.False((await store.GetAsync("old-1"))!.BodyStreamed);
        Assert.Equal(7, (await store.GetCountersAsync())["hits"]);
        Assert.Equal(new StoreInventory(3, 27, T0, T0.AddSeconds(2)), await store.GetInventoryAsync());
        Assert.Equal((3L, 27L, 3L, 27L), await TotalsAsync(path));

        // The limits work on the migrated file: the oldest of the old entries goes.
        await store.SetAsync(Record("new", createdAt: T0.AddSeconds(3)));
        Assert.Null(await store.GetAsync("old-0"));
        Assert.Equal(1, (await store.GetCountersAsync())["evictions"]);
        var totals = await TotalsAsync(path);
        Assert.Equal((totals.CountedEntries, totals.CountedBytes), (totals.Entries, totals.Bytes));

        // And it opens again as it is, migrated once.
        var again = OpenAnother(path);
        Assert.Equal(3, (await again.GetInventoryAsync()).Entries);
    }

    [Fact]
    public async Task The_running_total_stays_exact_through_every_kind_of_change()
    {
        await Store.SetAsync(Record("a", primaryKey: "P", body: "12345"));
        await Store.SetAsync(Record("b", primaryKey: "P", body: "1"));
        await Store.SetAsync(Record("c", body: ""));
        await Store.SetAsync(Record("a", primaryKey: "Q", body: "1234567890"));
        await Store.SetAsync(Record("b", primaryKey: "P", body: ""));
        await Store.RecordAccessAsync([new EntryAccess("a", 2, T0.AddMinutes(1))]);
        await Store.UpdateExpirationAsync("c", T0, T0);
        await Store.RemoveAsync(new CacheQuery { Key = "b" });
        await Store.SetAsync(Record("d", body: "xyz"));
        await Store.RemoveAsync(new CacheQuery { KeepUntilAsOf = T0 });

        var totals = await TotalsAsync();
        Assert.Equal((2L, totals.CountedBytes), (totals.Entries, totals.Bytes));
        Assert.Equal(2L, totals.CountedEntries);

        await Store.RemoveAsync(CacheQuery.All);
        Assert.Equal((0L, 0L, 0L, 0L), await TotalsAsync());
    }

    [Fact]
    public async Task Evictions_and_purges_walk_their_indexes()
    {
        using var connection = OpenRaw();
        connection.Open();

        Assert.Contains("ix_entries_lru", await PlanAsync(connection, SqliteCacheStore.LruSql.Replace("$key", "'k'", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("ix_entries_keep_until", await PlanAsync(connection, "SELECT key FROM entries WHERE keep_until <= 5"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_limited_stores_on_one_file_never_leave_it_over_its_bounds()
    {
        const int tasksPerStore = 4;
        const int writesEach = 25;
        var limits = new StoreLimits { MaxEntries = 10 };
        var stores = new[] { OpenAnother(limits: limits), OpenAnother(limits: limits) };

        await Task.WhenAll(stores.SelectMany((store, s) => Enumerable.Range(0, tasksPerStore).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < writesEach; i++)
            {
                await store.SetAsync(Record($"s{s}-t{t}-w{i}", createdAt: T0.AddSeconds(i)));
            }
        }))));

        var inventory = await Store.GetInventoryAsync();
        Assert.Equal(10, inventory.Entries);
        Assert.Equal((2 * tasksPerStore * writesEach) - 10, (await Store.GetCountersAsync())["evictions"]);
        var totals = await TotalsAsync();
        Assert.Equal((totals.CountedEntries, totals.CountedBytes), (totals.Entries, totals.Bytes));
    }

    private static async Task<string> PlanAsync(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        using var reader = await command.ExecuteReaderAsync();
        var plan = new StringBuilder();
        while (await reader.ReadAsync())
        {
            plan.AppendLine(reader.GetString(3));
        }

        return plan.ToString();
    }
}
