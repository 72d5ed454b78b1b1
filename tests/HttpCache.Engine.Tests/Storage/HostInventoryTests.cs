using System.Text;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Memory;
using HttpCache.Engine.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Get-HttpCacheStats -GroupBy Host: SQLite (schema 6) keeps per-host running totals and indexes by host, and must
/// give exactly what grouping a listing of every entry gives, after every kind of change; the other stores group a listing.
/// </summary>
public sealed class HostInventoryTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 14, 15, 9, 26, TimeSpan.Zero);

    /// <summary>Turns a schema-6 file into what schema 5 left: no host column, hosts table, host indexes or host triggers.</summary>
    internal const string UndoSchema6 = """
        DROP TRIGGER tr_entries_host_same;
        DROP TRIGGER tr_entries_host_moved;
        DROP TRIGGER tr_entries_delete;
        CREATE TRIGGER tr_entries_delete AFTER DELETE ON entries BEGIN
            UPDATE totals SET entries = entries - 1, bytes = bytes - old.size WHERE id = 1;
        END;
        DROP INDEX ix_entries_host_created;
        DROP INDEX ix_entries_host_expires;
        DROP INDEX ix_entries_host_accessed;
        DROP TABLE hosts;
        ALTER TABLE entries DROP COLUMN host;
        PRAGMA user_version = 5;
        """;

    private readonly TempDirectory _folder = new("host-inventory");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Sqlite_per_host_figures_match_a_listing_after_writes_replacements_hits_removals_and_expiry_resets()
    {
        await using var store = new SqliteCacheStore(_folder.File("changes.sqlite"));
        var now = T0.AddMinutes(30);

        await store.SetManyAsync(
        [
            Record("a1", "https://api.example.test/users/1", T0, expiresAt: T0.AddMinutes(10)),
            Record("a2", "https://API.Example.test/users/2", T0.AddMinutes(1), expiresAt: T0.AddHours(1)),
            Record("a3", "https://api.example.test/orders", T0.AddMinutes(2)),
            Record("b1", "http://other.test:8080/x", T0.AddMinutes(3), expiresAt: T0.AddMinutes(20)),
            Record("c1", "not a url", T0.AddMinutes(4)),
        ]);
        var first = await AssertMatchesListingAsync(store, now);
        var api = first.Single(h => h.Host == "api.example.test");
        Assert.Equal(["(unknown)", "api.example.test", "other.test:8080"], first.Select(h => h.Host));
        Assert.Equal((3L, 1L, T0, T0.AddMinutes(2)), (api.Entries, api.Expired, api.Oldest, api.Newest));
        Assert.Null(api.LastAccessed);

        // A replacement with another size and hit count, hits recorded, and a key that moves to another host.
        await store.SetAsync(Record("a3", "https://api.example.test/orders", T0.AddMinutes(5), body: "a much longer body", hitCount: 4));
        await store.RecordAccessAsync([new EntryAccess("a1", 3, T0.AddMinutes(6)), new EntryAccess("b1", 1, T0.AddMinutes(7))]);
        await store.SetAsync(Record("c1", "https://other.test:8080/moved", T0.AddMinutes(8)));
        var second = await AssertMatchesListingAsync(store, now);
        Assert.Equal(["api.example.test", "other.test:8080"], second.Select(h => h.Host));
        Assert.Equal((7L, T0.AddMinutes(6)), (second[0].Hits, second[0].LastAccessed));

        // Removing the entry that held the latest access and the oldest time, and an expiry reset.
        await store.RemoveAsync(new CacheQuery { Key = "a1" });
        await store.UpdateExpirationAsync("a2", T0.AddMinutes(15), null);
        var third = await AssertMatchesListingAsync(store, now);
        Assert.Equal((2L, 4L, 1L, T0.AddMinutes(1), (DateTimeOffset?)null), (third[0].Entries, third[0].Hits, third[0].Expired, third[0].Oldest, third[0].LastAccessed));

        // A host whose every entry went is no longer listed.
        await store.RemoveAsync(new CacheQuery { UriPrefix = "https://api.example.test/" });
        Assert.Equal(["other.test:8080"], (await AssertMatchesListingAsync(store, now)).Select(h => h.Host));
    }

    [Fact]
    public async Task Sqlite_per_host_figures_follow_evictions_and_streamed_bodies()
    {
        await using var store = new SqliteCacheStore(_folder.File("limits.sqlite"), limits: new StoreLimits { MaxEntries = 3 });
        for (var i = 0; i < 6; i++)
        {
            await store.SetAsync(Record($"k{i}", $"https://h{i % 2}.test/{i}", T0.AddMinutes(i), expiresAt: T0.AddMinutes(i * 10)));
        }

        var writer = await store.BeginWriteAsync(Record("s", "https://h0.test/streamed", T0.AddMinutes(9)));
        await writer.WriteAsync(Encoding.UTF8.GetBytes(new string('x', 3000)));
        await writer.CommitAsync();

        var hosts = await AssertMatchesListingAsync(store, T0.AddMinutes(35));
        Assert.Equal(3L, hosts.Sum(h => h.Entries));
    }

    [Fact]
    public async Task Sqlite_host_inventory_reads_no_entry_rows()
    {
        var path = _folder.File("plan.sqlite");
        await using (var store = new SqliteCacheStore(path))
        {
            await store.SetAsync(Record("k", "https://api.example.test/users/1", T0));
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + SqliteCacheStore.HostInventorySql;
        command.Parameters.AddWithValue("$now", T0.UtcTicks);
        var plan = new List<string>();
        using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(3));
            }
        }

        // Every subquery is a search of an index the host leads; only the small hosts table is walked.
        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN e", StringComparison.Ordinal));
        foreach (var index in new[] { "ix_entries_host_expires", "ix_entries_host_created", "ix_entries_host_accessed" })
        {
            Assert.Contains(plan, step => step.StartsWith("SEARCH e USING COVERING INDEX " + index, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_schema_5_file_gets_per_host_figures_when_opened()
    {
        var path = _folder.File("v5.sqlite");
        await using (var store = new SqliteCacheStore(path))
        {
            await store.SetManyAsync(
            [
                Record("a", "https://a.test/1", T0, expiresAt: T0.AddMinutes(1), hitCount: 2),
                Record("b", "https://a.test/2", T0.AddMinutes(1)),
                Record("c", "http://b.test:81/", T0.AddMinutes(2)),
            ]);
            await store.RecordAccessAsync([new EntryAccess("b", 1, T0.AddMinutes(3))]);
        }

        await ExecuteAsync(path, SqliteCacheStoreTests.UndoSchema7 + UndoSchema6);

        await using (var reopened = new SqliteCacheStore(path))
        {
            var hosts = await AssertMatchesListingAsync(reopened, T0.AddMinutes(5));
            Assert.Equal(["a.test", "b.test:81"], hosts.Select(h => h.Host));
            Assert.Equal((2L, 3L, 1L, T0.AddMinutes(3)), (hosts[0].Entries, hosts[0].Hits, hosts[0].Expired, hosts[0].LastAccessed));

            // And the migrated file keeps them from then on.
            await reopened.RemoveAsync(new CacheQuery { Key = "a" });
            await AssertMatchesListingAsync(reopened, T0.AddMinutes(5));
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var version = connection.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        Assert.Equal((long)SqliteSchema.Version, (long?)await version.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_session_groups_by_host_alike_over_sqlite_and_over_a_store_that_lists()
    {
        var clock = new FakeTimeProvider(T0.AddMinutes(3));
        await using var sqlite = new HttpCacheSession(new SqliteCacheStore(_folder.File("session.sqlite")), timeProvider: clock);
        await using var memory = new HttpCacheSession(new MemoryCacheStore(), timeProvider: clock);
        foreach (var session in new[] { sqlite, memory })
        {
            Assert.Empty(await session.GetHostInventoryAsync());
            for (var i = 0; i < 5; i++)
            {
                await session.Store.SetAsync(Record($"k{i}", $"https://h{i % 2}.test/{i}", T0.AddMinutes(i), expiresAt: T0.AddMinutes(2 * i)));
            }
        }

        var fromSqlite = await sqlite.GetHostInventoryAsync();
        Assert.Equal(await memory.GetHostInventoryAsync(), fromSqlite);
        Assert.Equal([("h0.test", 3L, 1L), ("h1.test", 2L, 1L)], fromSqlite.Select(h => (h.Host, h.Entries, h.Expired)));
    }

    // The store's answer, and the same figures computed from a listing of every entry, must agree to the last field.
    private static async Task<IReadOnlyList<HostInventory>> AssertMatchesListingAsync(SqliteCacheStore store, DateTimeOffset now)
    {
        var listed = HostInventory.FromEntries(await store.ListAsync(CacheQuery.All).ToListAsync(), now);
        var kept = await store.GetHostInventoryAsync(now);
        Assert.Equal(listed, kept);
        return kept;
    }

    private static CacheRecord Record(
        string key, string uri, DateTimeOffset createdAt, DateTimeOffset? expiresAt = null, string body = "body", long hitCount = 0) => new()
    {
        Key = key,
        PrimaryKey = key,
        Method = "GET",
        Uri = uri,
        StatusCode = 200,
        CreatedAt = createdAt,
        ExpiresAt = expiresAt,
        HitCount = hitCount,
        Metadata = Encoding.UTF8.GetBytes("meta"),
        Body = Encoding.UTF8.GetBytes(body),
    };

    private static async Task ExecuteAsync(string path, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
