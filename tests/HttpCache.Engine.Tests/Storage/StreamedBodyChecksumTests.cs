using System.Text;
using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;
using HttpCache.Engine.Storage.Sqlite;
using HttpCache.Engine.Tests.Http;
using Microsoft.Data.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A body too large to hold whole streams into the store with its CRC-32C taken on the way, and is checked as it is
/// read back; one an earlier release streamed (format 3, XxHash3) is still served and checked. The bodies are damaged
/// through the store's own streaming writer (other bytes under the metadata written for the first ones), so the tests
/// hold whatever layout a store keeps streamed bodies in.
/// </summary>
public abstract class StreamedBodyChecksumContractTests : IAsyncLifetime
{
    private const int Size = 3 * 1024 * 1024 + 7;
    private TestOrigin? origin;

    private TestOrigin Origin => origin ?? throw new InvalidOperationException("The origin starts in InitializeAsync.");

    /// <summary>A new, empty store; the test disposes it.</summary>
    protected abstract IStreamingCacheStore CreateStore();

    public async Task InitializeAsync() => origin = await TestOrigin.StartAsync();

    public virtual async Task DisposeAsync() => await Origin.DisposeAsync();

    private static byte[] Expected() => Enumerable.Range(0, Size).Select(i => (byte)('a' + (i % 26))).ToArray();

    private static byte[] Damaged()
    {
        var body = Expected();
        body[Size / 2] ^= 0x5A;
        return body;
    }

    private (Uri Url, string Path) Serve()
    {
        var path = Origin.NewPath("streamed-checksum");
        var body = Expected();
        Origin.Map(path, async context =>
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        });
        return (Origin.Url(path), path);
    }

    private static async Task<string> StoredAsync(CacheHarness harness, Uri url)
    {
        var first = await harness.GetAsync(url);
        Assert.False(first.Info.FromCache);
        await harness.Session.Handler.DrainWritesAsync();
        return first.Info.CacheKey!;
    }

    // Other bytes of the same length under the entry's metadata, written as the store writes any streamed body.
    private static async Task ReplaceBodyAsync(ICacheStore store, string key, byte[] body)
    {
        var record = (await store.GetAsync(key))!;
        Assert.True(record.BodyStreamed);
        await using var writer = await ((IStreamingCacheStore)store).BeginWriteAsync(record);
        for (var at = 0; at < body.Length; at += 64 * 1024)
        {
            await writer.WriteAsync(body.AsMemory(at, Math.Min(64 * 1024, body.Length - at)));
        }

        await writer.CommitAsync(record.Metadata);
    }

    private static async Task AssertDamageFailsTheReadAndIsReplacedAsync(CacheHarness harness, Uri url, string path, TestOrigin origin)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => harness.GetAsync(url));
        Assert.IsType<CachedBodyDamagedException>(failure as IOException ?? failure.InnerException);
        Assert.Equal(1, harness.Counters.CorruptEntries);

        var next = await harness.GetAsync(url);
        Assert.False(next.Info.FromCache);
        Assert.Equal(Size, next.Body.Length);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_streamed_body_round_trips_and_its_entry_carries_the_CRC_32C_of_every_byte()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var (url, path) = Serve();
        var key = await StoredAsync(harness, url);

        var hit = await harness.GetAsync(url);

        Assert.True(hit.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected()), hit.Body);
        Assert.Equal(1, Origin.RequestCount(path));
        var record = (await harness.Store.GetAsync(key))!;
        Assert.True(record.BodyStreamed);
        Assert.Equal(4, record.Metadata[2]);
        Assert.Equal(
            new BodyChecksum(Size, EntryFormats.Crc32C(Expected()), BodyChecksumAlgorithm.Crc32C),
            EntrySerializer.Deserialize(record, record.Metadata, []).Checksum);
    }

    [Fact]
    public async Task A_streamed_body_whose_bytes_changed_fails_its_read_and_the_next_request_is_a_clean_miss()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var (url, path) = Serve();
        var key = await StoredAsync(harness, url);
        await ReplaceBodyAsync(harness.Store, key, Damaged());

        await AssertDamageFailsTheReadAndIsReplacedAsync(harness, url, path, Origin);
    }

    [Fact]
    public async Task A_streamed_body_an_earlier_release_wrote_with_XxHash3_is_still_served_from_the_cache()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var (url, path) = Serve();
        var key = await StoredAsync(harness, url);
        await EntryFormats.AsEarlierReleaseWroteAsync(harness.Store, key, Expected());

        var hit = await harness.GetAsync(url);

        Assert.True(hit.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected()), hit.Body);
        Assert.Equal(1, Origin.RequestCount(path));
        Assert.Equal(0, harness.Counters.CorruptEntries);
        Assert.Equal(3, (await harness.Store.GetAsync(key))!.Metadata[2]);
    }

    [Fact]
    public async Task A_streamed_body_an_earlier_release_wrote_is_checked_with_XxHash3_as_it_is_read()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var (url, path) = Serve();
        var key = await StoredAsync(harness, url);
        // Damaged bytes, under the format-3 metadata (and .meta file) of the body first stored.
        await EntryFormats.AsEarlierReleaseWroteAsync(harness.Store, key, Expected(), stored: Damaged());

        await AssertDamageFailsTheReadAndIsReplacedAsync(harness, url, path, Origin);
    }
}

public sealed class SqliteStreamedBodyChecksumTests : StreamedBodyChecksumContractTests
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "streamed-checksum-" + Guid.NewGuid().ToString("N"));

    protected override IStreamingCacheStore CreateStore() => new SqliteCacheStore(Path.Combine(folder, "cache.sqlite"));

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

public sealed class FileSystemStreamedBodyChecksumTests : StreamedBodyChecksumContractTests
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "streamed-checksum-fs-" + Guid.NewGuid().ToString("N"));

    protected override IStreamingCacheStore CreateStore() => new FileSystemCacheStore(folder);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
