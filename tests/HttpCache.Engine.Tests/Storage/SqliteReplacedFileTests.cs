using System.Security.Cryptography;
using System.Text;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A cache file deleted or emptied under an open store is noticed: the call that notices fails once with a message
/// saying what happened (the engine warns and the origin answers), and the store goes on with a new file at the path.
/// A file replaced by another (a cache or a database of another program) is noticed and left untouched: every call
/// fails saying so, and the session answers from the origin.
/// </summary>
public sealed class SqliteReplacedFileTests : IAsyncLifetime
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "replaced-" + Guid.NewGuid().ToString("N"));
    private SqliteCacheStore store = null!;

    private string File => Path.Combine(folder, "cache.sqlite");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(folder);
        // Every call checks the file: the test needs no wait for the once-a-second check.
        store = new SqliteCacheStore(File) { FileCheckIntervalMs = 0 };
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_file_replaced_by_another_is_noticed_and_left_alone()
    {
        await store.SetAsync(Record("a"));
        var other = Path.Combine(folder, "other.sqlite");
        await using (var second = new SqliteCacheStore(other))
        {
            await second.SetAsync(Record("b"));
        }

        System.IO.File.Move(other, File, overwrite: true);
        var before = Convert.ToHexString(SHA256.HashData(await System.IO.File.ReadAllBytesAsync(File)));

        var noticed = await Assert.ThrowsAsync<CacheStoreException>(() => store.GetAsync("a"));
        var still = await Assert.ThrowsAsync<CacheStoreException>(() => store.SetAsync(Record("c")));

        Assert.Contains("was replaced by another file while in use", noticed.Message, StringComparison.Ordinal);
        Assert.Equal(CacheStoreFailure.Corrupt, still.Failure);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(await System.IO.File.ReadAllBytesAsync(File))));
    }

    [Theory]
    [InlineData("emptied")]
    [InlineData("deleted")]
    public async Task A_file_emptied_or_deleted_is_noticed_once_and_caching_goes_on(string how)
    {
        await store.SetAsync(Record("a"));
        if (how == "emptied")
        {
            await using var truncate = new FileStream(File, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            truncate.SetLength(0);
        }
        else
        {
            System.IO.File.Delete(File);
        }

        var noticed = await Assert.ThrowsAsync<CacheStoreException>(() => store.GetAsync("a"));
        Assert.Contains($"was {how} while in use", noticed.Message, StringComparison.Ordinal);
        await store.SetAsync(Record("c"));
        Assert.Equal("c", Encoding.UTF8.GetString((await store.GetAsync("c"))!.Body));
    }

    [Fact]
    public async Task A_file_replaced_by_another_programs_database_is_left_untouched_call_after_call()
    {
        await store.SetAsync(Record("a"));
        var foreign = Path.Combine(folder, "foreign.sqlite");
        await using (var connection = new SqliteConnection($"Data Source={foreign};Pooling=False"))
        {
            connection.Open();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');";
            await command.ExecuteNonQueryAsync();
        }

        System.IO.File.Move(foreign, File, overwrite: true);
        var before = Convert.ToHexString(SHA256.HashData(await System.IO.File.ReadAllBytesAsync(File)));

        var first = await Assert.ThrowsAsync<CacheStoreException>(() => store.SetAsync(Record("b")));
        var second = await Assert.ThrowsAsync<CacheStoreException>(() => store.GetAsync("a"));

        Assert.Contains("was replaced by another file while in use", first.Message, StringComparison.Ordinal);
        Assert.Equal(CacheStoreFailure.Corrupt, second.Failure);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(await System.IO.File.ReadAllBytesAsync(File))));
    }

    private static CacheRecord Record(string key) => new()
    {
        Key = key,
        PrimaryKey = key,
        Method = "GET",
        Uri = "https://example.test/" + key,
        StatusCode = 200,
        CreatedAt = DateTimeOffset.UnixEpoch,
        Metadata = [1],
        Body = Encoding.UTF8.GetBytes(key),
    };

    public async Task DisposeAsync()
    {
        await store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }
}
