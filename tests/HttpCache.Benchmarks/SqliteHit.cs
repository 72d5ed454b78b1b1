using BenchmarkDotNet.Attributes;
using HttpCache.Engine;
using HttpCache.Engine.Http;
using HttpCache.Engine.Storage.Memory;
using HttpCache.Engine.Storage.Sqlite;
using HttpCache.Testing;
using Microsoft.Data.Sqlite;

namespace HttpCache.Benchmarks;

/// <summary>
/// A cache hit through the engine over SQLite (a GET of a stored URL with a 1 KiB body, read whole) against
/// its floor: a raw Microsoft.Data.Sqlite point-select of the same 1 KiB blob from a table in a file, on a
/// connection kept open, with a prepared command. Target: the engine hit within 3x of the floor.
/// </summary>
/// <remarks>
/// EngineHitMemoryStore is the same GET over the Memory store: the engine's own cost with (next to) no
/// store, so the gap between it and EngineHit is what SQLite costs inside the engine.
/// </remarks>
[MemoryDiagnoser]
public class SqliteHit
{
    private string? folder;
    private TestOrigin? origin;
    private HttpCacheSession? sqliteSession;
    private HttpCacheSession? memorySession;
    private SqliteConnection? connection;
    private SqliteCommand? select;
    private Uri url = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        folder = Fixtures.NewTempFolder("sqlite-hit");
        origin = await Fixtures.StartOriginAsync();
        url = origin.Url(Fixtures.BodyPath);

        sqliteSession = EngineFixture.Session(new SqliteCacheStore(Path.Combine(folder, "cache.db")));
        await EngineFixture.PrestoreAsync(sqliteSession, origin, url);
        memorySession = EngineFixture.Session(new MemoryCacheStore());
        await EngineFixture.PrestoreAsync(memorySession, origin, url);

        // The floor: the same blob under a key like the engine's, in a WAL file like the store's.
        var key = CacheKey.Primary("GET", url, null);
        connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(folder, "floor.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        connection.Open();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "PRAGMA journal_mode = WAL; CREATE TABLE t (key TEXT NOT NULL PRIMARY KEY, body BLOB NOT NULL);";
            create.ExecuteNonQuery();
        }

        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO t (key, body) VALUES ($k, $b)";
            insert.Parameters.AddWithValue("$k", key);
            insert.Parameters.AddWithValue("$b", Fixtures.Body);
            insert.ExecuteNonQuery();
        }

        select = connection.CreateCommand();
        select.CommandText = "SELECT body FROM t WHERE key = $k";
        select.Parameters.AddWithValue("$k", key);
        select.Prepare();
        Fixtures.Check(RawSqliteSelect().AsSpan().SequenceEqual(Fixtures.Body), "the floor reads the 1 KiB blob");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        select?.Dispose();
        connection?.Dispose();
        if (memorySession is not null)
        {
            await memorySession.DisposeAsync();
        }

        await EngineFixture.DisposeAsync(sqliteSession, origin);
        Fixtures.DeleteTempFolder(folder);
    }

    /// <summary>The floor: a prepared point-select of the blob, read into a byte[].</summary>
    [Benchmark(Baseline = true)]
    public byte[] RawSqliteSelect()
    {
        using var reader = select!.ExecuteReader();
        reader.Read();
        return reader.GetFieldValue<byte[]>(0);
    }

    /// <summary>A fresh hit through HttpCacheSession over SqliteCacheStore.</summary>
    [Benchmark]
    public Task<byte[]> EngineHit() => EngineFixture.GetAsync(sqliteSession!, url);

    /// <summary>The same hit over MemoryCacheStore: the engine without the store's cost.</summary>
    [Benchmark]
    public Task<byte[]> EngineHitMemoryStore() => EngineFixture.GetAsync(memorySession!, url);
}
