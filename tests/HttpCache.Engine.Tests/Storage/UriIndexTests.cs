using System.Text;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Memory;
using HttpCache.Engine.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Listing by URI (Get-HttpCacheEntry -Uri): SQLite answers exact URIs and literal prefixes from ix_entries_uri and
/// its inventory from running totals; a store without the index gives the same answers through the session's scan.
/// </summary>
public sealed class UriIndexTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 14, 15, 9, 26, TimeSpan.Zero);

    private static readonly string[] Uris =
    [
        "https://api.example.test/users/1",
        "https://api.example.test/users/10",
        "https://api.example.test/users/2",
        "https://API.Example.test/Users/3",
        "https://api.example.test/usersettings",
        "https://api.example.test/orders/1",
        "https://other.example.test/users/1",
    ];

    private readonly TempDirectory _folder = new("uri-index");

    public void Dispose() => _folder.Dispose();

    public static TheoryData<string> Backends => ["Sqlite", "Memory"];

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task An_exact_uri_finds_that_entry_only_with_ascii_case_ignored(string backend)
    {
        await using var session = await FilledSessionAsync(backend);

        var found = await ListAsync(session, new CacheQuery { Uri = "https://api.example.test/USERS/1" });

        Assert.Equal(["https://api.example.test/users/1"], found);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_prefix_finds_every_entry_that_starts_with_it_and_no_neighbour(string backend)
    {
        await using var session = await FilledSessionAsync(backend);

        var found = await ListAsync(session, new CacheQuery { UriPrefix = "https://api.example.test/users/" });

        Assert.Equal(
            ["https://API.Example.test/Users/3", "https://api.example.test/users/1", "https://api.example.test/users/10", "https://api.example.test/users/2"],
            found.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_prefix_and_another_filter_must_both_match(string backend)
    {
        await using var session = await FilledSessionAsync(backend);

        // Entries are created one second apart in the order of Uris: the first three are older than T0 + 3 s.
        var found = await ListAsync(session, new CacheQuery { UriPrefix = "https://api.example.test/users", CreatedBefore = T0.AddSeconds(3) });

        Assert.Equal(["https://api.example.test/users/1", "https://api.example.test/users/10", "https://api.example.test/users/2"], found);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Removing_by_prefix_removes_only_the_matching_entries(string backend)
    {
        await using var session = await FilledSessionAsync(backend);

        var removed = await session.RemoveEntriesAsync(new CacheQuery { UriPrefix = "https://api.example.test/users/" });

        Assert.Equal(4, removed);
        Assert.Equal(
            ["https://api.example.test/usersettings", "https://api.example.test/orders/1", "https://other.example.test/users/1"],
            await ListAsync(session, CacheQuery.All));
    }

    [Fact]
    public void Only_sqlite_declares_the_uri_index()
    {
        Assert.IsAssignableFrom<IUriIndexedStore>(new SqliteCacheStore(_folder.File("declares.sqlite")));
        Assert.False(typeof(IUriIndexedStore).IsAssignableFrom(typeof(MemoryCacheStore)));
    }

    [Theory]
    [InlineData("exact")]
    [InlineData("prefix")]
    public async Task Sqlite_answers_uri_filters_from_the_uri_index(string kind)
    {
        var path = _folder.File("plan.sqlite");
        await using (var store = new SqliteCacheStore(path))
        {
            await store.SetAsync(Record("k", "https://api.example.test/users/1", T0));
        }

        var query = kind == "exact"
            ? new CacheQuery { Uri = "https://api.example.test/users/1" }
            : new CacheQuery { UriPrefix = "https://api.example.test/users/" };
        var plan = await PlanAsync(path, SqliteCacheStore.ListSql(query, afterCursor: false), command => SqliteCacheStore.BindWhere(command, query));

        Assert.Contains(plan, step => step.Contains("USING INDEX ix_entries_uri", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN entries", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sqlite_inventory_reads_no_entry_rows()
    {
        var path = _folder.File("inventory.sqlite");
        await using (var store = new SqliteCacheStore(path))
        {
            await store.SetManyAsync([Record("a", "https://a.test/", T0), Record("b", "https://b.test/", T0.AddHours(1))]);
            var inventory = await store.GetInventoryAsync();
            Assert.Equal(2, inventory.Entries);
            Assert.Equal(T0, inventory.Oldest);
            Assert.Equal(T0.AddHours(1), inventory.Newest);
        }

        var plan = await PlanAsync(path, SqliteCacheStore.InventorySql, _ => { });

        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN entries", StringComparison.Ordinal));
        Assert.Contains(plan, step => step.Contains("ix_entries_created_at", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_schema_4_file_gets_the_uri_index_when_opened()
    {
        var path = _folder.File("v4.sqlite");
        await using (var store = new SqliteCacheStore(path))
        {
            await store.SetAsync(Record("k", "https://api.example.test/users/1", T0));
        }

        // Schema 5 only added the index: without it (and what schema 6 added) and at version 4, the file is as schema 4 left it.
        await ExecuteAsync(path, SqliteCacheStoreTests.UndoSchema7 + HostInventoryTests.UndoSchema6 + "DROP INDEX ix_entries_uri; PRAGMA user_version = 4;");

        await using (var reopened = new SqliteCacheStore(path))
        {
            Assert.Single(await reopened.ListAsync(new CacheQuery { Uri = "https://api.example.test/users/1" }).ToListAsync());
        }

        Assert.Equal((long)SqliteSchema.Version, await ScalarAsync(path, "PRAGMA user_version"));
        Assert.Equal(1L, await ScalarAsync(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_entries_uri'"));
    }

    private async Task<HttpCacheSession> FilledSessionAsync(string backend)
    {
        ICacheStore store = backend == "Sqlite" ? new SqliteCacheStore(_folder.File("cache.sqlite")) : new MemoryCacheStore();
        for (var i = 0; i < Uris.Length; i++)
        {
            await store.SetAsync(Record($"k{i}", Uris[i], T0.AddSeconds(i)));
        }

        return new HttpCacheSession(store);
    }

    private static async Task<List<string>> ListAsync(HttpCacheSession session, CacheQuery query) =>
        await session.GetEntriesAsync(query).Select(e => e.Uri).ToListAsync();

    private static CacheRecord Record(string key, string uri, DateTimeOffset createdAt) => new()
    {
        Key = key,
        PrimaryKey = key,
        Method = "GET",
        Uri = uri,
        StatusCode = 200,
        CreatedAt = createdAt,
        Metadata = Encoding.UTF8.GetBytes("meta"),
        Body = Encoding.UTF8.GetBytes("body"),
    };

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static async Task<List<string>> PlanAsync(string path, string sql, Action<SqliteCommand> bind)
    {
        using var connection = Open(path);
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        bind(command);
        var steps = new List<string>();
        using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            steps.Add(reader.GetString(3));
        }

        return steps;
    }

    private static async Task ExecuteAsync(string path, string sql)
    {
        using var connection = Open(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(string path, string sql)
    {
        using var connection = Open(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
