using System.Security.Cryptography;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A database of another program at the cache's path is refused with a clear error, and nothing is written to
/// it: no tables added, no user_version, not even WAL mode (which rewrites the file's header), no -wal file.
/// </summary>
public sealed class SqliteForeignFileTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "foreign-" + Guid.NewGuid().ToString("N"));

    public SqliteForeignFileTests() => Directory.CreateDirectory(folder);

    private string File => Path.Combine(folder, "app.sqlite");

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public void A_database_with_tables_of_its_own_is_refused_and_left_exactly_as_it_was(int userVersion)
    {
        using (var connection = Open())
        {
            Run(connection, $"CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('mine'); PRAGMA user_version = {userVersion};");
        }

        var before = Convert.ToHexString(SHA256.HashData(System.IO.File.ReadAllBytes(File)));

        var refused = Assert.Throws<CacheStoreException>(() => new SqliteCacheStore(File));

        Assert.Equal(CacheStoreFailure.Corrupt, refused.Failure);
        Assert.Contains("another program", refused.Message, StringComparison.Ordinal);
        Assert.Contains("notes", refused.Message, StringComparison.Ordinal);
        Assert.Contains("wrote nothing", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(System.IO.File.ReadAllBytes(File))));
        Assert.Equal("app.sqlite", Path.GetFileName(Assert.Single(Directory.EnumerateFiles(folder))));
    }

    [Fact]
    public async Task An_empty_file_and_a_cache_file_still_open()
    {
        await System.IO.File.WriteAllBytesAsync(File, []);
        await (new SqliteCacheStore(File)).DisposeAsync();
        await using var again = new SqliteCacheStore(File);

        Assert.Equal(0, (await again.GetInventoryAsync()).Entries);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={File};Pooling=False");
        connection.Open();
        return connection;
    }

    private static void Run(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }
}
