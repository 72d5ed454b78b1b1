using System.Text;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A cache database deleted under an open store is made again at its path (SqliteReplacedFileTests); the body files of
/// the database that went point nowhere then, and go at that reopening, while new large bodies are stored as before.
/// </summary>
public sealed class SqliteDeletedDatabaseBodyFilesTests : IAsyncLifetime
{
    private readonly TempDirectory folder = new("deleted-db-bodies");
    private SqliteCacheStore store = null!;

    private string Database => folder.File("cache.sqlite");

    public Task InitializeAsync()
    {
        store = new SqliteCacheStore(Database) { FileCheckIntervalMs = 0 };
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_body_files_of_a_deleted_database_go_when_it_is_made_again()
    {
        await WriteAsync("old", 2 * 1024 * 1024);
        var old = Assert.Single(SqliteLeftovers.BodyFiles(Database)).Value;

        File.Delete(Database);
        var noticed = await Assert.ThrowsAsync<CacheStoreException>(() => store.GetAsync("old"));
        Assert.Contains("was deleted while in use", noticed.Message, StringComparison.Ordinal);

        Assert.False(File.Exists(old.FullName));
        await WriteAsync("new", 3 * 1024 * 1024);
        await using var body = (await store.OpenBodyAsync("new"))!;
        Assert.Equal(3 * 1024 * 1024, body.Length);
        Assert.Null(await store.OpenBodyAsync("old"));
        Assert.Equal(0, await SqliteLeftovers.CountAsync(Database));
    }

    private async Task WriteAsync(string key, int length)
    {
        await using var writer = await store.BeginWriteAsync(new CacheRecord
        {
            Key = key,
            PrimaryKey = key,
            Method = "GET",
            Uri = "https://example.test/" + key,
            StatusCode = 200,
            CreatedAt = DateTimeOffset.UnixEpoch,
            BodyStreamed = true,
            Metadata = Encoding.UTF8.GetBytes("meta"),
            Body = [],
        });
        await writer.WriteAsync(new byte[length]);
        await writer.CommitAsync();
    }

    public async Task DisposeAsync()
    {
        await store.DisposeAsync();
        folder.Dispose();
    }
}
