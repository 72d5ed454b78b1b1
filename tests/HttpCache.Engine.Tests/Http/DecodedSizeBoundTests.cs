using System.IO.Compression;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// MaxBodySize bounds the decoded body, as it is read: a small gzip that decodes to far more (a "gzip bomb") is
/// never held whole by the cache and never stored; the caller still reads every byte the origin sent, as from
/// Invoke-WebRequest.
/// </summary>
public sealed class DecodedSizeBoundTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const long Decoded = 256L * 1024 * 1024;
    private static readonly Lazy<byte[]> Bomb = new(() =>
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1024 * 1024];
            for (var i = 0; i < Decoded / zeros.Length; i++)
            {
                gzip.Write(zeros);
            }
        }

        return output.ToArray();
    });

    private readonly TestOrigin origin = fixture.Origin;

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task A_gzip_bomb_is_read_through_within_MaxBodySize_and_not_stored(string backend)
    {
        var path = origin.NewPath("bomb");
        origin.Map(path, async context =>
        {
            context.Response.Headers.ContentEncoding = "gzip";
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = Bomb.Value.Length;
            await context.Response.Body.WriteAsync(Bomb.Value);
        });
        await using var cache = CacheHarness.Create(backend, CacheSettings.Default with { MaxBodySize = 1024 * 1024 });
        _ = Bomb.Value;

        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        using var response = await cache.Session.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path)), completion: HttpCompletionOption.ResponseHeadersRead);
        long read = 0;
        await using (var body = await response.Content.ReadAsStreamAsync())
        {
            var buffer = new byte[81920];
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0)
            {
                read += n;
            }
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        Assert.Equal(Decoded, read);
        Assert.Equal(CacheReason.NotStorableTooLarge, response.GetCacheInfo()!.StoreReason);
        Assert.Empty(await cache.EntriesAsync());
        // Held whole, the decoded body alone would take 256 MiB (and a growing buffer twice that); this run's other
        // tests share the process, so the bound is loose but far below that.
        Assert.True(allocated < 96L * 1024 * 1024, $"{allocated / (1024 * 1024)} MiB allocated while a {Decoded / (1024 * 1024)} MiB body streamed through");
    }
}
