using System.Text;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;
using HttpCache.Engine.Storage.Memory;
using HttpCache.Engine.Storage.Redis;
using HttpCache.Engine.Storage.Sqlite;
using HttpCache.Engine.Tests.Http;
using HttpCache.Testing;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Damage never becomes an answer, on every backend: a stored body is damaged where the backend keeps it (a
/// file, a row, a Redis value), and the next request must not get it. The entry is removed, counted in
/// CorruptEntries, warned about, and the origin answers; the request after that is a clean hit.
/// </summary>
public abstract partial class BodyIntegrityContractTests : IAsyncLifetime
{
    private const int Size = 5000;
    private TestOrigin? origin;

    protected TestOrigin Origin => origin ?? throw new InvalidOperationException("The origin starts in InitializeAsync.");

    /// <summary>A new, empty store; the test disposes it.</summary>
    protected abstract ICacheStore CreateStore();

    /// <summary>Replaces the stored body of <paramref name="key"/> in place, as the backend keeps it.</summary>
    protected abstract Task DamageBodyAsync(ICacheStore store, string key, Func<byte[], byte[]> damage);

    public async Task InitializeAsync() => origin = await TestOrigin.StartAsync();

    public virtual async Task DisposeAsync() => await Origin.DisposeAsync();

    /// <summary>The ways a body is found damaged: garbage, cut short (still announced at full length), emptied.</summary>
    public static TheoryData<string> Damages => ["other bytes", "cut short", "emptied"];

    protected static byte[] Damage(string how, byte[] body) => how switch
    {
        "other bytes" => [.. body.Select((b, i) => i == body.Length / 2 ? (byte)(b ^ 0x5A) : b)],
        "cut short" => body[..100],
        "emptied" => [],
        _ => throw new ArgumentOutOfRangeException(nameof(how), how, null),
    };

    protected static byte[] Expected(int size) => Enumerable.Range(0, size).Select(i => (byte)('a' + (i % 26))).ToArray();

    protected string ServeBody(int size)
    {
        var path = Origin.NewPath("integrity");
        var body = Expected(size);
        Origin.Map(path, async context =>
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        });
        return path;
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task A_damaged_body_is_never_served_it_is_removed_counted_and_fetched_again(string how)
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var path = ServeBody(Size);
        var url = Origin.Url(path);

        var first = await harness.GetAsync(url);
        Assert.False(first.Info.FromCache);
        var key = first.Info.CacheKey!;
        await harness.Session.Handler.DrainWritesAsync();
        await DamageBodyAsync(harness.Store, key, body => Damage(how, body));

        var second = await harness.GetAsync(url);

        Assert.False(second.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected(Size)), second.Body);
        Assert.Equal(2, Origin.RequestCount(path));
        Assert.Equal(1, harness.Counters.CorruptEntries);
        Assert.Contains(second.Info.Diagnostics, d => d.EventId == CacheEventId.CorruptEntry && d.Level == CacheDiagnosticLevel.Warning
            && d.Message.Contains("checksum", StringComparison.Ordinal));

        // The origin's answer took the damaged entry's place.
        var third = await harness.GetAsync(url);
        Assert.True(third.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected(Size)), third.Body);
        Assert.Equal(2, Origin.RequestCount(path));
        Assert.Equal(1, harness.Counters.CorruptEntries);
    }
}

public sealed class MemoryBodyIntegrityTests : BodyIntegrityContractTests
{
    protected override ICacheStore CreateStore() => new MemoryCacheStore();

    // Process memory cannot be damaged from outside: the closest real case is a record whose body no longer
    // matches the metadata written with it, put back through the store.
    protected override async Task DamageBodyAsync(ICacheStore store, string key, Func<byte[], byte[]> damage)
    {
        var record = (await store.GetAsync(key))!;
        await store.SetAsync(new CacheRecord
        {
            Key = record.Key,
            PrimaryKey = record.PrimaryKey,
            Method = record.Method,
            Uri = record.Uri,
            StatusCode = record.StatusCode,
            CreatedAt = record.CreatedAt,
            ExpiresAt = record.ExpiresAt,
            KeepUntil = record.KeepUntil,
            Metadata = record.Metadata,
            Body = damage(record.Body),
        });
    }
}

