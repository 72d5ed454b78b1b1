using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Schema 7: a streamed body's file lives exactly as long as its entry. Every way an entry goes (removal by key or by
/// query, a clear, expiry cleanup, eviction, a replacing write, streamed or not) deletes its file once the transaction
/// commits, and its size counts in every total as the chunks did.
/// </summary>
public sealed partial class SqliteCacheStoreTests
{
    private const int FileBody = (3 * 1024 * 1024 / 2) + 5;

    [Fact]
    public async Task A_streamed_body_lands_as_a_file_and_nothing_of_it_in_body_chunks()
    {
        var body = Bytes(FileBody, seed: 70);
        await WriteStreamedAsync(Streaming, StreamRecord("k"), body);

        var file = Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath)).Value;
        Assert.Equal(body, await File.ReadAllBytesAsync(file.FullName));
        using var connection = OpenRaw();
        connection.Open();
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM body_chunks"));
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM dead_bodies"));
        Assert.Equal(body, await ReadBodyAsync(Streaming, "k"));
        if (!OperatingSystem.IsWindows())
        {
            // Owner-only, like the database.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(file.DirectoryName!));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file.FullName));
        }
    }

    [Fact]
    public async Task Removing_by_key_by_query_by_expiry_and_clearing_delete_the_files()
    {
        await WriteStreamedAsync(Streaming, StreamRecord("by-key"), Bytes(FileBody, seed: 71));
        await WriteStreamedAsync(Streaming, StreamRecord("by-primary", primaryKey: "p"), Bytes(FileBody, seed: 72));
        await WriteStreamedAsync(Streaming, StreamRecord("expired"), Bytes(FileBody, seed: 73));
        Assert.True(await Store.UpdateExpirationAsync("expired", T0.AddMinutes(-1), keepUntil: null));
        await WriteStreamedAsync(Streaming, StreamRecord("rest-1"), Bytes(FileBody, seed: 74));
        await WriteStreamedAsync(Streaming, StreamRecord("rest-2"), Bytes(FileBody, seed: 75));
        Assert.Equal(5, SqliteLeftovers.BodyFiles(DatabasePath).Count);

        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { Key = "by-key" }));
        Assert.Equal(4, SqliteLeftovers.BodyFiles(DatabasePath).Count);
        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { PrimaryKey = "p" }));
        Assert.Equal(3, SqliteLeftovers.BodyFiles(DatabasePath).Count);
        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { ExpiredAsOf = T0 }));
        Assert.Equal(2, SqliteLeftovers.BodyFiles(DatabasePath).Count);
        Assert.Equal(Bytes(FileBody, seed: 74), await ReadBodyAsync(Streaming, "rest-1"));

        Assert.Equal(2, await Store.RemoveAsync(CacheQuery.All));
        Assert.Empty(SqliteLeftovers.BodyFiles(DatabasePath));
        Assert.Equal(0, await LeftoversAsync(Store));
    }

    [Fact]
    public async Task Replacing_a_streamed_entry_by_another_or_by_a_normal_one_deletes_the_old_file()
    {
        await WriteStreamedAsync(Streaming, StreamRecord("k"), Bytes(FileBody, seed: 76));
        var first = Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath)).Key;

        var second = Bytes(FileBody + 1, seed: 77);
        await WriteStreamedAsync(Streaming, StreamRecord("k"), second);
        var now = Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath));
        Assert.NotEqual(first, now.Key);
        Assert.Equal(second, await ReadBodyAsync(Streaming, "k"));

        await Store.SetAsync(Record("k", body: "small now"));
        Assert.Empty(SqliteLeftovers.BodyFiles(DatabasePath));
        Assert.Equal(0, await LeftoversAsync(Store));

        // And a batch that replaces one again.
        await WriteStreamedAsync(Streaming, StreamRecord("k"), second);
        await Store.SetManyAsync([Record("k", body: "again"), Record("other")]);
        Assert.Empty(SqliteLeftovers.BodyFiles(DatabasePath));
    }

    [Fact]
    public async Task Eviction_deletes_the_files_of_its_victims_and_MaxBytes_counts_the_file_bodies()
    {
        var bodyBytes = (long)FileBody + StreamRecord("s0").Metadata.Length;
        var store = OpenAnother(Path.Combine(_folder, "evicting.sqlite"), limits: new StoreLimits { MaxBytes = (2 * bodyBytes) + 100 });
        for (var i = 0; i < 3; i++)
        {
            await WriteStreamedAsync(store, StreamRecord($"s{i}", createdAt: T0.AddSeconds(i)), Bytes(FileBody, seed: 78 + i));
        }

        // Two fit; the oldest went, with its file.
        Assert.Null(await store.GetAsync("s0"));
        Assert.Equal(2, SqliteLeftovers.BodyFiles(store.Location).Count);
        Assert.Equal(2 * bodyBytes, (await store.GetInventoryAsync()).Bytes);
        Assert.Equal(1, (await store.GetCountersAsync())[StoreLimitsRules.EvictionsCounter]);

        // A streamed write that can never fit stores nothing, leaves no file, and takes the entry it would replace.
        var tooLarge = OpenAnother(store.Location, limits: new StoreLimits { MaxBytes = FileBody / 2 });
        await WriteStreamedAsync(tooLarge, StreamRecord("s2"), Bytes(FileBody, seed: 90));
        Assert.Null(await store.GetAsync("s2"));
        Assert.Single(SqliteLeftovers.BodyFiles(store.Location));
        Assert.Equal(0, await LeftoversAsync(store));
    }

    [Fact]
    public async Task Totals_host_figures_and_listed_sizes_count_a_file_body_as_they_counted_chunks()
    {
        var record = StreamRecord("k");
        await WriteStreamedAsync(Streaming, record, Bytes(FileBody, seed: 91));
        await Store.SetAsync(Record("small"));
        var expected = record.Metadata.Length + (long)FileBody;

        Assert.Equal(expected, (await Store.GetAsync("k"))!.Size);
        var listed = await ToListAsync(Store.ListAsync(new CacheQuery { Key = "k" }));
        Assert.Equal(expected, Assert.Single(listed).Size);
        Assert.Equal(expected + SizeOf(Record("small")), (await Store.GetInventoryAsync()).Bytes);
        var host = Assert.Single(await ((IHostIndexedStore)Store).GetHostInventoryAsync(T0));
        Assert.Equal((2L, expected + SizeOf(Record("small"))), (host.Entries, host.Bytes));
        var totals = await TotalsAsync();
        Assert.Equal((totals.CountedEntries, totals.CountedBytes), (totals.Entries, totals.Bytes));

        await Store.RemoveAsync(new CacheQuery { Key = "k" });
        Assert.Equal(SizeOf(Record("small")), (await Store.GetInventoryAsync()).Bytes);
    }
}
