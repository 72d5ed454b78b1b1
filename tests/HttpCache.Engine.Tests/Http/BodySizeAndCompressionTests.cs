using System.Text;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Engine.Tests.Http;

/// <summary>MaxBodySize (large answers stream through uncached) and compression of stored bodies.</summary>
public sealed class BodySizeAndCompressionTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private static readonly string Text = string.Concat(Enumerable.Repeat("HttpCache compresses repetitive bodies well. ", 400));

    private string MapBody(string name, string body, bool chunked)
    {
        var path = origin.NewPath(name);
        origin.Map(path, async context =>
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Response.Headers.CacheControl = "max-age=600";
            context.Response.ContentType = "text/plain; charset=utf-8";
            if (!chunked)
            {
                context.Response.ContentLength = bytes.Length;
            }

            await context.Response.Body.WriteAsync(bytes);
        });
        return path;
    }

    [Theory]
    [InlineData("Memory", false)]
    [InlineData("Memory", true)]
    [InlineData("Sqlite", true)]
    public async Task A_body_over_MaxBodySize_passes_through_whole_and_is_not_stored(string backend, bool chunked)
    {
        await using var cache = CacheHarness.Create(backend, CacheSettings.Default with { MaxBodySize = 1000 });
        var path = MapBody("large", Text, chunked);

        var first = await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(Text, first.Body);
        Assert.Equal(Text, second.Body);
        Assert.Equal(CacheReason.NotStorableTooLarge, first.Info.StoreReason);
        Assert.False(second.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Empty(await cache.EntriesAsync());
    }

    [Fact]
    public async Task A_body_at_MaxBodySize_is_stored()
    {
        var body = new string('x', 1000);
        await using var cache = CacheHarness.Create("Memory", CacheSettings.Default with { MaxBodySize = 1000 });
        var path = MapBody("exact", body, chunked: true);

        await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.True(second.Info.FromCache);
        Assert.Equal(body, second.Body);
    }

    [Theory]
    [InlineData("Memory", BodyCompression.Brotli)]
    [InlineData("Sqlite", BodyCompression.Brotli)]
    [InlineData("Sqlite", BodyCompression.Gzip)]
    public async Task Compressed_bodies_are_smaller_in_the_store_and_answered_with_the_original_bytes(string backend, BodyCompression compression)
    {
        await using var cache = CacheHarness.Create(backend, CacheSettings.Default with { Compress = compression });
        var path = MapBody("compress", Text, chunked: false);

        var first = await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(Text, first.Body);
        Assert.True(second.Info.FromCache);
        Assert.Equal(Text, second.Body);
        Assert.Equal(Encoding.UTF8.GetByteCount(Text), second.Response.Content.Headers.ContentLength);
        var entry = Assert.Single(await cache.EntriesAsync());
        Assert.True(entry.Size < Text.Length / 4, $"stored {entry.Size} bytes for {Text.Length}");
        var counters = cache.Counters;
        Assert.Equal(Text.Length, counters.OriginalBytesWritten);
        Assert.True(counters.StoredBytesWritten < Text.Length / 4);
    }

    [Fact]
    public async Task A_damaged_compressed_body_is_a_corrupt_entry_and_a_miss()
    {
        await using var cache = CacheHarness.Create("Memory", CacheSettings.Default with { Compress = BodyCompression.Brotli });
        var path = MapBody("damaged", Text, chunked: false);
        await cache.GetAsync(origin.Url(path));
        var stored = Assert.Single(await cache.EntriesAsync());
        var record = await cache.Store.GetAsync(stored.Key);
        Array.Fill(record!.Body, (byte)0x5a);
        await cache.Store.SetAsync(record);

        var again = await cache.GetAsync(origin.Url(path));

        Assert.False(again.Info.FromCache);
        Assert.Equal(Text, again.Body);
        Assert.True(again.HasDiagnostic(CacheEventId.CorruptEntry, CacheDiagnosticLevel.Warning));
        Assert.Equal(1, cache.Counters.CorruptEntries);
    }

    [Fact]
    public void Incompressible_bodies_are_stored_as_received()
    {
        var random = new byte[4096];
        new Random(7).NextBytes(random);

        var (stored, encoding) = BodyCodec.Compress(random, BodyCompression.Brotli);

        Assert.Null(encoding);
        Assert.Same(random, stored);
    }

    [Fact]
    public void A_compressed_entry_round_trips_through_the_entry_format_with_the_checksum_of_its_stored_bytes()
    {
        var (stored, encoding) = BodyCodec.Compress(Encoding.UTF8.GetBytes(Text), BodyCompression.Gzip);
        var entry = new StoredResponse
        {
            Record = new HttpCache.Engine.Storage.CacheRecordInfo { Key = "k", PrimaryKey = "k", Method = "GET", Uri = "http://x/" },
            StatusCode = 200,
            Headers = [],
            BodyEncoding = encoding,
            OriginalLength = Text.Length,
            Body = stored,
        };

        var metadata = EntrySerializer.Serialize(entry);
        var read = EntrySerializer.Deserialize(entry.Record, metadata, stored);

        Assert.Equal(EntrySerializer.FormatVersion, metadata[2]);
        Assert.Equal(BodyChecksum.Of(stored), read.Checksum);
        Assert.Equal("gzip", read.BodyEncoding);
        Assert.Equal(Text, Encoding.UTF8.GetString(BodyCodec.Decompress(read.Body, "gzip", read.OriginalLength)));
    }
}