public sealed class SqliteBodyIntegrityTests : BodyIntegrityContractTests
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "integrity-" + Guid.NewGuid().ToString("N"));

    private string File => Path.Combine(folder, "cache.sqlite");

    protected override ICacheStore CreateStore() => new SqliteCacheStore(File);

    protected override async Task DamageBodyAsync(ICacheStore store, string key, Func<byte[], byte[]> damage)
    {
        await using var connection = Open();
        var read = connection.CreateCommand();
        read.CommandText = "SELECT body FROM entries WHERE key = $key";
        read.Parameters.AddWithValue("$key", key);
        var body = (byte[])(await read.ExecuteScalarAsync())!;
        var write = connection.CreateCommand();
        write.CommandText = "UPDATE entries SET body = $body WHERE key = $key";
        write.Parameters.AddWithValue("$key", key);
        write.Parameters.AddWithValue("$body", damage(body));
        Assert.Equal(1, await write.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task A_streamed_body_file_cut_short_is_removed_counted_and_fetched_again()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var path = ServeBody(3 * 1024 * 1024 + 7);
        var url = Origin.Url(path);
        await harness.GetAsync(url);
        await harness.Session.Handler.DrainWritesAsync();

        using (var cut = new FileStream(BodyFile(), FileMode.Open))
        {
            cut.SetLength(1024 * 1024);
        }

        var second = await harness.GetAsync(url);

        Assert.False(second.Info.FromCache);
        Assert.Equal(3 * 1024 * 1024 + 7, second.Body.Length);
        Assert.Equal(1, harness.Counters.CorruptEntries);
        Assert.Equal(2, Origin.RequestCount(path));
        var third = await harness.GetAsync(url);
        Assert.True(third.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected(3 * 1024 * 1024 + 7)), third.Body);
    }

    [Fact]
    public async Task A_streamed_body_file_deleted_by_hand_is_removed_counted_and_fetched_again()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var path = ServeBody(2 * 1024 * 1024 + 3);
        var url = Origin.Url(path);
        await harness.GetAsync(url);
        await harness.Session.Handler.DrainWritesAsync();

        System.IO.File.Delete(BodyFile());

        var second = await harness.GetAsync(url);

        Assert.False(second.Info.FromCache);
        Assert.Equal(1, harness.Counters.CorruptEntries);
        Assert.Equal(2, Origin.RequestCount(path));
        var third = await harness.GetAsync(url);
        Assert.True(third.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected(2 * 1024 * 1024 + 3)), third.Body);
    }

    [Fact]
    public async Task A_streamed_body_file_changed_in_place_fails_that_read_clearly_and_the_next_request_is_a_clean_miss()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var path = ServeBody(2 * 1024 * 1024);
        var url = Origin.Url(path);
        await harness.GetAsync(url);
        await harness.Session.Handler.DrainWritesAsync();

        // The same length, other bytes: only the checksum at the end can tell.
        using (var edit = new FileStream(BodyFile(), FileMode.Open))
        {
            edit.Position = 1024 * 1024;
            edit.Write(new byte[4096]);
        }

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => harness.GetAsync(url));
        var io = Assert.IsType<HttpCache.Engine.Http.CachedBodyDamagedException>(failure as IOException ?? failure.InnerException);
        Assert.Contains("damaged", io.Message, StringComparison.Ordinal);
        Assert.Contains("next request fetches it from the origin", io.Message, StringComparison.Ordinal);
        Assert.Equal(1, harness.Counters.CorruptEntries);

        var next = await harness.GetAsync(url);
        Assert.False(next.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected(2 * 1024 * 1024)), next.Body);
        Assert.Equal(2, Origin.RequestCount(path));
    }

    // The one body file beside the database.
    private string BodyFile() => Assert.Single(SqliteLeftovers.BodyFiles(File)).Value.FullName;

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = File, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

public sealed class FileSystemBodyIntegrityTests : BodyIntegrityContractTests
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "integrity-fs-" + Guid.NewGuid().ToString("N"));

    protected override ICacheStore CreateStore() => new FileSystemCacheStore(folder);

    protected override async Task DamageBodyAsync(ICacheStore store, string key, Func<byte[], byte[]> damage)
    {
        var file = BodyFile(key);
        await System.IO.File.WriteAllBytesAsync(file, damage(await System.IO.File.ReadAllBytesAsync(file)));
    }

    [Theory]
    [InlineData("cut short")]
    [InlineData("emptied")]
    public async Task A_streamed_body_file_of_another_length_is_removed_counted_and_fetched_again(string how)
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var path = ServeBody(2 * 1024 * 1024);
        var url = Origin.Url(path);
        var first = await harness.GetAsync(url);
        await harness.Session.Handler.DrainWritesAsync();
        await DamageBodyAsync(harness.Store, first.Info.CacheKey!, body => Damage(how, body));

        var second = await harness.GetAsync(url);

        Assert.False(second.Info.FromCache);
        Assert.Equal(2 * 1024 * 1024, second.Body.Length);
        Assert.Equal(1, harness.Counters.CorruptEntries);
        Assert.True((await harness.GetAsync(url)).Info.FromCache);
        Assert.Equal(2, Origin.RequestCount(path));
    }

    [Fact]
    public async Task A_streamed_body_file_edited_by_hand_fails_that_read_clearly_and_the_next_request_is_a_clean_miss()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var path = ServeBody(2 * 1024 * 1024);
        var url = Origin.Url(path);
        var first = await harness.GetAsync(url);
        await harness.Session.Handler.DrainWritesAsync();
        await DamageBodyAsync(harness.Store, first.Info.CacheKey!, body => Damage("other bytes", body));

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => harness.GetAsync(url));
        var io = Assert.IsType<HttpCache.Engine.Http.CachedBodyDamagedException>(failure as IOException ?? failure.InnerException);
        Assert.Contains("damaged", io.Message, StringComparison.Ordinal);
        Assert.Equal(1, harness.Counters.CorruptEntries);
        Assert.False(System.IO.File.Exists(BodyFile(first.Info.CacheKey!)));

        var next = await harness.GetAsync(url);
        Assert.False(next.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected(2 * 1024 * 1024)), next.Body);
        Assert.True((await harness.GetAsync(url)).Info.FromCache);
        Assert.Equal(2, Origin.RequestCount(path));
    }

    private string BodyFile(string key)
    {
        var name = FileSystemNames.Of(key);
        return Path.Combine(folder, FileSystemNames.ShardName(FileSystemNames.ShardOf(name)), name + ".body");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

public abstract class RedisBodyIntegrityTestsBase(RedisFixtureBase redis) : BodyIntegrityContractTests
{
    private readonly string @namespace = "t:" + Guid.NewGuid().ToString("N");

    protected override ICacheStore CreateStore() => new RedisCacheStore(redis.Connection, @namespace);

    // The body is the entry hash's 'b' field; without Vary, an entry's key is its primary key.
    protected override async Task DamageBodyAsync(ICacheStore store, string key, Func<byte[], byte[]> damage)
    {
        var entry = new RedisKeyLayout(@namespace).Entry(key, key);
        var database = redis.Connection.GetDatabase();
        var body = (byte[])(await database.HashGetAsync(entry, "b"))!;
        await database.HashSetAsync(entry, "b", damage(body));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await redis.DeleteNamespaceAsync(@namespace);
    }
}

[Collection(RedisCollection.Name)]
public sealed class RedisBodyIntegrityTests(RedisFixture redis) : RedisBodyIntegrityTestsBase(redis);

[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterBodyIntegrityTests(RedisClusterFixture redis) : RedisBodyIntegrityTestsBase(redis);
